"""Universal Logout that must work: Okta's signed Global Token Revocation request ends the
test user's sessions in the app (through each sign-in protocol and subject format the
target claims), and revokes their refresh tokens. Facts: reference/oidc.md §2.6, saml.md
"Universal Logout", Okta's guide "Build Universal Logout for your app"."""

from __future__ import annotations

import pytest

from oin_conformance.failures import fail, inconclusive
from oin_conformance.roles.browser import BrowserError
from oin_conformance.roles.universal_logout import (
    SubjectFormat,
    Via,
    fetch_refresh_token,
    redeem_refresh_token,
    refreshed,
)

from .flow import LogoutCheck

COMBINATIONS = [
    pytest.param(via, fmt, id=f"{via}-{fmt}")
    for via in ("oidc", "saml")
    for fmt in ("email", "iss_sub")
]


@pytest.mark.parametrize(("via", "fmt"), COMBINATIONS)
@pytest.mark.oin(requirement="UL-LOGOUT", severity="blocking")
def test_ends_user_sessions(ul: LogoutCheck, via: Via, fmt: SubjectFormat) -> None:
    """Okta's logout request for the signed-in test user is answered 204 and ends their
    session in the app (for each sign-in protocol and subject format the target claims)."""
    ul.require(via, fmt)
    if ul.target.partial_support:
        pytest.skip(
            "partial support claimed ([universal_logout] partial_support = true): the app "
            "revokes only refresh tokens and sessions last until they expire; "
            "universal_logout.revokes_refresh_tokens checks that"
        )
    session = ul.sign_in(via)
    request, answer = ul.logout(via, fmt)
    ok, probe = ul.still_signed_in(session)
    if ok:
        raise fail(
            "The app answers 204 to Okta's logout request but the user is still signed in",
            seen=f"{ul.user()['username']} is still signed in (signed in through "
            f"{session.how}) after:\n{ul.seen(request, answer, probe)}",
            expected="every session of the user ends: the signed-in probe no longer names "
            "them; 204 means 'logged out' to Okta",
            fix="On a valid request, revoke every session (server-side session records, not "
            "only a cookie) and refresh token of the user before answering 204; answer 422 "
            "when the user cannot be logged out. If the app supports only refresh-token "
            "revocation, claim partial support (partial_support = true) as in the OIN Wizard.",
        )


@pytest.mark.oin(requirement="UL-REFRESH-TOKENS", severity="blocking")
def test_revokes_refresh_tokens(ul: LogoutCheck) -> None:
    """After Okta's logout request, the user's refresh tokens no longer work (RFC 6749 §6:
    the app refuses to redeem them), also when the app claims only partial support."""
    probe = ul.target.refresh_token
    if probe is None:
        if ul.target.partial_support:
            raise inconclusive(
                "Partial support revokes only refresh tokens, which the harness cannot observe",
                seen="[universal_logout] partial_support = true, and the target does not say "
                "how to obtain and redeem one of the app's refresh tokens",
                expected="a [universal_logout.refresh_token] table (issue_url, token_url)",
                fix="Add [universal_logout.refresh_token]: a URL that gives the signed-in user "
                "a refresh token (JSON), and the token endpoint that redeems it.",
            )
        pytest.skip(
            "not claimed: the target has no [universal_logout.refresh_token] (how the app "
            "issues a refresh token to the signed-in user), so none is observed"
        )
    via = ul.primary()
    session = ul.sign_in(via)
    issue, token_url = ul.ctx.url(probe.issue_url), ul.ctx.url(probe.token_url)
    secret = probe.client_secret.get_secret_value() if probe.client_secret else ""

    def redeem(token: str, note: str) -> tuple[bool, str | None, str]:
        try:
            answer = redeem_refresh_token(
                token_url,
                token,
                ul.transcript,
                timeout=ul.ctx.timeout,
                client_id=probe.client_id,
                client_secret=secret,
                note=note,
            )
        except BrowserError as exc:
            raise inconclusive(
                "The app's token endpoint did not answer",
                seen=str(exc),
                expected=f"an answer from {token_url}",
                fix="Correct [universal_logout.refresh_token] token_url; then run again.",
            ) from None
        ok, rotated = refreshed(answer)
        return (
            ok,
            rotated,
            f"POST {token_url} (grant_type=refresh_token) -> {answer.describe_token_answer()}",
        )

    try:
        token, how = fetch_refresh_token(session.browser, issue, probe.json_pointer)
    except BrowserError as exc:
        token, how = None, str(exc)
    if token is None:
        raise inconclusive(
            "No refresh token could be obtained for the signed-in user",
            seen=f"GET {issue}: {how}",
            expected=f"JSON with a refresh token at {probe.json_pointer}",
            fix="Correct [universal_logout.refresh_token] issue_url / json_pointer.",
        )
    ok, rotated, seen_before = redeem(token, "control: a fresh refresh token is redeemed")
    if not ok:
        raise inconclusive(
            "A fresh refresh token does not work either, so its refusal after logout would "
            "prove nothing",
            seen=seen_before,
            expected="HTTP 200 with an access_token (RFC 6749 §5.1) before the logout",
            fix="Correct [universal_logout.refresh_token] (token_url, client_id, "
            "client_secret); then run again.",
        )
    token = rotated or token
    _, answer = ul.logout(via, ul.formats[0])
    still, _, seen_after = redeem(token, "the same refresh token, after Okta's logout request")
    if still:
        raise fail(
            "The user's refresh token still works after Universal Logout",
            seen=f"before: {seen_before}\nlogout: POST {ul.endpoint} -> {answer.describe()}\n"
            f"after: {seen_after}",
            expected="the token endpoint refuses the refresh token after the logout "
            "(RFC 6749 §5.2: HTTP 400 invalid_grant)",
            fix="On a valid logout request, revoke every refresh token of the user (Okta: "
            "'the app should revoke all OAuth 2.0 refresh tokens for the user').",
        )
    ul.transcript.note(f"After the logout the refresh token was refused: {seen_after}")
