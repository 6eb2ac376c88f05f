"""SAML single sign-on that must work: Okta's signed responses for IdP- and SP-initiated
sign-in, the configured attributes, and just-in-time provisioning (what Okta's OIN
Submission Tester runs)."""

from __future__ import annotations

import datetime as dt

import pytest

from oin_conformance.failures import fail
from oin_conformance.roles.saml import (
    BINDING_POST,
    AuthnRequest,
)

from .flow import SamlCheck, excerpt, same_place

UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"


def _not_signed_in(saml: SamlCheck, title: str, page_seen: str, fix: str) -> Exception:
    return fail(
        title,
        seen=page_seen,
        expected=f"the signed-in probe names {saml.probe.expected_text(saml.user)!r}",
        fix=fix,
    )


SIGN_IN_FIX = (
    "Configure the app with the IdP metadata printed by `oin-conformance idp-metadata` "
    "(entity ID, SSO URL, signing certificate), the ACS URL and Audience in the target, and "
    "look at the app's log for why it refused this genuine Okta response."
)


@pytest.mark.submission_tester("idp_flow")
@pytest.mark.oin(requirement="SAML-IDP-FLOW", severity="blocking")
def test_signs_in_with_idp_initiated_sso(saml: SamlCheck) -> None:
    """A signed Okta response POSTed to the ACS (no RelayState) signs the test user in."""
    xml = saml.idp.sign(saml.spec())
    page = saml.post(xml)
    ok, probe = saml.signed_in(landing=page)
    if not ok:
        raise _not_signed_in(
            saml, "IdP-initiated sign-in does not work", saml.seen(page, xml, probe), SIGN_IN_FIX
        )


@pytest.mark.oin(requirement="SAML-IDP-FLOW", severity="blocking")
def test_signs_in_with_idp_initiated_sso_and_relay_state(saml: SamlCheck) -> None:
    """With the app's Default RelayState, IdP-initiated sign-in works and lands there."""
    relay = saml.saml.relay_state or saml.probe.url
    xml = saml.idp.sign(saml.spec())
    page = saml.post(xml, relay)
    ok, probe = saml.signed_in(landing=page)
    if not ok:
        raise _not_signed_in(
            saml,
            "IdP-initiated sign-in with RelayState does not work",
            f"RelayState {relay!r}\n" + saml.seen(page, xml, probe),
            SIGN_IN_FIX,
        )
    if relay.startswith("/") or relay.startswith("http"):
        want = saml.ctx.url(relay)
        if not same_place(page.url, want):
            raise fail(
                "After sign-in the app does not go to the RelayState",
                seen=f"RelayState {relay!r}; the browser ended at {page.url} (HTTP {page.status})",
                expected=f"the browser ends at {want}",
                fix="After a successful sign-in, redirect to the RelayState when it is a page "
                "of your own app (Okta sends the Default RelayState configured per instance).",
            )


def start_sp_initiated(saml: SamlCheck) -> AuthnRequest:
    """Open the app's login URL and read the AuthnRequest it sends toward Okta."""
    return saml.start_sp_initiated()


def authn_request_problems(saml: SamlCheck, req: AuthnRequest) -> list[str]:
    """What Okta would refuse or mishandle in this AuthnRequest."""
    problems: list[str] = []
    if not req.id or req.id[0].isdigit():
        problems.append(
            f"ID {req.id!r} is not a valid xsd:ID (must not be empty or start with a digit)"
        )
    if req.version != "2.0":
        problems.append(f"Version is {req.version!r}, not '2.0'")
    if req.destination is not None and req.destination != saml.idp.sso_url:
        problems.append(f"Destination {req.destination!r} is not the SSO URL {saml.idp.sso_url!r}")
    if req.signed and req.destination is None:
        problems.append("a signed AuthnRequest must carry Destination")
    if req.issuer != saml.saml.audience:
        problems.append(f"Issuer {req.issuer!r} is not the SP entity ID {saml.saml.audience!r}")
    acs = saml.acs
    if req.acs_url is not None and req.acs_url != acs:
        problems.append(f"AssertionConsumerServiceURL {req.acs_url!r} is not the ACS URL {acs!r}")
    if req.protocol_binding is not None and req.protocol_binding != BINDING_POST:
        problems.append(f"ProtocolBinding {req.protocol_binding!r}: Okta answers with HTTP-POST")
    fmt = req.nameid_format
    if fmt is not None and fmt not in (UNSPECIFIED, saml.saml.nameid_format):
        problems.append(
            f"NameIDPolicy Format {fmt!r} differs from the app's Name ID format "
            f"{saml.saml.nameid_format!r} (Okta requires them to match)"
        )
    try:
        instant = dt.datetime.fromisoformat(req.issue_instant.replace("Z", "+00:00"))
        if abs((dt.datetime.now(dt.UTC) - instant).total_seconds()) > 600:
            problems.append(f"IssueInstant {req.issue_instant} is more than 10 minutes off")
    except ValueError:
        problems.append(f"IssueInstant {req.issue_instant!r} is not an xsd:dateTime")
    if req.signed and req.signature_valid is False:
        problems.append(
            f"the {req.binding.rsplit(':', 1)[-1]} signature does not verify with the SP "
            "certificate from the SP metadata"
        )
    return problems


