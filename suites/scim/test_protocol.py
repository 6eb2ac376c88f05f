"""Protocol hygiene and submission rules: response content type, and whether the SCIM
version and auth mode can be submitted through the OIN Wizard."""

from __future__ import annotations

import pytest

from oin_conformance.failures import fail

from .okta import ScimCheck, unreachable


@pytest.mark.oin(requirement="SCIM-CONTENT-TYPE", severity="advisory")
def test_responds_with_scim_content_type(scim: ScimCheck) -> None:
    """Responses say Content-Type application/scim+json (SCIM 2.0) or application/json (1.1)."""
    wanted = "application/scim+json" if scim.version == "2.0" else "application/json"
    results = [
        scim.client.list_users(1, 2, note="content type of a list"),
        scim.client.get_user("010101001010101011001010101011", note="content type of an error"),
    ]
    for r in results:
        problem = unreachable(r)
        if problem:
            raise problem
    bad = [
        f"{r.method} {r.url} -> {r.status}: {r.header('Content-Type') or '(none)'}"
        for r in results
        if r.status is not None
        and r.text.strip()
        and r.header("Content-Type").split(";")[0].strip().lower() != wanted
    ]
    if bad:
        raise fail(
            f"Responses are not labelled {wanted}",
            seen="\n".join(bad),
            expected=f"Content-Type: {wanted}",
            fix=f"Send JSON bodies as {wanted} (RFC 7644 §3.1). Okta tolerates others, "
            "stricter clients do not.",
        )


@pytest.mark.oin(requirement="SCIM-WIZARD", severity="advisory")
def test_scim_version_can_be_submitted(scim: ScimCheck) -> None:
    """The OIN Wizard accepts SCIM 2.0 only; SCIM 1.1 is for private integrations."""
    if scim.version != "2.0":
        raise fail(
            "SCIM 1.1 cannot be submitted through the OIN Wizard",
            seen=f'[scim] version = "{scim.version}"',
            expected='version = "2.0"',
            fix="Implement SCIM 2.0 for an OIN listing; SCIM 1.1 works only for private "
            "(App Integration Wizard) integrations.",
        )


@pytest.mark.oin(requirement="SCIM-WIZARD", severity="advisory")
def test_auth_mode_can_be_submitted(scim: ScimCheck) -> None:
    """The OIN Wizard offers Header, Bearer and OAuth 2 authentication, not Basic."""
    if scim.session.auth.mode == "basic":
        raise fail(
            "Basic authentication cannot be submitted through the OIN Wizard",
            seen='[scim.auth] mode = "basic"',
            expected='mode = "header", "bearer" or "oauth2"',
            fix="Offer a token (Header or Bearer) or OAuth 2 for the OIN integration.",
        )
