"""OIDC sign-in as Okta's org authorization server drives it: org server only, the
SP-initiated code flow (authorize and token requests checked), third-party-initiated login,
no reliance on email_verified, and JIT provisioning. Facts: reference/oidc.md §1–§2."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

import pytest

from oin_conformance.failures import fail, inconclusive
from oin_conformance.roles.browser import Page
from oin_conformance.roles.oidc import Observation, OktaUser

from .flow import ORG_AS_FIX, OidcCheck, custom_issuer_problem, page_excerpt

AUTHZ_FIX = (
    "Send the user to {issuer}/oauth2/v1/authorize with response_type=code, your client_id, "
    "a redirect_uri registered in Okta exactly as sent, a fresh unguessable state bound to "
    "the browser session, and a scope containing openid (e.g. 'openid email profile')."
)


def _authorize(oidc: OidcCheck) -> Observation:
    obs = oidc.op.last("authorize")
    if obs is None:
        raise fail(
            "The app never sent the user to Okta's authorize endpoint",
            seen=f"{oidc.transcript.summary()}\n\nRequests the app made to Okta:\n"
            f"{oidc.flow_summary()}",
            expected=f"a redirect from {oidc.url(oidc.target.login_url)} to "
            f"{oidc.op.issuer}/oauth2/v1/authorize?...",
            fix="Make [oidc] login_url start the OIDC sign-in (redirect to the authorize "
            "endpoint found in the issuer's discovery document).",
        )
    return obs


def _signed_in_or_fail(
    oidc: OidcCheck, title: str, user: OktaUser | None = None, landing: Page | None = None
) -> None:
    """Fail unless the probe names the user (``landing``: where the sign-in ended)."""
    ok, probe = oidc.signed_in(user, landing=landing)
    if not ok:
        who = (user or oidc.user).username
        raise fail(
            title,
            seen=f"{who} is not signed in after the flow.\n"
            f"Signed-in probe: {page_excerpt(probe)}\n\n"
            f"Requests the app made to Okta:\n{oidc.flow_summary()}\n\n"
            f"ID token Okta issued:\n{oidc.issued_token()}",
            expected=f"the probe {oidc.url(oidc.probe.url)} answers {oidc.probe.status} and "
            f"shows {oidc.probe.expected_text((user or oidc.user).fields())!r}",
            fix="Follow the transcript: the callback must redeem the code at the token "
            "endpoint, validate the ID token, read the profile from /userinfo, and start a "
            "session for the user.",
        )


@pytest.mark.oin(requirement="OIDC-ORG-AS", severity="blocking")
def test_uses_org_authorization_server(oidc_any: OidcCheck) -> None:
    """The app uses Okta's org authorization server; custom servers (`default`) are not allowed."""
    oidc = oidc_any
    problem = custom_issuer_problem(oidc.target.issuer)
    if problem:
        raise fail(
            "The app is configured for a custom authorization server",
            seen=f"[oidc] {problem}",
            expected=f"issuer = the bare org URL, here {oidc.op.issuer}",
            fix=ORG_AS_FIX,
        )
    page = oidc.sign_in()
    used = oidc.op.custom_server_requests()
    reached = oidc.op.last("authorize") is not None or bool(used)
    elsewhere = page.blocked_redirect or ""
    if not reached and elsewhere and urlsplit(elsewhere).scheme in ("http", "https"):
        base = elsewhere.split("?")[0]
        base = base.split("/oauth2/v1/")[0] if "/oauth2/v1/" in base else base.split("/v1/")[0]
        server = custom_issuer_problem(base)
        raise fail(
            "The app sends users to another authorization server",
            seen=f"GET {oidc.url(oidc.target.login_url)} redirected the browser to {elsewhere}"
            + (f" ({server})" if server else "")
            + f"; no authorize request reached this org ({oidc.op.issuer})",
            expected=f"a redirect to {oidc.op.issuer}/oauth2/v1/authorize",
            fix=ORG_AS_FIX,
        )
    if not reached:
        raise inconclusive(
            "The sign-in never reached Okta, so the authorization server it uses is unknown",
            seen=f"{page_excerpt(page)}\n\nRequests the app made to Okta:\n{oidc.flow_summary()}",
            expected=f"the app's sign-in at {oidc.url(oidc.target.login_url)} sends the user "
            f"to {oidc.op.issuer}/oauth2/v1/authorize",
            fix="Make [oidc] login_url start the OIDC sign-in; then run this check again.",
        )
    if used:
        paths = sorted({f"{o.method} {o.path}" for o in used})
        servers = sorted({o.server for o in used})
        raise fail(
            "The app uses a custom authorization server"
            + (" (`default`)" if servers == ["default"] else ""),
            seen="Requests to custom authorization servers:\n" + "\n".join(paths),
            expected=f"only the org server: {oidc.op.issuer}/.well-known/openid-configuration "
            f"and {oidc.op.issuer}/oauth2/v1/...",
            fix=ORG_AS_FIX,
        )


