"""Hostile answers outside the ID token: ``/userinfo`` answering for another user, a
discovery document naming another issuer, and a third-party-initiated login whose
``target_link_uri`` leads off-site. None may decide who is signed in, nor where the browser
goes.

Each needs the app to take the path the hostile answer is on (SPEC §10 "Delivery"). An app
that never takes it — it signs users in from the ID token without calling ``/userinfo``, or
reads the discovery document once, before any check — is skipped as not applicable, saying
so; a flow that stopped before reaching it is inconclusive. All three are advisory (see
``ADVISORY_WHY``): none lets an attacker without Okta's key sign in as the victim through
Okta.
"""

from __future__ import annotations

import secrets
from urllib.parse import urljoin

import pytest

from oin_conformance.attacks.oidc import (
    DISCOVERY_ISSUER_MISMATCH,
    HOSTILE_TARGET,
    OTHER_ORG,
    THIRD_PARTY_LOGIN_OPEN_REDIRECT,
    USERINFO_SUB_MISMATCH,
    FlowAttack,
    claims_for_issuer,
)
from oin_conformance.failures import fail, inconclusive
from oin_conformance.roles.browser import find_autopost_form, origin
from oin_conformance.roles.oidc import OktaUser

from .flow import OidcCheck, page_excerpt

ADVISORY_WHY = {
    USERINFO_SUB_MISMATCH.name: "Okta's /userinfo always answers for the user its access "
    "token was issued to, the same sub as the ID token issued with it; a mismatch needs "
    "tokens from two different responses (mod_auth_openidc, for one, signs the ID token's "
    "user in and drops the userinfo claims)",
    DISCOVERY_ISSUER_MISMATCH.name: "Okta's discovery document always names the org URL; "
    "exploiting it needs control of the document at the configured issuer's URL "
    "(mod_auth_openidc configured with a metadata URL does not compare either)",
    THIRD_PARTY_LOGIN_OPEN_REDIRECT.name: "an open redirect signs nobody in; it lends the "
    "app's domain to phishing links",
}


def _param(attack: FlowAttack, requirement: str) -> object:
    return pytest.param(
        attack,
        id=attack.name,
        marks=pytest.mark.oin(
            requirement=requirement, severity="advisory", references=attack.references
        ),
    )


def _fix(attack: FlowAttack, **fields: str) -> str:
    return (
        f"{attack.fix.format(**fields)} Risk while this is open: {attack.risk}. "
        f"Advisory, not blocking: {ADVISORY_WHY[attack.name]}."
    )


@pytest.mark.parametrize("attack", [_param(USERINFO_SUB_MISMATCH, "OIDC-TOKEN-VALIDATION")])
def test_ignores_userinfo_for_another_user(oidc: OidcCheck, attack: FlowAttack) -> None:
    """The profile /userinfo returns for another sub never decides who is signed in."""
    oidc.require_control()
    victim = oidc.user
    tag = f"{oidc.ctx.run_id}{secrets.token_hex(3)}"
    holder = OktaUser(
        username=f"holder-{tag}@example.com",
        email=f"holder-{tag}@example.com",
        first_name="Hedy",
        last_name=f"Lamarr{tag}",
    )
    oidc.op.arm(user=holder, userinfo_user=victim)
    oidc.transcript.note(
        f"Attack: {attack.title}. Okta signs in {holder.username} (sub {holder.sub}) and "
        f"issues the ID token for them; /userinfo answers with {victim.username}'s profile "
        f"(sub {victim.sub}). Risk if used: {attack.risk}."
    )
    page = oidc.sign_in(hostile=True)
    answered = [o for o in oidc.op.seen("userinfo") if o.details.get("sub") == victim.sub]
    if not answered:
        if oidc.token_observation() is None:
            raise inconclusive(
                "The sign-in never reached the token endpoint",
                seen=f"Requests the app made to Okta:\n{oidc.flow_summary()}\n\n"
                f"{page_excerpt(page)}",
                expected="the app redeems the code, then calls /userinfo",
                fix="Make the SP-initiated sign-in work first; then run this check again.",
            )
        holder_in, probe = oidc.signed_in(holder, hostile=True)
        if holder_in:
            pytest.skip(
                "not applicable: the app signed in the ID token's user without calling "
                "/userinfo (it reads the ID token only), so a userinfo answer for another user "
                "cannot reach it"
            )
        raise inconclusive(
            "The sign-in ended before the app called /userinfo",
            seen=f"Nobody is signed in and the app never called /userinfo.\nRequests the app "
            f"made to Okta:\n{oidc.flow_summary()}\n\n{page_excerpt(page)}\n"
            f"Signed-in probe: {page_excerpt(probe)}",
            expected=f"the app signs {holder.username} in (the ID token's user, created by JIT) "
            "or calls /userinfo",
            fix="Nothing to fix for this check alone: it judges apps that call /userinfo, or "
            "that sign a new user in from the ID token.",
        )
    ok, probe = oidc.signed_in(victim, hostile=True)
    if ok:
        raise fail(
            "The app signs in the user /userinfo names, not the ID token's",
            seen=f"The ID token named {holder.username} (sub {holder.sub}); /userinfo "
            f"answered for {victim.username} (sub {victim.sub}); {victim.username} is signed "
            f"in.\nThe app's response to the callback: {page_excerpt(page)}\n"
            f"Signed-in probe: {page_excerpt(probe)}",
            expected=f"the sign-in is refused, or {holder.username} (the ID token's user) is "
            f"signed in; never {victim.username}",
            fix=_fix(attack),
        )