@pytest.mark.oin(requirement="SAML-SP-FLOW", severity="blocking")
def test_authn_request_is_one_okta_accepts(saml: SamlCheck) -> None:
    """The app's AuthnRequest names Okta's SSO URL, the app's entity ID and its ACS URL."""
    req = start_sp_initiated(saml)
    if req.signed and req.signature_valid is None:
        saml.transcript.note(
            "The AuthnRequest is signed but the target gives no SP metadata "
            "(sp_metadata_url / sp_metadata_file); its signature was not verified."
        )
    if req.signed and req.sig_alg and "sha1" in req.sig_alg:
        saml.transcript.note(
            f"The AuthnRequest is signed with {req.sig_alg}; the OIN requires SHA-256 for "
            "SAML, so sign requests with rsa-sha256."
        )
    problems = authn_request_problems(saml, req)
    if problems:
        raise fail(
            "The app's AuthnRequest is not one Okta accepts",
            seen="\n".join(problems) + "\nAuthnRequest (decoded):\n" + excerpt(req.xml, 2000),
            expected="ID, Version 2.0, Destination = Okta's SSO URL, Issuer = SP entity ID, "
            "ACS URL = the configured ACS, HTTP-POST binding, a matching NameID format",
            fix="Configure the SAML library with the IdP metadata and the same entity ID and "
            "ACS URL as in the Okta app.",
        )


@pytest.mark.submission_tester("sp_flow")
@pytest.mark.oin(requirement="SAML-SP-FLOW", severity="blocking")
def test_signs_in_with_sp_initiated_sso(saml: SamlCheck) -> None:
    """Sign-in started at the app ends signed in after Okta answers its AuthnRequest."""
    req = start_sp_initiated(saml)
    xml = saml.idp.sign(saml.spec(in_response_to=req.id))
    page = saml.post(xml, req.relay_state, note="IdP answers the AuthnRequest (HTTP-POST)")
    ok, probe = saml.signed_in(landing=page)
    if not ok:
        raise _not_signed_in(
            saml,
            "SP-initiated sign-in does not work",
            f"AuthnRequest ID {req.id}, RelayState {req.relay_state!r}\n"
            + saml.seen(page, xml, probe),
            SIGN_IN_FIX + " The response answers the app's AuthnRequest (InResponseTo "
            "= its ID) and echoes its RelayState.",
        )


@pytest.mark.oin(requirement="SAML-ATTRIBUTES", severity="advisory")
def test_declared_attributes_reach_the_app(saml: SamlCheck) -> None:
    """The attribute values the target declares show up for the signed-in user."""
    if not saml.saml.attributes:
        pytest.skip("no attribute statements declared ([saml] attributes)")
    xml = saml.idp.sign(saml.spec())
    page = saml.post(xml)
    ok, probe = saml.signed_in(landing=page)
    if not ok:
        pytest.skip("the test user could not sign in; see saml.signs_in_with_idp_initiated_sso")
    missing = {
        name: values[0]
        for name, values in saml.attributes_of(saml.user).items()
        if values[0] and values[0] not in probe.text
    }
    if missing:
        raise fail(
            "Attribute values do not show on the signed-in page",
            seen=f"missing on {probe.url}: "
            + ", ".join(f"{k}={v!r}" for k, v in missing.items())
            + "\n"
            + saml.seen(page, xml, probe),
            expected="every declared attribute value visible on the probe page",
            fix="Map the SAML attributes (Name as in the Okta attribute statements) onto the "
            "user's profile, or point [saml.signed_in] at a page that shows the profile.",
        )


