"""Forged ID tokens and a forged callback: each must leave the user signed out.

The OP answers the app's token request with one named forgery (attacks/oidc.py); the verdict
is the signed-in probe, never the status of the callback page. Severities follow what
correct, widely used RPs do (reference/oidc.md §5.3): mod_auth_openidc accepts ``alg: none``
from the token endpoint in the code flow (OIDC Core allows TLS instead of a signature
there), so that one is advisory.
"""

from __future__ import annotations

import time

import pytest

from oin_conformance.attacks.oidc import ATTACKS, WRONG_STATE, TokenAttack, wrong_state
from oin_conformance.failures import fail, inconclusive
from oin_conformance.roles.oidc import describe_token

from .flow import OidcCheck, page_excerpt

ADVISORY = {"alg_none"}


def _lower_first(title: str) -> str:
    """'Expired ID token' -> 'expired ID token'; 'ID token …' stays as it is."""
    return title if title[1:2].isupper() else title[:1].lower() + title[1:]


def _param(name: str) -> object:
    severity = "advisory" if name in ADVISORY else "blocking"
    return pytest.param(
        ATTACKS[name],
        id=name,
        marks=pytest.mark.oin(requirement="OIDC-TOKEN-VALIDATION", severity=severity),
    )


@pytest.mark.parametrize("attack", [_param(name) for name in ATTACKS])
def test_refuses_forged_id_token(oidc: OidcCheck, attack: TokenAttack) -> None:
    """A forged or misdirected ID token from the token endpoint does not sign anyone in."""
    oidc.require_control()
    oidc.op.arm(mutator=attack.mutate, mutator_name=attack.name)
    oidc.transcript.note(f"Attack: {attack.title}. Risk if accepted: {attack.risk}.")
    page = oidc.sign_in(hostile=True)
    obs = oidc.token_observation()
    if obs is None or obs.details.get("mutator") != attack.name:
        raise inconclusive(
            "The forged ID token was not delivered",
            seen="The app did not fetch the forged token from the token endpoint, so the "
            f"check proves nothing.\nRequests the app made to Okta:\n{oidc.flow_summary()}"
            f"\n\n{page_excerpt(page)}",
            expected="the app redeems the code at the token endpoint (see "
            "oidc.sp_initiated_sign_in)",
            fix="Make the SP-initiated sign-in work first; then run this check again.",
        )
    ok, probe = oidc.signed_in(hostile=True)
    if ok:
        token = str(obs.details.get("id_token", ""))
        raise fail(
            f"The app accepts an {_lower_first(attack.title)}",
            seen=f"{oidc.user.username} is signed in after the app received this ID token:\n"
            f"{describe_token(token)}\n\nThe app's response to the callback: {page_excerpt(page)}\n"
            f"Signed-in probe: {page_excerpt(probe)}",
            expected="the sign-in is refused and nobody is signed in",
            fix=f"{attack.fix} Risk while this is open: {attack.risk}.",
        )


@pytest.mark.oin(requirement="OIDC-TOKEN-VALIDATION", severity="blocking")
def test_refuses_callback_with_wrong_state(oidc: OidcCheck) -> None:
    """A callback whose state this browser's sign-in never issued does not sign anyone in."""
    oidc.require_control()
    forged = wrong_state()
    oidc.op.arm(callback_state=forged)
    oidc.transcript.note(
        f"Attack: {WRONG_STATE.title} (state={forged}). Risk if accepted: {WRONG_STATE.risk}."
    )
    page = oidc.sign_in(hostile=True)
    authorize = oidc.op.last("authorize")
    if not oidc.callback_delivered(forged):
        raise inconclusive(
            "The callback with the forged state was not delivered",
            seen="No request to the app's redirect URI carried the forged state and got an "
            f"answer.\nRequests the app made to Okta:\n{oidc.flow_summary()}\n\n"
            f"{page_excerpt(page)}",
            expected="Okta's redirect (code + forged state) reaches the app's redirect_uri",
            fix="Make the SP-initiated sign-in work first; then run this check again.",
        )
    ok, probe = oidc.signed_in(hostile=True)
    if ok:
        sent = authorize.params.get("state") if authorize else None
        raise fail(
            "The app accepts a callback whose state it never issued",
            seen=f"The app sent state={sent!r}; Okta's redirect carried state={forged!r}; "
            f"{oidc.user.username} is signed in.\nThe app's response to the callback: "
            f"{page_excerpt(page)}\nSigned-in probe: {page_excerpt(probe)}",
            expected="the callback is refused and nobody is signed in",
            fix=WRONG_STATE.fix,
        )


#: How long the check waits before a second try when the app did not fetch the keys again
#: at once: RP libraries rate-limit JWKS refetches (oauth4webapi, under openid-client 6,
#: refetches on an unknown kid only once its copy is 60 s old), and Okta publishes a new
#: key long before it signs with it, so an app that refetches after a minute handles every
#: real rotation.
REFETCH_COOLDOWN_S = 61.0


@pytest.mark.oin(requirement="OIDC-KEY-ROTATION", severity="blocking")
def test_accepts_token_signed_by_a_newly_rotated_key(oidc: OidcCheck) -> None:
    """After Okta rotates its signing key (a new kid in the JWKS), sign-in still works."""
    oidc.sign_in()  # the app now has the current keys cached
    if not oidc.signed_in()[0]:
        pytest.skip("SP-initiated sign-in does not work; see oidc.sp_initiated_sign_in")
    oidc.browser.session.cookies.clear()
    key = oidc.op.rotate()
    fetched_before = len(oidc.op.seen("keys"))
    oidc.transcript.note(f"Okta rotates its signing key: new kid {key.kid} published and used")
    page = oidc.sign_in()
    ok, probe = oidc.signed_in()
    if ok:
        return
    if len(oidc.op.seen("keys")) == fetched_before:
        oidc.transcript.note(
            f"The app did not fetch the keys again at once; waiting {REFETCH_COOLDOWN_S:g} s "
            "(a JWKS refetch cooldown, as RP libraries keep) and trying once more"
        )
        time.sleep(REFETCH_COOLDOWN_S)
        oidc.browser.session.cookies.clear()
        page = oidc.sign_in()
        ok, probe = oidc.signed_in()
        if ok:
            oidc.transcript.note(
                "Signed in on the second try: the app refetches the keys on an unknown kid "
                "after a cooldown"
            )
            return
    refetched = len(oidc.op.seen("keys")) > fetched_before
    raise fail(
        "Sign-in fails after Okta rotates its signing key",
        seen=f"ID token signed with the new key (kid {key.kid}):\n{oidc.issued_token()}\n\n"
        f"JWKS fetched again after the rotation: {'yes' if refetched else 'no'} (also not "
        f"after {REFETCH_COOLDOWN_S:g} s)\n"
        f"The app's response to the callback: {page_excerpt(page)}\n"
        f"Signed-in probe: {page_excerpt(probe)}",
        expected="the app fetches the JWKS again on an unknown kid (at once, or after a "
        "cooldown of up to a minute) and signs the user in",
        fix="Cache Okta's keys by kid, and on a kid you do not know fetch jwks_uri again "
        "(once) before refusing. Okta rotates keys about every 90 days, without notice; "
        "an app that pins a key or never refetches locks every user out that day.",
    )
