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


#: flaw -> sign mode -> the attacks that sign the victim in (the same in every mode if one list)
WINS: dict[str, dict[str, list[str]] | list[str]] = {
    "careful": [],
    "issuer_optional": ["missing_issuer"],
    "algorithm_from_document": ["hmac_key_confusion"],
    "digest_first_child": ["comment_in_digest_value"],
    "skips_digests": ["tampered_after_signing", "comment_in_digest_value"],
    # When Okta signs both, the classic shapes keep the Response signature and fail its
    # digest; an attacker removes that signature first (the *_without_response_signature
    # variants), and the validator falls as when only the Assertion is signed.
    "follows_reference_reads_first_assertion": {
        "both": unwrapped(XSW3_8),
        "assertion": XSW3_8,
        "response": [],
    },
    "follows_reference_reads_response_assertion": {
        "both": unwrapped(["xsw3", "xsw4", "xsw5", "xsw6", "xsw8"]),
        "assertion": ["xsw3", "xsw4", "xsw5", "xsw6", "xsw8"],
        "response": ["xsw1", "xsw2"],
    },
    "first_signature_first_assertion": {
        "both": unwrapped(XSW3_8),
        "assertion": XSW3_8,
        "response": [],
    },
}


@pytest.fixture(scope="module")
def idp() -> SamlIdp:
    return SamlIdp.create(generate_keypair("test idp"), "Acme Reference App")


@pytest.fixture(scope="module")
def kit(idp: SamlIdp) -> attacks.Kit:
    return attacks.Kit.create(
        idp, victim=VICTIM, attacker="mallory@example.com", canary_url="http://127.0.0.1:9/c"
    )


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
    idp: SamlIdp, kit: attacks.Kit, name: str
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
        for mutator in attacks.CATALOGUE:
            # Replay and RelayState need the app itself (see test_saml_suite.py).
            if mutator.replay or mutator.relay_state or not mutator.applies_to(mode):
                continue
            try:
                accepted = flaw.homegrown(attacks.apply(mutator, spec(idp, mode), kit), check)
            except ValueError:
                continue
            if accepted is not None and accepted.nameid == VICTIM:
                wins.append(mutator.attack)
        assert wins == (expected[mode] if isinstance(expected, dict) else expected), mode