@pytest.mark.oin(requirement="SAML-ATTRIBUTES", severity="advisory")
def test_signs_in_without_optional_attributes(saml: SamlCheck) -> None:
    """Sign-in works when the attributes the target calls optional are absent."""
    optional = tuple(saml.saml.optional_attributes)
    if not optional:
        pytest.skip("no optional attributes declared ([saml] optional_attributes)")
    xml = saml.idp.sign(saml.spec(leave_out=optional))
    page = saml.post(xml)
    ok, probe = saml.signed_in(landing=page)
    if not ok:
        raise _not_signed_in(
            saml,
            "Sign-in fails without optional attributes",
            f"left out: {', '.join(optional)}\n" + saml.seen(page, xml, probe),
            "Treat optional attributes as optional: an Okta admin may not map them.",
        )


JIT_FIX = (
    "Create the user from the assertion (NameID and attributes) on first sign-in, "
    "or set [saml] jit = false if the app does not offer JIT."
)


@pytest.mark.submission_tester("jit_idp_flow")
@pytest.mark.oin(requirement="SAML-JIT", severity="blocking")
def test_jit_creates_an_unknown_user(saml: SamlCheck) -> None:
    """A user the app has never seen signs in and exists afterwards with the asserted profile."""
    if not saml.saml.jit:
        pytest.skip("JIT provisioning not declared ([saml] jit = false)")
    newcomer = saml.other_user("jit")
    saml.transcript.note(f"Okta signs in a user the app has never seen: {newcomer['username']}")
    xml = saml.idp.sign(saml.spec(newcomer))
    page = saml.post(xml)
    ok, probe = saml.signed_in(newcomer, landing=page)
    if not ok:
        raise fail(
            "Just-in-time provisioning does not sign in a new user",
            seen=saml.seen(page, xml, probe),
            expected=f"the signed-in probe names {saml.probe.expected_text(newcomer)!r}",
            fix=JIT_FIX,
        )
    again = saml.new_browser()
    xml2 = saml.idp.sign(saml.spec(newcomer))
    page2 = saml.post(xml2, browser=again, note="the new user signs in a second time")
    ok2, probe2 = saml.signed_in(newcomer, browser=again, landing=page2)
    if not ok2:
        raise fail(
            "The JIT-created user cannot sign in again",
            seen=saml.seen(page, xml2, probe2),
            expected="the user created on first sign-in exists and signs in again",
            fix="Persist JIT-created users; match later sign-ins on the NameID.",
        )


@pytest.mark.submission_tester("jit_sp_flow")
@pytest.mark.oin(requirement="SAML-JIT", severity="blocking")
def test_jit_creates_an_unknown_user_with_sp_initiated_sso(saml: SamlCheck) -> None:
    """A user the app has never seen who starts sign-in at the app is created and signed in.

    Okta's OIN Submission Tester runs "JIT provisioning (with SP flow)" for an app that
    supports JIT and the SP flow only: the response answers the app's own AuthnRequest for
    a user the app does not know yet.
    """
    if not saml.saml.jit:
        pytest.skip("JIT provisioning not declared ([saml] jit = false)")
    newcomer = saml.other_user("jit-sp")
    saml.transcript.note(f"Okta signs in a user the app has never seen: {newcomer['username']}")
    req = start_sp_initiated(saml)
    xml = saml.idp.sign(saml.spec(newcomer, in_response_to=req.id))
    page = saml.post(
        xml, req.relay_state, note="IdP answers the AuthnRequest for a new user (HTTP-POST)"
    )
    ok, probe = saml.signed_in(newcomer, landing=page)
    if not ok:
        raise fail(
            "Just-in-time provisioning does not sign in a new user who starts at the app",
            seen=f"AuthnRequest ID {req.id}, RelayState {req.relay_state!r}\n"
            + saml.seen(page, xml, probe),
            expected=f"the signed-in probe names {saml.probe.expected_text(newcomer)!r}",
            fix=JIT_FIX + " The response answers the app's AuthnRequest (InResponseTo = its "
            "ID) for a user the app has not seen yet.",
        )
