"""Fixtures of the OIDC suite: the session's Okta org authorization server (started by
``harness_info`` for an in-process app, or here), a per-check view of it, and the
attacker's own web site (where forged tokens' ``jku`` / ``x5u`` point)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from oin_conformance.roles.browser import Browser
from oin_conformance.roles.oidc import AttackerSite, OktaOrgOP, OPError
from oin_conformance.runtime import RunContext
from oin_conformance.session_fixtures import configured_section
from oin_conformance.target import OidcTarget, Target
from oin_conformance.transcript import Transcript
from oin_conformance.wiring.oidc import ensure_op

from .flow import Controls, KeyRefetch, OidcCheck, custom_issuer_problem


@pytest.fixture(scope="session")
def oidc_target(oin_target: Target) -> OidcTarget:
    return configured_section(oin_target.oidc, "oidc")


@pytest.fixture(scope="session")
def op(oin_run: RunContext, oidc_target: OidcTarget) -> OktaOrgOP:
    """The run's Okta org authorization server (started by harness_info or here)."""
    try:
        return ensure_op(oin_run)
    except OPError as exc:
        pytest.fail(f"[oidc.provider]: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def oidc_controls() -> Controls:
    """The positive control (a genuine sign-in), run once per process and shared."""
    return Controls()


@pytest.fixture(scope="session")
def key_refetch() -> KeyRefetch:
    """What the key-rotation check learnt about the app's JWKS refetching (per process)."""
    return KeyRefetch()


@pytest.fixture(scope="session")
def attacker_site(op: OktaOrgOP) -> Iterator[AttackerSite]:
    """The attacker's web site for the run: on the provider's bind address, named by the
    provider's host (an app that can reach the provider can reach it)."""
    site = AttackerSite(bind=op.bind, host=urlsplit(op.url).hostname).start()
    yield site
    site.stop()


@pytest.fixture
def oidc_any(
    op: OktaOrgOP,
    browser: Browser,
    transcript: Transcript,
    oin_run: RunContext,
    oidc_target: OidcTarget,
    oidc_controls: Controls,
) -> Iterator[OidcCheck]:
    """Per-check view of the OP, armed honestly; no issuer precondition."""
    op.reset()
    browser.allow(op.url)
    browser.guard(op.url)
    transcript.note(f"Okta org authorization server (issuer): {op.issuer}")
    check = OidcCheck(op, browser, transcript, oin_run, oidc_target, oidc_controls)
    yield check
    op.reset()


@pytest.fixture
def oidc(oidc_any: OidcCheck, oidc_target: OidcTarget) -> OidcCheck:
    """Per-check view of the OP; skips when the app is configured for a custom server
    (that is reported once, by the org-authorization-server check)."""
    problem = custom_issuer_problem(oidc_target.issuer)
    if problem:
        pytest.skip(
            f"not run: {problem}; see oidc.uses_org_authorization_server (the OIN allows the "
            "org authorization server only)"
        )
    return oidc_any
