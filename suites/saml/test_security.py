"""SAML responses that must not sign anyone in: forgeries of a genuine response (modified
after signing, stripped, re-signed with an untrusted key, wrapped) and genuinely signed
responses whose content is wrong (expired, for another app, from another IdP …).

Verdict: who is signed in afterwards, with a fresh cookie jar per check — never the HTTP
status (a 500 is a refusal; a 200 page with a session is not). A refusal counts only when
a genuine response signs in on the same path (the control) and the hostile one was
delivered and answered (SPEC §10); otherwise the check is inconclusive.
"""

from __future__ import annotations

import secrets
from urllib.parse import urljoin, urlsplit

import pytest

from oin_conformance.attacks.saml import CATALOGUE, Mutator, apply, signed_content
from oin_conformance.failures import fail, inconclusive

from .flow import PATH_TITLES, PathName, Prepared, SamlCheck, excerpt

#: attack -> (OIN requirement, severity). Blocking: exploitable with Okta as the IdP.
#: Advisory (SPEC §4), with the reason in ADVISORY_WHY and in every such finding.
RULES: dict[str, tuple[str, str]] = {
    "unsigned": ("SAML-SIGNATURE", "blocking"),
    "stripped_signature": ("SAML-SIGNATURE", "blocking"),
    "tampered_after_signing": ("SAML-SIGNATURE", "blocking"),
    "untrusted_key": ("SAML-SIGNATURE", "blocking"),
    "cloned_certificate": ("SAML-SIGNATURE", "blocking"),
    "other_tenant": ("SAML-SIGNATURE", "blocking"),
    "hmac_key_confusion": ("SAML-SIGNATURE", "blocking"),
    "hmac_key_confusion_base64": ("SAML-SIGNATURE", "blocking"),
    "hmac_key_confusion_der": ("SAML-SIGNATURE", "blocking"),
    "hmac_key_confusion_public_key": ("SAML-SIGNATURE", "blocking"),
    "keyvalue_key": ("SAML-SIGNATURE", "blocking"),
    "hmac_key_in_message": ("SAML-SIGNATURE", "blocking"),
    "comment_in_digest_value": ("SAML-SIGNATURE", "blocking"),
    "second_signed_info": ("SAML-SIGNATURE", "blocking"),
    "signed_info_in_object": ("SAML-SIGNATURE", "blocking"),
    "digest_document_wide": ("SAML-SIGNATURE", "blocking"),
    "several_references": ("SAML-SIGNATURE", "advisory"),
    "xslt_transform": ("SAML-SIGNATURE", "advisory"),
    "xpath_filter_transform": ("SAML-SIGNATURE", "advisory"),
    **{f"xsw{i}": ("SAML-WRAPPING", "blocking") for i in range(1, 9)},
    **{f"xsw{i}_without_response_signature": ("SAML-WRAPPING", "blocking") for i in range(3, 9)},
    "extra_unsigned_assertion_before": ("SAML-WRAPPING", "blocking"),
    "extra_unsigned_assertion_after": ("SAML-WRAPPING", "blocking"),
    "duplicate_ids": ("SAML-WRAPPING", "blocking"),
    "signed_response_nested": ("SAML-WRAPPING", "blocking"),
    "signed_response_nested_first_signature": ("SAML-WRAPPING", "blocking"),
    "response_in_advice": ("SAML-WRAPPING", "blocking"),
    "several_roots": ("SAML-WRAPPING", "blocking"),
    "signed_logout_response_reuse": ("SAML-WRAPPING", "advisory"),
    "signed_metadata_reuse": ("SAML-WRAPPING", "advisory"),
    "comment_in_nameid": ("SAML-XML", "blocking"),
    "pi_in_nameid": ("SAML-XML", "blocking"),
    "dtd_external_entity": ("SAML-XML", "blocking"),
    "dtd_internal_entity": ("SAML-XML", "blocking"),
    "doctype_only": ("SAML-XML", "advisory"),
    "replay": ("SAML-REPLAY", "blocking"),
    "expired": ("SAML-VALIDATION", "blocking"),
    "not_yet_valid": ("SAML-VALIDATION", "blocking"),
    "wrong_audience": ("SAML-VALIDATION", "blocking"),
    "wrong_recipient": ("SAML-VALIDATION", "blocking"),
    "lookalike_recipient": ("SAML-VALIDATION", "advisory"),
    "wrong_destination": ("SAML-VALIDATION", "blocking"),
    "lookalike_destination": ("SAML-VALIDATION", "advisory"),
    "wrong_issuer": ("SAML-VALIDATION", "advisory"),
    "missing_issuer": ("SAML-VALIDATION", "advisory"),
    "no_bearer_confirmation": ("SAML-VALIDATION", "advisory"),
    "non_success_status": ("SAML-VALIDATION", "advisory"),
    "unknown_in_response_to": ("SAML-IN-RESPONSE-TO", "advisory"),
    "sha1_signature": ("SAML-SHA256", "advisory"),
    "relay_state_open_redirect": ("SAML-RELAYSTATE", "blocking"),
    "relay_state_protocol_relative": ("SAML-RELAYSTATE", "blocking"),
}