@pytest.mark.submission_tester("sp_flow")
@pytest.mark.oin(requirement="OIDC-SP-FLOW", severity="blocking")
def test_sp_initiated_sign_in(oidc: OidcCheck) -> None:
    """A user who starts at the app's sign-in URL ends up signed in (authorization code flow)."""
    page = oidc.sign_in()
    _authorize(oidc)
    _signed_in_or_fail(oidc, "SP-initiated sign-in does not sign the user in", landing=page)


@pytest.mark.oin(requirement="OIDC-AUTHZ-REQUEST", severity="blocking")
def test_authorize_request_is_one_okta_accepts(oidc: OidcCheck) -> None:
    """The authorize request uses the code flow, the client id, a registered redirect URI, state
    and the openid scope."""
    oidc.sign_in()
    obs = _authorize(oidc)
    p = obs.params
    problems: list[str] = []
    if p.get("response_type") != "code":
        problems.append(f"response_type={p.get('response_type')!r} (expected 'code')")
    if p.get("client_id") != oidc.op.client_id:
        problems.append(f"client_id={p.get('client_id')!r} (expected {oidc.op.client_id!r})")
    registered = oidc.op.redirect_uris()
    if p.get("redirect_uri") not in registered:
        problems.append(
            f"redirect_uri={p.get('redirect_uri')!r} is not registered exactly (registered: "
            f"{', '.join(registered)}); Okta shows a 400 error page and never redirects"
        )
    if not p.get("state"):
        problems.append("no state (Okta requires it on every authorize request)")
    if "openid" not in p.get("scope", "").split():
        problems.append(f"scope={p.get('scope')!r} lacks 'openid'")
    outcome = str(obs.details.get("outcome", ""))
    if not outcome.startswith("code issued"):
        problems.append(f"Okta refused the request: {outcome}")
    if problems:
        raise fail(
            "The authorize request is not one Okta accepts",
            seen=f"{obs.method} {obs.path}?"
            + "&".join(f"{k}={v}" for k, v in p.items())
            + "\n\n- "
            + "\n- ".join(problems),
            expected="response_type=code, client_id, a registered redirect_uri, state, "
            "scope with openid",
            fix=AUTHZ_FIX.format(issuer=oidc.op.issuer),
        )


@pytest.mark.oin(requirement="OIDC-AUTHZ-REQUEST", severity="advisory")
def test_authorize_request_sends_nonce(oidc: OidcCheck) -> None:
    """The authorize request carries a nonce, which the app then checks in the ID token."""
    oidc.sign_in()
    obs = _authorize(oidc)
    if not obs.params.get("nonce"):
        raise fail(
            "The authorize request carries no nonce",
            seen=f"authorize parameters: {', '.join(sorted(obs.params))}",
            expected="a fresh nonce per sign-in",
            fix="Send a random nonce with each authorize request, keep it in the session and "
            "compare it with the ID token's nonce claim (it binds the token to this sign-in).",
        )


@pytest.mark.oin(requirement="OIDC-AUTHZ-REQUEST", severity="advisory")
def test_authorize_request_uses_pkce_s256(oidc: OidcCheck) -> None:
    """The authorize request uses PKCE with S256 (recommended; the only method Okta accepts)."""
    oidc.sign_in()
    obs = _authorize(oidc)
    method = obs.params.get("code_challenge_method")
    if not obs.params.get("code_challenge") or method != "S256":
        raise fail(
            "The authorize request does not use PKCE (S256)",
            seen=f"code_challenge={'present' if obs.params.get('code_challenge') else 'absent'}"
            f", code_challenge_method={method!r}",
            expected="code_challenge with code_challenge_method=S256",
            fix="Add PKCE: a random code_verifier per sign-in, its S256 challenge on the "
            "authorize request and the verifier on the token request (RFC 9700 recommends it "
            "for confidential clients too; Okta accepts only S256).",
        )