@pytest.mark.parametrize("attack", [_param(DISCOVERY_ISSUER_MISMATCH, "OIDC-TOKEN-VALIDATION")])
def test_refuses_discovery_document_for_another_issuer(oidc: OidcCheck, attack: FlowAttack) -> None:
    """The app uses a discovery document only when it names the configured issuer."""
    oidc.require_control()
    before = len(oidc.op.seen("discovery"))
    oidc.op.arm(
        discovery_issuer=OTHER_ORG,
        mutator=claims_for_issuer(OTHER_ORG),
        mutator_name=attack.name,
    )
    oidc.transcript.note(
        f"Attack: {attack.title}: {oidc.op.issuer}/.well-known/openid-configuration names "
        f"the issuer {OTHER_ORG}, and the ID token's iss is {OTHER_ORG}. Risk if used: "
        f"{attack.risk}."
    )
    page = oidc.sign_in(hostile=True)
    served = [o for o in oidc.op.seen("discovery")[before:] if o.details.get("issuer") == OTHER_ORG]
    if not served:
        pytest.skip(
            "not applicable: the app did not read Okta's discovery document during this "
            "sign-in (it keeps the one it read at its first sign-in, before this check), so "
            "a document naming another issuer cannot reach it"
        )
    ok, probe = oidc.signed_in(hostile=True)
    if ok:
        obs = oidc.token_observation()
        token = str(obs.details.get("id_token", "")) if obs else ""
        raise fail(
            "The app uses a discovery document that names another issuer",
            seen=f"{oidc.op.issuer}/.well-known/openid-configuration named the issuer "
            f"{OTHER_ORG}; {oidc.user.username} is signed in after the app received an ID "
            f"token with iss {OTHER_ORG}.\nRequests the app made to Okta:\n"
            f"{oidc.flow_summary()}\n\nID token:\n{token or '(none issued)'}\n"
            f"The app's response to the callback: {page_excerpt(page)}\n"
            f"Signed-in probe: {page_excerpt(probe)}",
            expected="the app refuses the discovery document (or the token) and nobody is "
            "signed in",
            fix=_fix(attack, issuer=oidc.op.issuer),
        )


@pytest.mark.parametrize("attack", [_param(THIRD_PARTY_LOGIN_OPEN_REDIRECT, "OIDC-IDP-FLOW")])
def test_initiate_login_stays_on_site(oidc: OidcCheck, attack: FlowAttack) -> None:
    """A third-party-initiated login with a foreign target_link_uri never sends the browser
    off-site (the app refuses it, or signs the user in and stays on its own site)."""
    if not oidc.target.initiate_login_uri:
        pytest.skip("no [oidc] initiate_login_uri: the app is not launched from the dashboard")
    control = oidc.initiate_control()
    if not control.ok:
        raise inconclusive(
            "A genuine sign-in from the dashboard does not work, so a refusal proves nothing",
            seen=control.detail,
            expected="a genuine sign-in from the initiate login URI with only iss signs the "
            "test user in (the control)",
            fix="Make oidc.third_party_initiated_sign_in pass first; then run this check again.",
        )
    hostile = origin(HOSTILE_TARGET)
    url = oidc.initiate_url(oidc.op.issuer, target_link_uri=HOSTILE_TARGET)
    oidc.transcript.note(f"Attack: {attack.title}: GET {url}. Risk if followed: {attack.risk}.")
    authorized_before = len(oidc.op.seen("authorize"))
    page = oidc.initiate(
        oidc.op.issuer,
        hostile=True,
        note="hostile dashboard sign-in",
        target_link_uri=HOSTILE_TARGET,
    )
    sent_off: list[str] = []
    for ex in oidc.transcript.exchanges:
        location = next(
            (v for k, v in ex.response_headers.items() if k.lower() == "location"), None
        )
        if ex.status is not None and 300 <= ex.status < 400 and location:
            target = urljoin(ex.url, location)
            if origin(target) == hostile:
                sent_off.append(f"{ex.method} {ex.url} -> HTTP {ex.status}, Location: {target}")
        form = find_autopost_form(ex.response_body, ex.url) if ex.status == 200 else None
        if form is not None and origin(form.action) == hostile:
            sent_off.append(f"{ex.method} {ex.url} -> a self-submitting form to {form.action}")
    stopped = page.blocked_redirect
    if stopped and origin(stopped) == hostile and not any(stopped in line for line in sent_off):
        sent_off.append(f"the browser was sent to {stopped}")
    if not sent_off:
        ok, probe = oidc.signed_in(hostile=True)
        started = len(oidc.op.seen("authorize")) > authorized_before
        if started and not ok:
            raise inconclusive(
                "The dashboard sign-in did not complete, so where the app sends the user after "
                "it was never seen",
                seen=f"GET {url}\nNobody is signed in after the flow.\nRequests the app made "
                f"to Okta:\n{oidc.flow_summary()}\n\n{page_excerpt(page)}\n"
                f"Signed-in probe: {page_excerpt(probe)}",
                expected="the app refuses the foreign target_link_uri outright, or completes "
                "the sign-in and keeps the browser on its own site",
                fix="Make oidc.third_party_initiated_sign_in pass first; then run this check "
                "again.",
            )
        return
    raise fail(
        "The app's dashboard sign-in redirects to any site target_link_uri names",
        seen=f"GET {url}\n"
        + "\n".join(dict.fromkeys(sent_off))
        + f"\n\nWhere the browser stopped: {page_excerpt(page)}",
        expected=f"the browser stays on the app (target_link_uri {HOSTILE_TARGET} is "
        "ignored or refused)",
        fix=_fix(attack),
    )
