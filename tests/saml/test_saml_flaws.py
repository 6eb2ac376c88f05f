"""The reference SP's home-grown validators (``flaws_saml._HandRolled`` and its one-flaw
subclasses) against every attack of the catalogue in every signing mode, without the plugin:
the careful base refuses them all, each flaw lets exactly its attacks through."""

from __future__ import annotations

import pytest

from fixtures.reference_app import flaws_saml
from oin_conformance.attacks import saml as attacks
from oin_conformance.roles.saml import ResponseSpec, SamlIdp
from oin_conformance.state import generate_keypair

ACS = "http://127.0.0.1:5000/saml/acs"
AUDIENCE = "https://acme.example/saml/metadata"
VICTIM = "ada@example.com"
MODES = ("both", "assertion", "response")
XSW3_8 = [f"xsw{i}" for i in range(3, 9)]


def unwrapped(names: list[str]) -> list[str]:
    return [f"{n}_without_response_signature" for n in names]


#: Any signature by the IdP's key vouches for the message: a signed LogoutResponse or signed
#: metadata inside it (in every signing mode: these forgeries carry no genuine signature).
ANY_SIGNED = ["signed_logout_response_reuse", "signed_metadata_reuse"]
#: Shapes that need only "verifies what the Reference names, reads the first Assertion".
FIRST_READ = ["extra_unsigned_assertion_before", "duplicate_ids", *ANY_SIGNED]
#: Reads the Response's Assertion child: XSW7 hides its copy in Extensions, so it is read.
XSW_CHILD = ["xsw3", "xsw4", "xsw5", "xsw6", "xsw8"]


def by_reference_reading_the_child(extra: dict[str, list[str]]) -> dict[str, list[str]]:
    """follows_reference_reads_response_assertion's wins, and ``extra`` per mode."""
    # signed_info_in_object keeps the genuine Assertion (in Extensions) that its Signature's
    # own SignedInfo names: ignoring the Object's SignedInfo, it is one more wrapping.
    base = {
        "both": [*unwrapped(XSW_CHILD), *FIRST_READ, "signed_info_in_object"]
        + ["signed_response_nested"],
        "assertion": [*XSW_CHILD, *FIRST_READ, "signed_info_in_object"],
        "response": ["xsw1", "xsw2", "signed_response_nested", *ANY_SIGNED],
    }
    return {mode: base[mode] + extra.get(mode, []) for mode in MODES}


#: flaw -> sign mode -> the attacks that sign the victim in (the same in every mode if one list)
WINS: dict[str, dict[str, list[str]] | list[str]] = {
    "careful": [],
    "issuer_optional": ["missing_issuer"],
    "algorithm_from_document": ["hmac_key_confusion"],
    "algorithm_from_document_base64": ["hmac_key_confusion_base64"],
    "algorithm_from_document_der": ["hmac_key_confusion_der"],
    "algorithm_from_document_public_key": ["hmac_key_confusion_public_key"],
    "key_from_keyinfo": ["keyvalue_key", "hmac_key_in_message"],
    "digest_first_child": ["comment_in_digest_value"],
    # Nothing compares digests: every edit of signed content passes.
    "skips_digests": {
        "both": ["tampered_after_signing", "comment_in_digest_value", "digest_document_wide"]
        + ["pi_in_nameid"],
        "assertion": ["tampered_after_signing", "comment_in_digest_value"]
        + ["digest_document_wide", "pi_in_nameid"],
        # digest_document_wide needs a signed Assertion.
        "response": ["tampered_after_signing", "comment_in_digest_value", "pi_in_nameid"],
    },
    "digest_looked_up_document_wide": {
        "both": ["digest_document_wide"],
        "assertion": ["digest_document_wide"],
        "response": [],
    },
    "pi_as_text": ["pi_in_nameid"],
    # With both signed the nested genuine Assertion is signed and the outer one is the last.
    "reads_last_assertion": {
        "both": ["extra_unsigned_assertion_after", "signed_response_nested"],
        "assertion": ["extra_unsigned_assertion_after"],
        "response": [],
    },
    "several_roots_first_signed": {
        "both": ["several_roots"],
        "assertion": ["several_roots"],
        "response": [],
    },
    # When Okta signs both, the classic shapes keep the Response signature and fail its
    # digest; an attacker removes that signature first (the *_without_response_signature
    # variants), and the validator falls as when only the Assertion is signed.
    "follows_reference_reads_first_assertion": {
        "both": [*unwrapped(XSW3_8), *FIRST_READ],
        "assertion": [*XSW3_8, *FIRST_READ],
        "response": ANY_SIGNED,
    },
    "follows_reference_reads_response_assertion": by_reference_reading_the_child({}),
    "enveloped_drops_first_signature": by_reference_reading_the_child(
        {"both": ["response_in_advice"], "response": ["response_in_advice"]}
    ),
    "references_from_every_signed_info": by_reference_reading_the_child(
        {
            "both": ["second_signed_info", "several_references"],
            "assertion": ["second_signed_info", "several_references"],
            "response": ["several_references"],
        }
    ),
    "first_signature_first_assertion": {
        "both": [*unwrapped(XSW3_8), *FIRST_READ],
        "assertion": [*XSW3_8, *FIRST_READ],
        "response": ANY_SIGNED,
    },
    # Verifies the first signature inside the Response, reads the Response's own Assertion
    # (pysaml2 < 6.5 with xmlsec1 --node-id): the genuine Response nested first verifies.
    "first_signature_reads_response_assertion": by_reference_reading_the_child(
        {
            "both": ["xsw1", "signed_response_nested_first_signature"],
            "response": ["signed_response_nested_first_signature"],
        }
    ),
}