@pytest.mark.oin(requirement="OIDC-TOKEN-REQUEST", severity="blocking")
def test_token_request_authenticates_the_client(oidc: OidcCheck) -> None:
    """The app redeems the code at /oauth2/v1/token with its client id and secret."""
    oidc.sign_in()
    _authorize(oidc)
    obs = oidc.token_observation()
    if obs is None:
        raise fail(
            "The app never redeemed the authorization code",
            seen=f"Requests the app made to Okta:\n{oidc.flow_summary()}\n\n"
            f"{oidc.transcript.summary()}",
            expected=f"POST {oidc.op.issuer}/oauth2/v1/token with grant_type=authorization_code",
            fix="In the redirect URI handler, exchange the code at the token endpoint from the "
            "discovery document.",
        )
    d = obs.details
    if d.get("error"):
        raise fail(
            "Okta refused the app's token request",
            seen=f"client authentication: {d.get('client_auth')}\nredirect_uri: "
            f"{d.get('redirect_uri')!r}\nPKCE verifier sent: {d.get('code_verifier')}\n"
            f"Okta answered: {d['error']}",
            expected="client_secret_basic (Okta's default) or client_secret_post with the "
            "client's id and secret, and the same redirect_uri as on the authorize request",
            fix="Authenticate with HTTP Basic (client_id:client_secret) or in the form body, "
            "never both and never neither; send the exact redirect_uri and the PKCE verifier.",
        )


@pytest.mark.oin(requirement="OIDC-NO-REFRESH-TOKENS", severity="blocking")
def test_does_not_ask_for_refresh_tokens(oidc: OidcCheck) -> None:
    """The app asks for no refresh token: no `offline_access` scope, no refresh_token grant.

    The OIN rule (Okta's OIN submission requirements, "OIDC/OAuth 2.0 integration
    limitations"): an OIDC integration uses the org authorization server only, and refresh
    tokens and the `offline_access` scope are not supported there. Okta's org server answers
    an OIN app's `offline_access` with `invalid_scope` and its refresh-token grant with
    `unauthorized_client`, so an app that asks signs nobody in at a customer's org; Okta's
    review sends such a submission back. Facts: reference/oidc.md §1.4, §2.1.
    """
    oidc.sign_in()
    obs = _authorize(oidc)
    asked = "offline_access" in obs.params.get("scope", "").split()
    refreshes = [o for o in oidc.op.seen("token") if o.details.get("grant_type") == "refresh_token"]
    if asked or refreshes:
        seen = []
        if asked:
            seen.append(
                f"{obs.method} {obs.path} with scope={obs.params.get('scope')!r}\n"
                f"Okta answered: {obs.details.get('outcome', '')}"
            )
        if refreshes:
            seen.append(f"{len(refreshes)} token request(s) with grant_type=refresh_token")
        raise fail(
            "The app asks for refresh tokens, which the OIN does not support",
            seen="\n".join(seen),
            expected="an authorize request without offline_access (e.g. scope='openid email "
            "profile') and no refresh_token grant",
            fix="Drop offline_access from the requested scopes and do not use refresh tokens: "
            "keep the user's session in the app, and send the user to Okta's authorize endpoint "
            "again when it expires (Okta signs them in silently while their Okta session lasts). "
            "Okta's org authorization server, the only one the OIN allows, refuses "
            "offline_access to OIN integrations.",
        )


@pytest.mark.submission_tester("idp_flow")
@pytest.mark.oin(requirement="OIDC-IDP-FLOW", severity="blocking")
def test_third_party_initiated_sign_in(oidc: OidcCheck) -> None:
    """Opening the app from the Okta dashboard (initiate login URI with iss) signs the user in."""
    if not oidc.target.initiate_login_uri:
        pytest.skip("no [oidc] initiate_login_uri: the app is not launched from the dashboard")
    page = _launch_from_dashboard(oidc)
    _signed_in_or_fail(
        oidc, "Sign-in started from the Okta dashboard does not sign the user in", landing=page
    )


