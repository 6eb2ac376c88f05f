"""The SAML and OIDC suites against real, widely deployed SSO software under Apache httpd on
loopback (SPEC §10 "Proof"; issue 10):

* **mod_auth_mellon 0.18** (Debian's libapache2-mod-auth-mellon), a SAML SP that accepts a
  response carrying InResponseTo only from a browser holding the cookie its login page set
  (otherwise HTTP 400, "User has disabled cookies"; unsolicited responses need no cookie) —
  once identifying users by NameID (its default), once by the ``email`` attribute;
* **mod_auth_openidc 2.4** (Debian's libapache2-mod-auth-openidc), an OIDC relying party whose
  protected page redirects a signed-out browser to the provider (its default).

Each is configured the way an ISV would from ``oin-conformance idp-metadata`` / ``op-info``.
Correct software must pass every blocking check (zero false failures), and its true
findings — all advisory — are asserted exactly. Each run prints its check → outcome table
(``pytest -rP`` or ``-s`` shows it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest

from fixtures.apache import (
    MELLON_ACS,
    MELLON_METADATA,
    OPENIDC_REDIRECT,
    WHOAMI,
    Apache,
    mellon_login,
    mellon_sp,
    missing,
    openidc_rp,
)
from tests.real.harness import (
    SAML_ATTRIBUTES,
    TEST_USER,
    SuiteRun,
    TomlValue,
    free_port,
    free_ports,
    idp_metadata,
    run_suite,
    split_log,
    write_target,
)

pytestmark = pytest.mark.slow

H = "saml.refuses_hostile_response"
FORGED = "oidc.refuses_forged_id_token"
#: Plain-HTTP loopback URLs in the target: true, advisory, for every program here.
LOOPBACK = "general.loopback_urls_are_for_testing_only"

#: mod_auth_mellon's true findings, all advisory (SPEC §4):
#: - it validates a bearer SubjectConfirmation only when one is present, so an assertion
#:   without one is accepted (Okta always sends one: not exploitable through Okta);
#: - it accepts rsa-sha1 signatures (lasso's default; only Okta's side decides the
#:   algorithm, and Okta signs with SHA-256);
#: - once its cookie is set, it accepts an InResponseTo it never issued (like Shibboleth SP;
#:   IdP-initiated sign-in needs unsolicited responses anyway);
#: - lasso verifies every Reference of a SignedInfo and does not require exactly one (SAML
#:   core 5.4.2), so an IdP-signed SignedInfo with two References to the signed element is
#:   accepted (Okta signs with one; it restricts the transforms, refusing XSLT and XPath).
MELLON_FINDINGS = {
    LOOPBACK,
    f"{H}[no_bearer_confirmation]",
    f"{H}[sha1_signature]",
    f"{H}[unknown_in_response_to]",
    f"{H}[several_references]",
}
#: mod_auth_openidc's true findings, all advisory:
#: - it accepts an unsigned (``alg: none``) id_token from the token endpoint — OIDC Core
#:   §3.1.3.7 lets a client rely on TLS to the token endpoint instead of the signature;
#: - it sends no PKCE unless OIDCPKCEMethod is set;
#: - it accepts an ``iss`` that differs from the issuer by a trailing slash
#:   (oidc_util_issuer_match; reference/oidc.md §5.3) — only Okta's key can sign one.
#: It reads the discovery document once and keeps it, so the discovery-issuer check is
#: skipped as not applicable (no other skip), and it drops /userinfo claims whose sub
#: differs from the ID token's (logged), which the userinfo check counts as a refusal.
OPENIDC_FINDINGS = {
    LOOPBACK,
    f"{FORGED}[alg_none]",
    f"{FORGED}[issuer_trailing_slash]",
    "oidc.authorize_request_uses_pkce_s256",
}

MELLON_MISSING = missing(["mod_auth_mellon.so"])
OPENIDC_MISSING = missing(["mod_auth_openidc.so"])


def module_said(lines: list[str], module: str) -> list[str]:
    """The module's error, warning and notice messages among ``lines``, once each, in
    order: why Apache refused what it refused."""
    seen: dict[str, None] = {}
    pattern = re.compile(rf"\[{module}:(?:error|warn|notice)\] .*?\] (?:\S+\(\d+\): )?(.*)$")
    for line in lines:
        m = pattern.search(line)
        if m:
            text = re.sub(r"\[client [^]]+\] ", "", m.group(1))
            # lasso's boilerplate after the reason
            text = re.sub(r"(, SAML Response: .*| To register a provider .*)$", "", text)
            seen.setdefault(text[:300])
    return list(seen)


def judge(result: SuiteRun, server: Apache, module: str, findings: set[str]) -> None:
    """Print the table (with the module's own log reasons per check); assert zero blocking
    failures, nothing inconclusive, and exactly the true findings."""
    per_check = split_log(server.error_log())
    said = {check: " / ".join(module_said(lines, module)) for check, lines in per_check.items()}
    print()
    print(result.table(said))
    context = result.explain(said)
    assert result.run.returncode in (0, 1), context
    assert result.blocking_failures == set(), context
    assert result.inconclusive == set(), context
    assert result.advisories == findings, context
    assert result.run.returncode == 0, context


@pytest.fixture
def keep_logs(request: pytest.FixtureRequest) -> Iterator[list[Apache]]:
    """Servers a test started: their folders are removed after a pass, kept (and named)
    after a failure so the Apache logs can be read."""
    servers: list[Apache] = []
    yield servers
    report = getattr(request.node, "rep_call", None)
    for server in servers:
        server.stop()
        if report is not None and report.failed:
            print(f"Apache folder kept for its logs: {server.root}")
        else:
            server.cleanup()


EMAIL_ADDRESS = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"


@pytest.mark.skipif(MELLON_MISSING is not None, reason=str(MELLON_MISSING))
@pytest.mark.parametrize(
    ("mellon_user", "nameid_format", "user"),
    [
        # mellon's default: REMOTE_USER is the NameID (here the e-mail address, Okta's
        # EmailAddress format).
        pytest.param("NAME_ID", EMAIL_ADDRESS, TEST_USER, id="nameid"),
        # An SP that identifies users by the email attribute: the NameID is the Okta user
        # name, which is not the e-mail address, so only the attribute can sign ada in.
        pytest.param(
            "email",
            UNSPECIFIED,
            {**TEST_USER, "username": "alovelace"},
            id="email-attribute",
        ),
    ],
)
def test_mod_auth_mellon(
    tmp_path: Path,
    mellon_user: Literal["NAME_ID", "email"],
    nameid_format: str,
    user: dict[str, str],
    keep_logs: list[Apache],
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    entity_id = base + MELLON_METADATA
    saml: dict[str, TomlValue] = {
        "acs_url": MELLON_ACS,
        "audience": entity_id,
        # mellon's login handler sets its cookie and sends the AuthnRequest.
        "login_url": mellon_login(base),
        "relay_state": WHOAMI,
        "nameid_format": nameid_format,
        "nameid": "{username}",
        "attributes": SAML_ATTRIBUTES,
        "optional_attributes": ["firstName", "lastName"],
        "sign": "both",
        "sp_metadata_url": MELLON_METADATA,
        # Any user the IdP vouches for gets in: nothing to provision.
        "jit": True,
    }
    target = write_target(
        tmp_path,
        name=f"mod_auth_mellon ({mellon_user})",
        base_url=base,
        probe_url=WHOAMI,
        user=user,
        sections={"saml": saml},
    )
    sp = mellon_sp(
        idp_metadata(target),
        user=mellon_user,
        entity_id=entity_id,
        nameid_format=nameid_format,
        port=port,
    )
    keep_logs.append(sp.server)
    with sp.server:
        result = run_suite(
            f"mod_auth_mellon, MellonUser {mellon_user}",
            target,
            "saml or general",
            check_log=sp.server.error_log_path,
        )
    judge(result, sp.server, "auth_mellon", MELLON_FINDINGS)


@pytest.mark.skipif(OPENIDC_MISSING is not None, reason=str(OPENIDC_MISSING))
def test_mod_auth_openidc(tmp_path: Path, keep_logs: list[Apache]) -> None:
    port, op_port = free_ports(2)
    client_id, client_secret = "0oa1modauthopenidc01", "mod-auth-openidc-test-secret-value"
    target = write_target(
        tmp_path,
        name="mod_auth_openidc",
        base_url=f"http://127.0.0.1:{port}",
        probe_url=WHOAMI,
        sections={
            "oidc": {
                # A protected page: signed out, mod_auth_openidc redirects to the provider.
                "login_url": WHOAMI,
                "redirect_uris": [OPENIDC_REDIRECT],
                # The redirect URI also serves third-party-initiated login (OIDCDefaultURL).
                "initiate_login_uri": OPENIDC_REDIRECT,
                "client_id": client_id,
                "client_secret": client_secret,
                "jit": True,
            },
            "oidc.provider": {"bind": "127.0.0.1", "port": op_port},
        },
    )
    rp = openidc_rp(
        f"http://127.0.0.1:{op_port}",
        client_id=client_id,
        client_secret=client_secret,
        port=port,
    )
    keep_logs.append(rp.server)
    # The provider starts with the run; mod_auth_openidc fetches its discovery document
    # on the first request that needs it, so Apache may start first.
    with rp.server:
        result = run_suite(
            "mod_auth_openidc", target, "oidc or general", check_log=rp.server.error_log_path
        )
    judge(result, rp.server, "auth_openidc", OPENIDC_FINDINGS)
