"""Fixtures of the Universal Logout suite: the target's [universal_logout] section, the
sign-in flows of the SAML and OIDC suites it signs the test user in with, and a per-check
view of them (:class:`~.flow.LogoutCheck`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from oin_conformance.attacks.saml import Kit
from oin_conformance.roles.browser import Browser
from oin_conformance.roles.oidc import OPError
from oin_conformance.runtime import RunContext
from oin_conformance.session_fixtures import configured_section
from oin_conformance.target import Target, UniversalLogoutTarget
from oin_conformance.transcript import Transcript
from oin_conformance.wiring.oidc import ensure_op
from oin_conformance.wiring.saml import idp_for

from ..oidc.flow import Controls as OidcControls
from ..oidc.flow import OidcCheck
from ..saml.flow import Controls as SamlControls
from ..saml.flow import SamlCheck
from .flow import Controls, LogoutCheck


@pytest.fixture(scope="session")
def ul_target(oin_target: Target) -> UniversalLogoutTarget:
    return configured_section(oin_target.universal_logout, "universal_logout")


@pytest.fixture(scope="session")
def ul_controls() -> Controls:
    """Okta's genuine request accepted or not, per sign-in protocol, shared by the checks."""
    return Controls()


def _saml_kit(ctx: RunContext) -> Kit:
    """:class:`SamlCheck` carries the attacker's kit of the SAML suite; the logout checks
    sign in only genuinely and never use it. Made once per process."""

    def make() -> Kit:
        user = ctx.user
        saml = ctx.target.saml
        assert saml is not None
        return Kit.create(
            idp_for(ctx),
            victim=saml.nameid.format_map(user),
            attacker=saml.nameid.format_map({**user, "username": "mallory", "email": "mallory"}),
        )

    return ctx.shared(Kit, make)


@pytest.fixture
def ul(
    oin_run: RunContext,
    ul_target: UniversalLogoutTarget,
    ul_controls: Controls,
    transcript: Transcript,
    browser: Browser,
) -> Iterator[LogoutCheck]:
    ctx = oin_run
    check = LogoutCheck(ctx, ul_target, transcript, ul_controls)
    op = None
    if ctx.target.oidc is not None:
        try:
            op = ensure_op(ctx)
        except OPError as exc:
            pytest.fail(f"[oidc.provider]: {exc}", pytrace=False)
        op.reset()  # its own keys (the logout JWT is signed with the ID-token key)
        browser.allow(op.url)
        browser.guard(op.url)
        check.oidc = OidcCheck(op, browser, transcript, ctx, ctx.target.oidc, OidcControls())
    saml = ctx.target.saml
    if saml is not None:
        probe = saml.signed_in or ctx.target.app.signed_in
        if probe is None:
            check.saml_unavailable = (
                "no signed-in probe for SAML: add [saml.signed_in] or [app.signed_in] so the "
                "suite can tell who is signed in"
            )
        else:
            idp = idp_for(ctx)
            browser.guard(idp.sso_url)
            check.saml = SamlCheck(
                idp, saml, probe, ctx, browser, transcript, _saml_kit(ctx), SamlControls()
            )
    transcript.note(
        f"Universal Logout endpoint: {check.endpoint}; subject formats claimed: "
        f"{', '.join(ul_target.subject_formats)}"
        + ("; partial support (refresh tokens only)" if ul_target.partial_support else "")
    )
    yield check
    if op is not None:
        op.reset()
