"""Forged ID tokens and a forged callback: each must leave the user signed out; and genuine
tokens in shapes Okta may send (a key rotated just before signing, a key set with an entry
no library can parse, no ``kid`` beside one published key): each must sign the user in.

The OP answers the app's token request with one named forgery (attacks/oidc.py); the verdict
is the signed-in probe, never the status of the callback page. Severities follow the rule of
SPEC §4: blocking when an attacker without Okta's key can sign in as the victim; advisory
when only a token Okta never sends (signed by Okta's own key) triggers it, or when correct,
widely used RPs do the same (reference/oidc.md §5.3) — each advisory says which.
"""

from __future__ import annotations

import time

import pytest

from oin_conformance.attacks.oidc import (
    ATTACKS,
    QUIRKS,
    WRONG_STATE,
    Quirk,
    TokenAttack,
    wrong_state,
)
from oin_conformance.failures import fail, inconclusive
from oin_conformance.roles.browser import Page
from oin_conformance.roles.oidc import AttackerSite, Observation, decode_unverified, describe_token

from .flow import KeyRefetch, OidcCheck, page_excerpt

#: Forgeries that are advisory, and why (the rest are blocking: an attacker without Okta's
#: key signs in as the victim).
ADVISORY_WHY = {
    "alg_none": "mod_auth_openidc and pyoidc accept an unsigned ID token fetched from the "
    "token endpoint in the code flow (OIDC Core §3.1.3.7 lets TLS stand in for the "
    "signature there), so forging one needs a break of TLS to Okta",
    "missing_iat": "Okta always sends iat, and a token without it can only be signed with "
    "Okta's own key",
    "missing_sub": "Okta always sends sub, and a token without it can only be signed with "
    "Okta's own key",
    "missing_aud": "Okta always sends aud, and a token without it can only be signed with "
    "Okta's own key",
    "aud_array_without_client": "Okta's org server issues aud as one string, the client id; "
    "an array can only be signed with Okta's own key (a token issued to another client is "
    "the blocking wrong_audience check)",
    "issuer_trailing_slash": "only Okta's key can sign it and Okta names itself exactly; "
    "mod_auth_openidc, a widely used RP, accepts a trailing-slash difference "
    "(reference/oidc.md §5.3); another org's token is the blocking wrong_issuer check",
}
#: Genuine-token shapes: requirement, severity and (advisory) why.
QUIRK_RULES: dict[str, tuple[str, str, str]] = {
    "key_rotation": ("OIDC-KEY-ROTATION", "blocking", ""),
    "unparseable_jwks_key": (
        "OIDC-KEY-ROTATION",
        "advisory",
        "Okta publishes well-formed RSA keys only; an app that refuses a key set with an "
        "entry it cannot parse breaks only if Okta ever publishes one",
    ),
    "kid_absent_single_key": (
        "OIDC-TOKEN-VALIDATION",
        "advisory",
        "Okta always sends a kid and publishes several keys; the OpenID Foundation's RP "
        "certification requires accepting this shape",
    ),
}


def _lower_first(title: str) -> str:
    """'Expired ID token' -> 'expired ID token'; 'ID token …' stays as it is."""
    return title if title[1:2].isupper() else title[:1].lower() + title[1:]


def advisory_note(why: str) -> str:
    return f" Advisory, not blocking: {why}." if why else ""


def _param(name: str) -> object:
    attack = ATTACKS[name]
    severity = "advisory" if name in ADVISORY_WHY else "blocking"
    return pytest.param(
        attack,
        id=name,
        marks=pytest.mark.oin(
            requirement="OIDC-TOKEN-VALIDATION", severity=severity, references=attack.references
        ),
    )


def hosted_fetches(token: str, site: AttackerSite) -> list[str]:
    """What the app fetched from the attacker's site for the URLs in ``token``'s header."""
    header = decode_unverified(token).get("header", {})
    lines = []
    for name in ("jku", "x5u"):
        url = header.get(name)
        if isinstance(url, str):
            lines += [f"{name} {url}: {f.describe()}" for f in site.fetches(url)]
    return lines


