"""The SAML and OIDC suites against SSO libraries from another ecosystem, npm (SPEC §10
"Proof"; issue 10), each in a small node app in ``fixtures/node_apps`` started on loopback:

* **@node-saml/node-saml 5.1** (``saml-sp.mjs``), a SAML SP configured as its README shows
  (``idpCert`` from ``oin-conformance idp-metadata``, ``wantAssertionsSigned`` and
  ``wantAuthnResponseSigned``, audience = its entity ID, InResponseTo validated "ifPresent"
  with node-saml's in-memory cache) that identifies users by the ``email`` attribute — the
  NameID is the Okta user name, which is not the e-mail address. node-saml keeps no
  assertion-ID cache, so the app refuses replays itself (one-time use until NotOnOrAfter).
* **openid-client 6.9** (``oidc-rp.mjs``), an OIDC relying party that behaves like OmniAuth 2:
  signed out, its protected page answers 200 with a self-submitting form that POSTs to
  ``/auth/login`` (with a CSRF token), which redirects to the provider with state, nonce and
  PKCE S256; the callback redeems the code with client_secret_basic and openid-client
  validates the ID token. Third-party-initiated login at ``/auth/initiate?iss=…``.

Each app runs twice. node-saml: as its README configures it, and with the checks of the SAML
Web Browser SSO profile that node-saml leaves to the app (Recipient, Destination, Issuer,
Status — upstream node-saml/node-saml#405 and #437) made by the app. openid-client: verifying
ID token signatures (its documented ``enableNonRepudiationChecks``; the harness's OP is plain
http, so no TLS stands in for the signature), and as the library does by default (no
signature check on an ID token fetched from the token endpoint, OIDC Core §3.1.3.7).

Every failure is asserted exactly: the true findings of each library are listed below with
their reason; any other failure is a false failure. Each run prints its check → outcome table
with what the app logged during each check (``pytest -rP`` or ``-s`` shows it).

Needs ``node`` and ``npm ci --prefix fixtures/node_apps`` (``.ci/run`` does it).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.real.harness import (
    TEST_USER,
    UNSPECIFIED,
    Program,
    SuiteRun,
    free_ports,
    idp_metadata,
    op_info,
    run_suite,
    saml_section,
    split_log,
    write_target,
)

NODE_APPS = FIXTURES / "node_apps"
NODE = shutil.which("node")


def _missing() -> str | None:
    if NODE is None:
        return "node is not installed (the node.js integration tests need node >= 20)"
    if not (NODE_APPS / "node_modules").is_dir():
        return (
            "fixtures/node_apps/node_modules is missing: run "
            "`npm ci --prefix fixtures/node_apps --no-audit --no-fund`"
        )
    return None


MISSING = _missing()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(MISSING is not None, reason=str(MISSING))]

H = "saml.refuses_hostile_response"
FORGED = "oidc.refuses_forged_id_token"
#: Plain-HTTP loopback URLs in the target: true, advisory, for every program here.
LOOPBACK = "general.loopback_urls_are_for_testing_only"
LOOPBACK_WHY = "the target's URLs are plain-HTTP loopback ones"


@dataclass(frozen=True)
class Expected:
    """A program's true findings: check id -> why it is true of that program; and the
    checks that cannot judge it (check id -> why)."""

    blocking: dict[str, str] = field(default_factory=dict)
    advisory: dict[str, str] = field(default_factory=dict)
    inconclusive: dict[str, str] = field(default_factory=dict)


#: node-saml 5.1, both ways: xmldom parses a DOCTYPE without entities and node-saml goes on
#: (any entity is refused: "entity not found"); xml-crypto 6 accepts rsa-sha1 signatures and
#: node-saml offers no way to refuse them (Okta signs with SHA-256).
NODE_SAML_ALWAYS = {
    LOOPBACK: LOOPBACK_WHY,
    f"{H}[doctype_only]": "xmldom accepts a DOCTYPE without entities; node-saml goes on",
    f"{H}[sha1_signature]": "xml-crypto 6 accepts rsa-sha1; node-saml has no option to refuse it",
}
#: node-saml 5.1 as its README configures it: it checks the signature, the time window, the
#: Audience and InResponseTo, and nothing else of SAML profiles §4.1.4.3.
NODE_SAML_README = Expected(
    blocking={
        f"{H}[wrong_recipient]": "node-saml never reads SubjectConfirmationData/@Recipient "
        "(node-saml/node-saml#405, passport-saml#509)",
        f"{H}[wrong_destination]": "node-saml never reads Response/@Destination "
        "(node-saml/node-saml#437)",
    },
    advisory={
        **NODE_SAML_ALWAYS,
        f"{H}[wrong_issuer]": "node-saml compares the Issuer of logout messages only "
        "(idpIssuer), never of a Response or Assertion",
        f"{H}[missing_issuer]": "the same: an Issuer is not required",
        f"{H}[non_success_status]": "with a validly signed assertion present node-saml returns "
        "the profile without reading the top-level StatusCode",
        f"{H}[lookalike_recipient]": "Recipient is never read (see wrong_recipient)",
        f"{H}[lookalike_destination]": "Destination is never read (see wrong_destination)",
        f"{H}[no_bearer_confirmation]": "node-saml only checks a SubjectConfirmation's time "
        "window when one is present",
    },
)
#: node-saml 5.1 completed by the app with the profile's checks: only the two above remain.
NODE_SAML_PROFILE = Expected(advisory=dict(NODE_SAML_ALWAYS))

#: openid-client 6.9 verifying ID token signatures: correct; nothing but plain-HTTP loopback.
#: (oauth4webapi refetches the JWKS on an unknown kid only once its copy is 60 s old; the
#: key-rotation checks wait out such a cooldown before they judge.) It never calls /userinfo
#: when the ID token has an email, and reads the discovery document once: those two checks
#: are skipped as not applicable.
OPENID_CLIENT_VERIFIED = Expected(
    advisory={LOOPBACK: LOOPBACK_WHY},
    inconclusive={
        "oidc.accepts_genuine_id_token[kid_absent_single_key]": "oauth4webapi refuses a "
        "token without kid while its cached key set holds several matching keys (allowed, "
        "OIDC Core §10.1) and refetches only a set 300 s old, so it never sees the "
        "single-key set",
    },
)
#: openid-client 6.9's default: an ID token the client fetched itself from the token endpoint
#: is validated (alg, iss, aud, exp, nonce) but its signature is not verified — OIDC Core
#: §3.1.3.7 lets TLS to the token endpoint stand in for it (openid-client's own doc of
#: enableNonRepudiationChecks says so). Over the harness's plain-HTTP OP that is visible.
OPENID_CLIENT_DEFAULT = Expected(
    blocking={
        f"{FORGED}[bad_signature]": "by default openid-client does not verify the signature of "
        "an ID token from the token endpoint (OIDC Core 3.1.3.7: TLS stands in for it)",
        f"{FORGED}[unknown_kid]": "the same: no key is looked up when no signature is verified",
        **{
            f"{FORGED}[{name}]": "the same: any RS256 signature passes, whatever key the "
            "header names (the HS256 forgeries are refused: the alg must be RS256)"
            for name in (
                "jku_attacker_jwks",
                "x5u_attacker_cert",
                "jwk_embedded",
                "x5c_embedded",
                "kid_absent_several_keys",
            )
        },
    },
    advisory={LOOPBACK: LOOPBACK_WHY},
)


# -- the node app as a process ---------------------------------------------------------------


def node_app(script: str, config: dict[str, object], folder: Path, port: int) -> Program:
    """``node <script> <config.json>`` on 127.0.0.1:``port``; its stderr (where it logs every
    refusal with the reason) is appended to ``<script>.log`` in ``folder``."""
    assert NODE is not None
    path = NODE_APPS / script
    config_path = folder / f"{path.stem}.json"
    config_path.write_text(json.dumps(config, indent=2))
    return Program(
        path.name,
        [NODE, str(path), str(config_path)],
        port=port,
        log=folder / f"{path.stem}.log",
        cwd=NODE_APPS,
        startup=20,
    )


def app_said(log: str, prefix: str) -> dict[str, str]:
    """check id -> what the app logged while that check ran, each line once: its refusals
    with their reason first, then the rest (sign-ins with whom)."""
    out: dict[str, str] = {}
    for check, lines in split_log(log).items():
        seen: dict[str, None] = {}
        for line in lines:
            if line.startswith(prefix):
                seen.setdefault(line[len(prefix) :].strip()[:220])
        refusals = [line for line in seen if "refused" in line]
        out[check] = " / ".join(refusals + [line for line in seen if line not in refusals])
    return out


def judge(result: SuiteRun, app: Program, prefix: str, expected: Expected, positive: str) -> None:
    """Print the table (with the app's own log per check); assert that the genuine sign-in
    worked, nothing is inconclusive, and the findings are exactly the true ones."""
    said = app_said(app.log_text(), prefix)
    print()
    print(result.table(said))
    context = result.explain(said)
    assert result.run.returncode in (0, 1), context
    assert result.outcomes.get(positive) == "passed", context
    assert result.inconclusive == set(expected.inconclusive), context
    assert result.blocking_failures == set(expected.blocking), context
    assert result.advisories == set(expected.advisory), context
    assert result.run.returncode == (1 if expected.blocking else 0), context


@pytest.fixture
def folder(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    """The run's folder; named after a failure so the app's log can be read."""
    yield tmp_path
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(f"node app folder kept for its log: {tmp_path}")


# -- the tests -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("profile_checks", "expected"),
    [
        pytest.param(False, NODE_SAML_README, id="as-its-readme-shows"),
        pytest.param(True, NODE_SAML_PROFILE, id="with-the-profile-checks-it-leaves-to-apps"),
    ],
)
def test_node_saml(folder: Path, profile_checks: bool, expected: Expected) -> None:
    (port,) = free_ports(1)
    base = f"http://127.0.0.1:{port}"
    entity_id = f"{base}/saml/metadata"
    # The app shows the email attribute; the NameID is the Okta user name, which is not the
    # e-mail address, so only the attribute can name ada on the probe page.
    user = {**TEST_USER, "username": "alovelace"}
    how = "profile checks by the app" if profile_checks else "as its README shows"
    target = write_target(
        folder,
        name=f"node-saml SP ({how})",
        base_url=base,
        probe_url="/me",
        user=user,
        sections={"saml": saml_section(entity_id)},
    )
    metadata = folder / "idp-metadata.xml"
    metadata.write_text(idp_metadata(target))
    config: dict[str, object] = {
        "port": port,
        "base_url": base,
        "idp_metadata_file": str(metadata),
        "entity_id": entity_id,
        "identifier_format": UNSPECIFIED,
        "profile_checks": profile_checks,
    }
    with node_app("saml-sp.mjs", config, folder, port) as app:
        result = run_suite(
            f"@node-saml/node-saml 5.1 ({how})",
            target,
            "saml or general",
            check_log=app.log,
        )
    judge(result, app, "[node-saml-sp] ", expected, "saml.signs_in_with_sp_initiated_sso")


@pytest.mark.parametrize(
    ("verify_signatures", "expected"),
    [
        pytest.param(True, OPENID_CLIENT_VERIFIED, id="verifying-signatures"),
        pytest.param(False, OPENID_CLIENT_DEFAULT, id="library-default"),
    ],
)
def test_openid_client(folder: Path, verify_signatures: bool, expected: Expected) -> None:
    port, op_port = free_ports(2)
    base = f"http://127.0.0.1:{port}"
    client_id, client_secret = "0oa1nodeopenidclient", "openid-client-test-secret-value"
    target = write_target(
        folder,
        name="openid-client RP (OmniAuth-style)",
        base_url=base,
        # Signed out, /me is OmniAuth 2's self-submitting form (200), never a 401.
        probe_url="/me",
        sections={
            "oidc": {
                "login_url": "/login",
                "redirect_uris": ["/auth/callback"],
                "initiate_login_uri": "/auth/initiate",
                "client_id": client_id,
                "client_secret": client_secret,
                "jit": True,
            },
            "oidc.provider": {"bind": "127.0.0.1", "port": op_port},
        },
    )
    issuer = f"http://127.0.0.1:{op_port}"
    # What an ISV reads off `oin-conformance op-info` to configure the client with.
    info = op_info(target)
    assert issuer in info and f"{base}/auth/callback" in info and client_id in info, info
    config: dict[str, object] = {
        "port": port,
        "base_url": base,
        "issuer": issuer,
        "client_id": client_id,
        "client_secret": client_secret,
        "redirect_path": "/auth/callback",
        "verify_signatures": verify_signatures,
    }
    # The provider starts with the run; the app discovers it at the first sign-in.
    with node_app("oidc-rp.mjs", config, folder, port) as app:
        result = run_suite(
            f"openid-client 6.9 ({'verifying signatures' if verify_signatures else 'default'})",
            target,
            "oidc or general",
            check_log=app.log,
        )
    judge(result, app, "[openid-client-rp] ", expected, "oidc.sp_initiated_sign_in")