def _launch_from_dashboard(oidc: OidcCheck) -> Page:
    """Open the initiate login URI as Okta's dashboard does; fail if no sign-in starts.
    Returns where the sign-in ended."""
    page = oidc.initiate(oidc.op.issuer)
    started = oidc.op.last("authorize")
    if started is None:
        raise fail(
            "The initiate login URI does not start a sign-in at Okta",
            seen=f"GET {oidc.url(oidc.target.initiate_login_uri or '')}?iss={oidc.op.issuer}\n"
            f"{page_excerpt(page)}",
            expected=f"a redirect to {oidc.op.issuer}/oauth2/v1/authorize with a fresh state",
            fix="Serve the initiate login URI: on GET (or POST) with iss equal to your "
            "configured issuer, start the normal authorization code flow against that issuer "
            "(OIDC Core §4). Okta sends only iss: do not require target_link_uri.",
        )
    return page


@pytest.mark.parametrize(
    "email_verified",
    [
        pytest.param(None, id="absent", marks=pytest.mark.oin(
            requirement="OIDC-EMAIL-VERIFIED", severity="blocking")),
        pytest.param(False, id="false", marks=pytest.mark.oin(
            requirement="OIDC-EMAIL-VERIFIED", severity="advisory")),
    ],
)  # fmt: skip
def test_signs_in_without_email_verified(oidc: OidcCheck, email_verified: bool | None) -> None:
    """The app signs the user in whatever email_verified says (the OIN: do not rely on it)."""
    oidc.op.arm(email_verified=email_verified)
    page = oidc.sign_in()
    shown = "left out of" if email_verified is None else "false in"
    oidc.transcript.note(f"email_verified is {shown} /userinfo and the ID token")
    ok, probe = oidc.signed_in(landing=page)
    if not ok:
        state = "absent" if email_verified is None else "false"
        raise fail(
            f"Sign-in fails when email_verified is {state}",
            seen=f"email_verified {shown} /userinfo (Okta's code-flow ID token never has it).\n"
            f"Signed-in probe: {page_excerpt(probe)}\n\nRequests the app made to Okta:\n"
            f"{oidc.flow_summary()}",
            expected="the user is signed in",
            fix="Do not require email_verified: each customer's Okta admin controls user "
            "emails. Link accounts on (issuer, sub), not on a 'verified' email.",
        )


def _newcomer(oidc: OidcCheck) -> OktaUser:
    """A user the app has never seen (this run's id and fresh random digits), armed as the
    user Okta signs in next."""
    tag = f"{oidc.ctx.run_id}{secrets.token_hex(3)}"
    newcomer = OktaUser(
        username=f"jit-{tag}@example.com",
        email=f"jit-{tag}@example.com",
        first_name="Grace",
        last_name=f"Hopper{tag}",
    )
    oidc.op.arm(user=newcomer)
    oidc.transcript.note(f"Okta signs in a new user: {newcomer.username}")
    return newcomer


@pytest.mark.submission_tester("jit_sp_flow")
@pytest.mark.oin(requirement="OIDC-JIT", severity="blocking")
def test_jit_creates_a_new_user_at_first_sign_in(oidc: OidcCheck) -> None:
    """A user the app has never seen signs in and gets an account (JIT provisioning)."""
    if not oidc.target.jit:
        pytest.skip("[oidc] jit = false: the app does not claim JIT provisioning")
    newcomer = _newcomer(oidc)
    page = oidc.sign_in()
    _signed_in_or_fail(
        oidc, "A new user is not created at first sign-in (JIT)", newcomer, landing=page
    )


@pytest.mark.submission_tester("jit_idp_flow")
@pytest.mark.oin(requirement="OIDC-JIT", severity="blocking")
def test_jit_creates_a_new_user_from_the_okta_dashboard(oidc: OidcCheck) -> None:
    """A user the app has never seen, launched from the Okta dashboard, gets an account.

    Okta's OIN Submission Tester runs "JIT provisioning (with IdP flow)" for an app that
    supports JIT and the IdP flow: a new Okta user opens the app's tile, and Okta calls the
    initiate login URI with ``iss``; the app starts the code flow and creates the user.
    """
    if not oidc.target.jit:
        pytest.skip("[oidc] jit = false: the app does not claim JIT provisioning")
    if not oidc.target.initiate_login_uri:
        pytest.skip("no [oidc] initiate_login_uri: the app is not launched from the dashboard")
    newcomer = _newcomer(oidc)
    page = _launch_from_dashboard(oidc)
    _signed_in_or_fail(
        oidc,
        "A new user launched from the Okta dashboard is not created (JIT)",
        newcomer,
        landing=page,
    )
