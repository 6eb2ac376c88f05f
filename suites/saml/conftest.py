"""Fixtures of the SAML suite: the run's Okta IdP (identity from the state folder), the
attacker's kit (keys made once per process), and a per-check view of them."""

from __future__ import annotations

import pytest

from oin_conformance.attacks.saml import Kit
from oin_conformance.roles.browser import Browser
from oin_conformance.roles.saml import SamlIdp
from oin_conformance.runtime import RunContext
from oin_conformance.session_fixtures import configured_section
from oin_conformance.target import SamlTarget, SignedInProbe, Target
from oin_conformance.transcript import Transcript
from oin_conformance.wiring.saml import idp_for

from .flow import Controls, SamlCheck


@pytest.fixture(scope="session")
def saml_target(oin_target: Target) -> SamlTarget:
    return configured_section(oin_target.saml, "saml")


@pytest.fixture(scope="session")
def saml_probe(oin_run: RunContext, saml_target: SamlTarget) -> SignedInProbe:
    probe = saml_target.signed_in or oin_run.target.app.signed_in
    if probe is None:
        pytest.skip(
            "no signed-in probe: add [saml.signed_in] or [app.signed_in] (a URL that names "
            "the signed-in user) so the suite can tell who is signed in"
        )
    return probe


@pytest.fixture(scope="session")
def idp(oin_run: RunContext, saml_target: SamlTarget) -> SamlIdp:
    """The run's Okta IdP (made by harness_info for an in-process app, or here)."""
    return idp_for(oin_run)


@pytest.fixture(scope="session")
def saml_kit(idp: SamlIdp, oin_run: RunContext, saml_target: SamlTarget) -> Kit:
    """The attacker's kit: victim = the test user, attacker = a low-privilege account of
    their own in the same Okta org (own NameID, own e-mail, own name)."""
    user = oin_run.user
    domain = user["email"].partition("@")[2] or "example.com"
    attacker = {
        "username": f"mallory@{domain}",
        "email": f"mallory@{domain}",
        "first_name": "Mallory",
        "last_name": "Attacker",
    }

    def attributes(who: dict[str, str]) -> dict[str, list[str]]:
        return {n: [t.format_map(who)] for n, t in saml_target.attributes.items()}

    return Kit.create(
        idp,
        victim=saml_target.nameid.format_map(user),
        attacker=saml_target.nameid.format_map(attacker),
        victim_attributes=attributes(user),
        attacker_attributes=attributes(attacker),
    )


@pytest.fixture(scope="session")
def saml_controls() -> Controls:
    """Positive controls already run in this process (per path), shared by the checks."""
    return Controls()


@pytest.fixture
def saml(
    idp: SamlIdp,
    saml_target: SamlTarget,
    saml_probe: SignedInProbe,
    saml_kit: Kit,
    saml_controls: Controls,
    oin_run: RunContext,
    browser: Browser,
    transcript: Transcript,
) -> SamlCheck:
    transcript.note(
        f"Okta IdP: entity ID {idp.entity_id}, SSO URL {idp.sso_url} (never fetched: the "
        f"harness reads AuthnRequests from the redirect), signing {saml_target.sign}"
    )
    browser.guard(idp.sso_url)
    return SamlCheck(
        idp, saml_target, saml_probe, oin_run, browser, transcript, saml_kit, saml_controls
    )
