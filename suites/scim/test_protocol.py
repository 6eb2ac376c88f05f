"""Protocol hygiene: the response content type. (Whether the SCIM version and auth mode can
be submitted through the OIN Wizard is the submission suite's one check of that rule.)"""

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