@pytest.fixture(scope="module")
def idp() -> SamlIdp:
    return SamlIdp.create(generate_keypair("test idp"), "Acme Reference App")


@pytest.fixture(scope="module")
def kit(idp: SamlIdp) -> attacks.Kit:
    return attacks.Kit.create(
        idp, victim=VICTIM, attacker="mallory@example.com", canary_url="http://127.0.0.1:9/c"
    )


@pytest.fixture(scope="module")
def hostile(idp: SamlIdp, kit: attacks.Kit) -> dict[str, dict[str, bytes]]:
    """sign mode -> attack -> the hostile response (made once: the validators keep no state).
    Replay and RelayState need the app itself (see test_saml_suite.py)."""
    return {
        mode: {
            m.attack: attacks.apply(m, spec(idp, mode), kit)
            for m in attacks.CATALOGUE
            if not (m.replay or m.relay_state or not m.applies_to(mode))
        }
        for mode in MODES
    }


def spec(idp: SamlIdp, sign: str) -> ResponseSpec:
    return idp.spec(
        acs_url=ACS,
        audience=AUDIENCE,
        nameid=VICTIM,
        nameid_format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
        attributes={"firstName": ["Ada"]},
        sign=sign,  # type: ignore[arg-type]
    )


def test_every_hand_rolled_flaw_is_listed() -> None:
    hand_rolled = {n for n, f in flaws_saml.FLAWS.items() if isinstance(f, flaws_saml._HandRolled)}
    assert hand_rolled == set(WINS) - {"careful"}


@pytest.mark.parametrize("name", sorted(WINS))
def test_hand_rolled_validator_lets_through_exactly_its_attacks(
    idp: SamlIdp, hostile: dict[str, dict[str, bytes]], name: str
) -> None:
    flaw = flaws_saml._HandRolled() if name == "careful" else flaws_saml.FLAWS[name]
    check = flaws_saml.Check(
        cert_pem=idp.cert_pem,
        acs=ACS,
        audience=AUDIENCE,
        idp_entity_id=idp.entity_id,
        request_id=None,
    )
    expected = WINS[name]
    for mode in MODES:
        genuine = flaw.homegrown(idp.sign(spec(idp, mode)), check)
        assert genuine is not None and genuine.nameid == VICTIM
        assert genuine.attributes == {"firstName": ["Ada"]}
        wins = []
        for attack, xml in hostile[mode].items():
            try:
                accepted = flaw.homegrown(xml, check)
            except ValueError:
                continue
            if accepted is not None and accepted.nameid == VICTIM:
                wins.append(attack)
        want = expected[mode] if isinstance(expected, dict) else expected
        assert sorted(wins) == sorted(want), mode