ADVISORY_WHY: dict[str, str] = {
    "lookalike_recipient": "python3-saml itself compares Recipient as a substring, and "
    "exploiting it needs an attacker-run SP inside the same Okta org",
    "lookalike_destination": "python3-saml itself compares Destination as a prefix, and "
    "exploiting it needs an attacker-run SP inside the same Okta org",
    "no_bearer_confirmation": "Okta always sends a bearer SubjectConfirmation, so an "
    "assertion without one never comes from Okta; mod_auth_mellon, for one, validates the "
    "confirmation only when present",
    "doctype_only": "a DOCTYPE without entities changes nothing by itself; the entity "
    "variants (dtd_external_entity, dtd_internal_entity) are the blocking checks",
    "wrong_issuer": "only the holder of this app's signing key can sign such a response, "
    "and Okta always names itself; another IdP's response is the blocking other_tenant check "
    "(node-saml 5 compares the Issuer only on logout messages)",
    "missing_issuer": "Okta always sends an Issuer, and removing it from a signed assertion "
    "breaks the signature (node-saml 5 does not require one)",
    "non_success_status": "Okta never signs an assertion into a failed response "
    "(node-saml 5 does not read the StatusCode when a signed assertion is present)",
    "unknown_in_response_to": "Shibboleth SP and mod_auth_mellon accept an InResponseTo they "
    "never issued by default, and IdP-initiated sign-in needs unsolicited responses",
    "sha1_signature": "Okta signs with SHA-256, so a SHA-1 response never comes from Okta; "
    "the OIN requires SHA-256 and many SPs still accept SHA-1 by default",
    "several_references": "Okta signs with exactly one Reference, so only an IdP that signs "
    "several could be abused; python3-saml and mod_auth_mellon (lasso) accept several",
    "xslt_transform": "Okta signs with only the enveloped-signature and exclusive c14n "
    "transforms; python3-saml runs whatever transforms a message names — before the "
    "signature is known to be good — with xmlsec's XSLT file and network access off",
    "xpath_filter_transform": "Okta never signs with an XPath filter, so the identity is "
    "always inside what Okta signs; python3-saml honours any transform the signer chose",
    "signed_logout_response_reuse": "an OIN integration cannot use SP-initiated Single "
    "Logout, so Okta signs no LogoutResponse with its key; trusting any IdP-signed element "
    "is exploitable with Okta's signed assertions, which the blocking wrapping checks send",
    "signed_metadata_reuse": "Okta never signs its IdP metadata; trusting any IdP-signed "
    "element is exploitable with Okta's signed assertions, which the blocking wrapping "
    "checks send",
}

ATTACKS = [
    pytest.param(
        m,
        id=m.attack,
        marks=pytest.mark.oin(
            requirement=RULES[m.attack][0],
            severity=RULES[m.attack][1],
            references=m.references,
        ),
    )
    for m in CATALOGUE
]


def _identity(spec_nameid: str, attributes: tuple[tuple[str, tuple[str, ...]], ...]) -> str:
    attrs = ", ".join(f"{n}={'/'.join(v)}" for n, v in attributes)
    return f"NameID {spec_nameid!r}" + (f", attributes {attrs}" if attrs else "")


#: Where each attack is tried first: an unknown InResponseTo means something only where the
#: app issued an AuthnRequest of its own.
PREFER: dict[str, tuple[PathName, ...]] = {"unknown_in_response_to": ("sp", "idp")}
#: Attacks sent on every path whose control works (an attacker picks the path): an SP may
#: compare InResponseTo only when the browser's session holds a request of its own.
EVERY_PATH = {"unknown_in_response_to"}