def delivered(oidc: OidcCheck, name: str) -> Observation | None:
    """The token request whose ID token went through the mutator ``name``, if any."""
    obs = oidc.token_observation()
    return obs if obs is not None and obs.details.get("mutator") == name else None


def not_delivered(oidc: OidcCheck, page: Page, what: str) -> Exception:
    return inconclusive(
        f"The {what} was not delivered",
        seen=f"The app did not fetch the {what} from the token endpoint, so the check "
        f"proves nothing.\nRequests the app made to Okta:\n{oidc.flow_summary()}"
        f"\n\n{page_excerpt(page)}",
        expected="the app redeems the code at the token endpoint (see oidc.sp_initiated_sign_in)",
        fix="Make the SP-initiated sign-in work first; then run this check again.",
    )


@pytest.mark.parametrize("attack", [_param(name) for name in ATTACKS])
def test_refuses_forged_id_token(
    oidc: OidcCheck, attack: TokenAttack, attacker_site: AttackerSite
) -> None:
    """A forged or misdirected ID token from the token endpoint does not sign anyone in."""
    oidc.require_control()
    oidc.op.arm(mutator=attack.mutator(attacker_site), mutator_name=attack.name)
    oidc.transcript.note(f"Attack: {attack.title}. Risk if accepted: {attack.risk}.")
    page = oidc.sign_in(hostile=True)
    obs = delivered(oidc, attack.name)
    if obs is None:
        raise not_delivered(oidc, page, "forged ID token")
    token = str(obs.details.get("id_token", ""))
    fetched = hosted_fetches(token, attacker_site)
    if fetched:
        oidc.transcript.note("The app fetched from the attacker's site:\n" + "\n".join(fetched))
    ok, probe = oidc.signed_in(hostile=True)
    if ok:
        followed = (
            "\n\nThe app fetched the attacker's key from the URL in the token:\n"
            + "\n".join(fetched)
            if fetched
            else ""
        )
        raise fail(
            f"The app accepts an {_lower_first(attack.title)}",
            seen=f"{oidc.user.username} is signed in after the app received this ID token:\n"
            f"{describe_token(token)}{followed}\n\nThe app's response to the callback: "
            f"{page_excerpt(page)}\nSigned-in probe: {page_excerpt(probe)}",
            expected="the sign-in is refused and nobody is signed in",
            fix=f"{attack.fix} Risk while this is open: {attack.risk}."
            + advisory_note(ADVISORY_WHY.get(attack.name, "")),
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


#: How long a check waits before a second try when the app did not fetch the keys again
#: at once: RP libraries rate-limit JWKS refetches (oauth4webapi, under openid-client 6,
#: refetches on an unknown kid only once its copy is 60 s old), and Okta publishes a new
#: key long before it signs with it, so an app that refetches after a minute handles every
#: real rotation.
REFETCH_COOLDOWN_S = 61.0


def _quirk_param(name: str) -> object:
    requirement, severity, _ = QUIRK_RULES[name]
    return pytest.param(
        QUIRKS[name],
        id=name,
        marks=pytest.mark.oin(
            requirement=requirement, severity=severity, references=QUIRKS[name].references
        ),
    )


@pytest.mark.parametrize("quirk", [_quirk_param(name) for name in QUIRKS])
def test_accepts_genuine_id_token(oidc: OidcCheck, quirk: Quirk, key_refetch: KeyRefetch) -> None:
    """A genuine ID token in a shape Okta may send signs the user in (a signing key rotated
    in just before signing, a key set with an entry no library parses, no kid beside a
    single published key: the OpenID Foundation's RP tests require all three)."""
    if not oidc.control().ok:
        pytest.skip("SP-initiated sign-in does not work; see oidc.sp_initiated_sign_in")
    oidc.browser.session.cookies.clear()
    fetched_before = len(oidc.op.seen("keys"))
    oidc.op.arm(
        mutator=quirk.mutate,
        mutator_name=quirk.name,
        jwks_edit=quirk.jwks_edit,
        rotate_before_signing=quirk.rotate_before_signing,
    )
    oidc.transcript.note(f"Okta sends: {quirk.title} ({quirk.why}).")
    page = oidc.sign_in(hostile=True)
    obs = delivered(oidc, quirk.name)
    ok, probe = oidc.signed_in(hostile=True)

    def refetched() -> bool:
        return len(oidc.op.seen("keys")) > fetched_before

    waited = False
    if obs is not None and not ok and quirk.needs_refetch and not refetched():
        if key_refetch.seen == "never":
            oidc.transcript.note(
                "The app did not fetch the keys again; an earlier check in this run waited "
                "out a refetch cooldown for it in vain, so this one does not wait again"
            )
        else:
            oidc.transcript.note(
                f"The app did not fetch the keys again at once; waiting {REFETCH_COOLDOWN_S:g}"
                " s (a JWKS refetch cooldown, as RP libraries keep) and trying once more"
            )
            time.sleep(REFETCH_COOLDOWN_S)
            waited = True
            oidc.browser.session.cookies.clear()
            oidc.op.arm(mutator=quirk.mutate, mutator_name=quirk.name)
            page = oidc.sign_in(hostile=True)
            obs = delivered(oidc, quirk.name)
            ok, probe = oidc.signed_in(hostile=True)
    if quirk.name == "key_rotation" and obs is not None:
        key_refetch.seen = ("after_cooldown" if waited else "at_once") if refetched() else "never"
    if obs is None:
        raise not_delivered(oidc, page, f"genuine ID token ({quirk.title})")
    if ok:
        if waited:
            oidc.transcript.note(
                "Signed in on the second try: the app fetches the keys again on an unknown "
                "kid after a cooldown"
            )
        return
    token = str(obs.details.get("id_token", ""))
    seen = (
        f"ID token Okta issued:\n{describe_token(token)}\n\nKey sets the app fetched during "
        f"this check: {_keys_fetched(oidc, fetched_before)}\n"
        f"The app's response to the callback: {page_excerpt(page)}\n"
        f"Signed-in probe: {page_excerpt(probe)}"
    )
    if not refetched():
        if quirk.needs_refetch and quirk.name == "key_rotation":
            raise fail(
                "Sign-in fails after Okta rotates its signing key",
                seen=f"{seen}\n\nJWKS fetched again after the rotation: no (also not after "
                f"{REFETCH_COOLDOWN_S:g} s)",
                expected="the app fetches the JWKS again on an unknown kid (at once, or after "
                "a cooldown of up to a minute) and signs the user in",
                fix=quirk.fix,
            )
        why, fix = _why_not_fetched(quirk, key_refetch)
        raise inconclusive(
            f"The app never fetched the key set of this check ({quirk.title})",
            seen=f"{seen}\n\n{why}",
            expected="the app fetches Okta's keys again and signs the user in",
            fix=fix,
        )
    raise fail(
        f"Sign-in fails for a genuine {_lower_first(quirk.title)}",
        seen=seen,
        expected=f"the user is signed in ({quirk.why})",
        fix=quirk.fix + advisory_note(QUIRK_RULES[quirk.name][2]),
    )


def _keys_fetched(oidc: OidcCheck, before: int) -> str:
    fetched = oidc.op.seen("keys")[before:]
    if not fetched:
        return "none"
    return "; ".join(
        "[" + ", ".join(str(k) for k in o.details.get("kids", [])) + "]" for o in fetched
    )


def _why_not_fetched(quirk: Quirk, key_refetch: KeyRefetch) -> tuple[str, str]:
    """Why a refusal without a key fetch proves nothing here, and what to do about it."""
    if quirk.needs_refetch:
        return (
            "The app did not fetch the keys again, so the key set with this check's change "
            "never reached it; whether it follows a rotation at all is the key_rotation check"
            + (" (which found it never does)" if key_refetch.seen == "never" else "")
            + ".",
            "Make oidc.accepts_genuine_id_token[key_rotation] pass first; then run this check "
            "again.",
        )
    return (
        "The app kept the key set it had fetched earlier, which holds several keys; with "
        "several keys a token without kid may be refused (OIDC Core §10.1), so this says "
        "nothing about a single published key.",
        "Nothing to fix: with the several keys the app had cached, refusing a token "
        "without kid is allowed. This check can judge only an app that fetches the keys "
        "again when a token names no kid (as Authlib's client does).",
    )