@pytest.mark.parametrize("attack", ATTACKS)
def test_refuses_hostile_response(saml: SamlCheck, attack: Mutator) -> None:
    """The app refuses a forged or invalid SAML response: nobody is signed in by it."""
    if not attack.applies_to(saml.saml.sign):
        pytest.skip(
            f"{attack.attack} wraps a signed {' and '.join(sorted(attack.needs))}; "
            f"this target has Okta sign the {saml.saml.sign}"
        )
    paths = saml.working_paths(PREFER.get(attack.attack, ("idp", "sp")))
    for i, path in enumerate(paths if attack.attack in EVERY_PATH else paths[:1]):
        prepared = saml.prepare_checked(path, saml.new_browser() if i else None)
        _attempt(saml, attack, prepared)


def _attempt(saml: SamlCheck, attack: Mutator, prepared: Prepared) -> None:
    """Send ``attack`` on the prepared path and judge it (raises the failure, if any)."""
    token = secrets.token_hex(8)
    kit = saml.with_canary(token)
    base = saml.spec(in_response_to=prepared.in_response_to)
    signed = signed_content(attack, base, kit)
    xml = apply(attack, base, kit)
    victim = saml.user
    saml.transcript.note(
        f"Attack {attack.attack} on the path {PATH_TITLES[prepared.path]}: {attack.summary} "
        + (
            f"Okta signed a genuine response for the attacker's own account "
            f"({_identity(signed.nameid, signed.attributes)}); the attacker then changed it "
            f"to name the victim ({_identity(kit.victim, kit.victim_attributes)})."
            if attack.forgery
            else f"Okta signed it for the victim ({_identity(signed.nameid, signed.attributes)})."
        )
    )
    expected = "the app refuses it: the signed-in probe does not name the test user"
    severity = RULES[attack.attack][1]
    fix = f"{attack.fix} (Risk: {attack.risk})" + (
        f" Advisory, not blocking: {ADVISORY_WHY[attack.attack]}."
        if severity == "advisory" and attack.attack in ADVISORY_WHY
        else ""
    )

    if attack.replay:
        first = saml.deliver(prepared, xml, prepared.relay_state, "first use of a genuine response")
        ok, probe = saml.probe_after(prepared, landing=first)
        if not ok:
            # The path's control signed in, this very response did not: nothing to judge.
            raise inconclusive(
                "The genuine response did not sign in, so a replay cannot be judged",
                seen=saml.seen(first, xml, probe),
                expected="the first use of the response signs the test user in",
                fix="Make saml.signs_in_with_idp_initiated_sso pass first.",
            )
        again = saml.prepare(prepared.path, saml.new_browser())
        page = saml.deliver(again, xml, prepared.relay_state, "the same response again (replay)")
        ok, probe = saml.probe_after(again, landing=page)
        if ok:
            raise fail(
                "A replayed SAML response signs the user in again",
                seen=saml.seen(page, xml, probe) + f"\n(first use: HTTP {first.status})",
                expected=expected + " on the second use",
                fix=fix,
            )
        return

    relay = attack.relay_state
    page = saml.deliver(prepared, xml, relay or prepared.relay_state, "IdP posts the response")
    if relay is not None:
        evil = urlsplit(urljoin(page.url, relay)).hostname
        landed = {urlsplit(u).hostname for u in (page.blocked_redirect or "", page.url) if u}
        if evil in landed:
            raise fail(
                "RelayState redirects the user off-site after sign-in",
                seen=f"RelayState {relay!r}: the app redirected the browser to "
                f"{page.blocked_redirect or page.url}\n" + saml.seen(page, xml),
                expected="the user lands on a page of the app, never on another site",
                fix=fix,
            )
        return

    ok, probe = saml.probe_after(prepared, victim, landing=page)
    if attack.attack == "dtd_external_entity":
        assert saml.idp.canary is not None
        if saml.idp.canary.was_hit(token):
            raise fail(
                "The app fetched an external entity from a SAML response (XXE)",
                seen=f"the harness's canary {kit.canary_url} was requested by the app\n"
                + saml.seen(page, xml, probe),
                expected="the response is refused before any entity is resolved; no fetch",
                fix=fix,
            )
    if ok:
        raise fail(
            f"The app accepts a hostile response ({attack.attack}) and signs the victim in",
            seen=f"Attack: {attack.summary}\nThe signed-in probe names the victim "
            f"({saml.probe.expected_text(victim)!r}).\n" + saml.seen(page, xml, probe),
            expected=expected,
            fix=fix,
        )
    if page.status >= 500:
        saml.transcript.note(
            f"The app refused with HTTP {page.status} (a crash counts as a refusal, but a "
            f"clean error page is kinder): {excerpt(page.text, 200)}"
        )
