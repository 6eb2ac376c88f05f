"""Unit tests of the Okta org authorization server role and the token mutators (no plugin)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import KeySet

from oin_conformance.attacks.oidc import ATTACKS, OTHER_CLIENT, OTHER_ORG, wrong_state
from oin_conformance.roles.oidc_op import (
    OktaOrgOP,
    OktaUser,
    OPError,
    decode_unverified,
    op_info,
)
from oin_conformance.state import StateFolder
from oin_conformance.target import load

CLIENT_ID = "0oa1unittestclient00"
SECRET = "unit-test-client-secret-value"
CALLBACK = "http://127.0.0.1:9/oidc/callback"
ADA = OktaUser("ada@example.com", "ada@example.com", "Ada", "Lovelace")


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> StateFolder:
    return StateFolder(tmp_path_factory.mktemp("state"))


@pytest.fixture(scope="module")
def op(state: StateFolder) -> Iterator[OktaOrgOP]:
    server = OktaOrgOP(
        keys=[state.keypair("op", "op"), state.keypair("op-next", "next")],
        client_id=CLIENT_ID,
        client_secret=SECRET,
        redirect_uris=[CALLBACK],
        post_logout_redirect_uris=["http://127.0.0.1:9/bye"],
        user=ADA,
    ).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _honest(op: OktaOrgOP) -> None:
    op.reset()


def authorize(op: OktaOrgOP, base: str = "/oauth2/v1", **overrides: str) -> requests.Response:
    params = {
        "client_id": CLIENT_ID,
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": "openid email profile",
        "state": "st-1",
        "nonce": "n-1",
    }
    params.update(overrides)
    params = {k: v for k, v in params.items() if v != ""}
    return requests.get(
        op.url + base + "/authorize", params=params, allow_redirects=False, timeout=5
    )


def callback_params(resp: requests.Response) -> dict[str, str]:
    assert resp.status_code == 302, resp.text
    query = parse_qs(urlsplit(resp.headers["Location"]).query)
    return {k: v[0] for k, v in query.items()}


def redeem(op: OktaOrgOP, code: str, base: str = "/oauth2/v1", **extra: str) -> requests.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, **extra}
    return requests.post(op.url + base + "/token", data=data, auth=(CLIENT_ID, SECRET), timeout=5)


def sign_in(op: OktaOrgOP, **overrides: str) -> dict[str, Any]:
    code = callback_params(authorize(op, **overrides))["code"]
    resp = redeem(op, code)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def keyset(op: OktaOrgOP) -> KeySet:
    return KeySet.import_key_set(requests.get(op.url + "/oauth2/v1/keys", timeout=5).json())


# --- discovery and keys ---------------------------------------------------------------------


def test_discovery_is_shaped_like_an_okta_org_server(op: OktaOrgOP) -> None:
    doc = requests.get(op.url + "/.well-known/openid-configuration", timeout=5).json()
    assert doc["issuer"] == op.url
    assert urlsplit(doc["issuer"]).path == ""
    for name, path in {
        "authorization_endpoint": "authorize",
        "token_endpoint": "token",
        "userinfo_endpoint": "userinfo",
        "jwks_uri": "keys",
        "end_session_endpoint": "logout",
    }.items():
        assert doc[name] == f"{op.url}/oauth2/v1/{path}"
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert "authorization_response_iss_parameter_supported" not in doc
    assert {"client_secret_basic", "client_secret_post"} <= set(
        doc["token_endpoint_auth_methods_supported"]
    )


def test_keys_have_unique_thumbprint_kids(op: OktaOrgOP) -> None:
    resp = requests.get(op.url + "/oauth2/v1/keys", timeout=5)
    keys = resp.json()["keys"]
    assert len(keys) == 2
    assert len({k["kid"] for k in keys}) == 2
    assert all(k["alg"] == "RS256" and k["use"] == "sig" and len(k["kid"]) == 43 for k in keys)
    assert "max-age" in resp.headers["Cache-Control"]
    assert op.seen("keys")


def test_same_state_folder_gives_the_same_kid(state: StateFolder, op: OktaOrgOP) -> None:
    again = OktaOrgOP(
        keys=[state.keypair("op", "op")],
        client_id=CLIENT_ID,
        client_secret=SECRET,
        redirect_uris=[CALLBACK],
        user=ADA,
    )
    assert again.signing_key.kid == op.signing_key.kid


# --- authorize --------------------------------------------------------------------------------


def test_authorize_signs_the_user_in_and_redirects_with_code_and_state(op: OktaOrgOP) -> None:
    resp = authorize(op)
    params = callback_params(resp)
    assert resp.headers["Location"].startswith(CALLBACK + "?")
    assert params["state"] == "st-1" and params["code"]
    assert "iss" not in params  # Okta does not send RFC 9207 iss
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    obs = op.last("authorize")
    assert obs is not None and obs.params["nonce"] == "n-1" and obs.server == "org"


def test_unregistered_redirect_uri_gets_an_error_page_not_a_redirect(op: OktaOrgOP) -> None:
    resp = authorize(op, redirect_uri="http://127.0.0.1:9/oidc/callback/")
    assert resp.status_code == 400
    assert "Location" not in resp.headers
    assert "must be a Login redirect URI" in resp.text


def test_state_is_required(op: OktaOrgOP) -> None:
    params = callback_params(authorize(op, state=""))
    assert params["error"] == "invalid_request"
    assert "code" not in params


def test_pkce_plain_is_refused(op: OktaOrgOP) -> None:
    params = callback_params(authorize(op, code_challenge="abc", code_challenge_method="plain"))
    assert params["error"] == "invalid_request"


def test_form_post_response_mode_gives_an_autopost_form(op: OktaOrgOP) -> None:
    resp = authorize(op, response_mode="form_post")
    assert resp.status_code == 200
    assert 'name="code"' in resp.text and f'action="{CALLBACK}"' in resp.text


def test_armed_callback_state_is_sent_once(op: OktaOrgOP) -> None:
    forged = wrong_state()
    op.arm(callback_state=forged)
    assert callback_params(authorize(op))["state"] == forged
    assert callback_params(authorize(op))["state"] == "st-1"


# --- token ------------------------------------------------------------------------------------


def test_token_response_and_thin_id_token(op: OktaOrgOP) -> None:
    body = sign_in(op)
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    token = jwt.decode(body["id_token"], keyset(op), ["RS256"])
    assert token.header == {"kid": op.signing_key.kid, "alg": "RS256"}
    claims = token.claims
    assert claims["iss"] == op.url
    assert claims["aud"] == CLIENT_ID  # a string, as Okta sends it
    assert claims["nonce"] == "n-1"
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["jti"].startswith("ID.") and claims["sub"].startswith("00u")
    assert claims["preferred_username"] == ADA.username
    assert claims["email"] == ADA.email
    for fat in ("given_name", "family_name", "email_verified"):
        assert fat not in claims  # thin token: those come from /userinfo
    digest = hashlib.sha256(body["access_token"].encode()).digest()[:16]
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest).decode().rstrip("=")
    obs = op.last("token")
    assert obs is not None and obs.details["client_auth"] == "client_secret_basic"


def test_client_secret_post_is_accepted(op: OktaOrgOP) -> None:
    code = callback_params(authorize(op))["code"]
    resp = requests.post(
        op.url + "/oauth2/v1/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
        },
        timeout=5,
    )
    assert resp.status_code == 200
    obs = op.last("token")
    assert obs is not None and obs.details["client_auth"] == "client_secret_post"
    assert obs.params["client_secret"] == "[present]"


@pytest.mark.parametrize(
    ("auth", "status", "error"),
    [
        (None, 401, "invalid_client"),
        ((CLIENT_ID, "wrong"), 401, "invalid_client"),
    ],
    ids=["no credentials", "wrong secret"],
)
def test_token_request_without_valid_client_auth_is_refused(
    op: OktaOrgOP, auth: tuple[str, str] | None, status: int, error: str
) -> None:
    code = callback_params(authorize(op))["code"]
    resp = requests.post(
        op.url + "/oauth2/v1/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK},
        auth=auth,
        timeout=5,
    )
    assert resp.status_code == status
    assert resp.json()["error"] == error


def test_code_is_single_use_and_bound_to_redirect_uri(op: OktaOrgOP) -> None:
    code = callback_params(authorize(op))["code"]
    bad = redeem(op, code, redirect_uri="http://127.0.0.1:9/other")
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"
    again = redeem(op, code)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_pkce_s256_is_verified(op: OktaOrgOP) -> None:
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    )
    code = callback_params(authorize(op, code_challenge=challenge, code_challenge_method="S256"))[
        "code"
    ]
    assert redeem(op, code, code_verifier="wrong-" + verifier).status_code == 400
    code = callback_params(authorize(op, code_challenge=challenge, code_challenge_method="S256"))[
        "code"
    ]
    assert redeem(op, code, code_verifier=verifier).status_code == 200


# --- userinfo and email_verified ----------------------------------------------------------


def test_userinfo_has_the_full_profile(op: OktaOrgOP) -> None:
    body = sign_in(op)
    info = requests.get(
        op.url + "/oauth2/v1/userinfo",
        headers={"Authorization": f"Bearer {body['access_token']}"},
        timeout=5,
    ).json()
    assert info["given_name"] == "Ada" and info["family_name"] == "Lovelace"
    assert info["email_verified"] is True
    assert info["sub"] == decode_unverified(body["id_token"])["claims"]["sub"]


@pytest.mark.parametrize("value", [None, False])
def test_email_verified_can_be_left_out_or_false(op: OktaOrgOP, value: bool | None) -> None:
    op.arm(email_verified=value)
    body = sign_in(op)
    info = requests.get(
        op.url + "/oauth2/v1/userinfo",
        headers={"Authorization": f"Bearer {body['access_token']}"},
        timeout=5,
    ).json()
    assert info.get("email_verified", "absent") == ("absent" if value is None else value)


def test_userinfo_refuses_a_bad_token(op: OktaOrgOP) -> None:
    resp = requests.get(
        op.url + "/oauth2/v1/userinfo", headers={"Authorization": "Bearer nope"}, timeout=5
    )
    assert resp.status_code == 401
    assert 'error="invalid_token"' in resp.headers["WWW-Authenticate"]


# --- custom authorization servers ---------------------------------------------------------


def test_default_server_is_answered_and_recorded(op: OktaOrgOP) -> None:
    doc = requests.get(op.url + "/oauth2/default/.well-known/openid-configuration", timeout=5)
    assert doc.json()["issuer"] == op.url + "/oauth2/default"
    code = callback_params(authorize(op, base="/oauth2/default/v1"))["code"]
    body = redeem(op, code, base="/oauth2/default/v1").json()
    assert decode_unverified(body["id_token"])["claims"]["iss"] == op.url + "/oauth2/default"
    servers = {o.server for o in op.custom_server_requests()}
    assert servers == {"default"}


def test_unknown_custom_server_is_not_found(op: OktaOrgOP) -> None:
    resp = requests.get(
        op.url + "/oauth2/aus9o8wzkhckw9TLa0h7/.well-known/openid-configuration", timeout=5
    )
    assert resp.status_code == 404
    assert resp.json()["errorCode"] == "E0000007"
    assert op.custom_server_requests()[0].server == "aus9o8wzkhckw9TLa0h7"


# --- problems on the server thread ----------------------------------------------------------


def test_server_thread_errors_reach_the_test_thread(op: OktaOrgOP) -> None:
    def broken(parts: Any) -> str:
        raise RuntimeError("mutator exploded")

    op.arm(mutator=broken)
    code = callback_params(authorize(op))["code"]
    assert redeem(op, code).status_code == 500
    with pytest.raises(OPError, match="mutator exploded"):
        op.check()


def test_public_url_with_a_path_is_refused(state: StateFolder) -> None:
    with pytest.raises(OPError, match="has a path"):
        OktaOrgOP(
            keys=[state.keypair("op", "op")],
            client_id=CLIENT_ID,
            client_secret=SECRET,
            redirect_uris=[CALLBACK],
            user=ADA,
            public_url="https://example.okta.com/oauth2/default",
        )


# --- mutators ---------------------------------------------------------------------------------


def forged(op: OktaOrgOP, name: str) -> dict[str, Any]:
    op.arm(mutator=ATTACKS[name].mutate, mutator_name=name)
    body = sign_in(op)
    obs = op.last("token")
    assert obs is not None and obs.details["mutator"] == name
    return body


def test_bad_signature_does_not_verify_but_claims_are_intact(op: OktaOrgOP) -> None:
    token = forged(op, "bad_signature")["id_token"]
    with pytest.raises(BadSignatureError):
        jwt.decode(token, keyset(op), ["RS256"])
    assert decode_unverified(token)["claims"]["preferred_username"] == ADA.username


def test_unknown_kid_is_not_in_the_jwks(op: OktaOrgOP) -> None:
    token = forged(op, "unknown_kid")["id_token"]
    kid = decode_unverified(token)["header"]["kid"]
    assert kid not in {k["kid"] for k in op.jwks()["keys"]}
    with pytest.raises(JoseError):
        jwt.decode(token, keyset(op), ["RS256"])


def test_alg_none_is_unsigned_without_at_hash(op: OktaOrgOP) -> None:
    token = forged(op, "alg_none")["id_token"]
    assert token.endswith(".")
    decoded = decode_unverified(token)
    assert decoded["header"] == {"alg": "none"}
    assert "at_hash" not in decoded["claims"]


@pytest.mark.parametrize(
    ("name", "claim", "expected"),
    [("wrong_issuer", "iss", OTHER_ORG), ("wrong_audience", "aud", OTHER_CLIENT)],
)
def test_validly_signed_misdirected_tokens(
    op: OktaOrgOP, name: str, claim: str, expected: str
) -> None:
    token = forged(op, name)["id_token"]
    claims = jwt.decode(token, keyset(op), ["RS256"]).claims
    assert claims[claim] == expected


def test_expired_is_far_past_any_leeway(op: OktaOrgOP) -> None:
    import time

    claims = jwt.decode(forged(op, "expired")["id_token"], keyset(op), ["RS256"]).claims
    assert claims["exp"] < time.time() - 600


def test_nonce_mismatch(op: OktaOrgOP) -> None:
    claims = jwt.decode(forged(op, "nonce_mismatch")["id_token"], keyset(op), ["RS256"]).claims
    assert claims["nonce"] != "n-1"


def test_mutator_applies_to_one_token_only(op: OktaOrgOP) -> None:
    forged(op, "wrong_issuer")
    claims = decode_unverified(sign_in(op)["id_token"])["claims"]
    assert claims["iss"] == op.url


# --- op_info ------------------------------------------------------------------------------------


def test_op_info_names_what_to_configure_without_the_secret(tmp_path: Path) -> None:
    file = tmp_path / "t.toml"
    file.write_text(
        """
[app]
base_url = "https://app.example.com"
[app.test_user]
username = "ada@example.com"
[oidc]
login_url = "/oidc/login"
redirect_uris = ["/oidc/callback"]
initiate_login_uri = "/oidc/initiate"
client_id = "0oa1client"
client_secret = "do-not-print-this-secret"
[oidc.provider]
port = 8443
"""
    )
    text = op_info(load(file))
    assert "http://127.0.0.1:8443" in text
    assert "https://app.example.com/oidc/callback" in text
    assert "https://app.example.com/oidc/initiate" in text
    assert "0oa1client" in text
    assert "do-not-print-this-secret" not in text
    assert json.dumps(text)  # plain text


def test_rotation_publishes_and_uses_a_new_kid_until_reset(op: OktaOrgOP) -> None:
    before = {k["kid"] for k in op.jwks()["keys"]}
    key = op.rotate()
    assert key.kid not in before
    token = sign_in(op)["id_token"]
    assert decode_unverified(token)["header"]["kid"] == key.kid
    jwt.decode(token, keyset(op), ["RS256"])  # verifies with the published JWKS
    op.reset()
    assert {k["kid"] for k in op.jwks()["keys"]} == before


def test_logout_needs_a_known_id_token_hint_and_a_registered_uri(op: OktaOrgOP) -> None:
    hint = sign_in(op)["id_token"]
    base = op.url + "/oauth2/v1/logout"
    bad = requests.get(base, params={"id_token_hint": "nope"}, timeout=5, allow_redirects=False)
    assert bad.status_code == 400
    elsewhere = requests.get(
        base,
        params={"id_token_hint": hint, "post_logout_redirect_uri": "http://127.0.0.1:9/x"},
        timeout=5,
        allow_redirects=False,
    )
    assert elsewhere.status_code == 400
    ok = requests.get(
        base,
        params={
            "id_token_hint": hint,
            "post_logout_redirect_uri": "http://127.0.0.1:9/bye",
            "state": "s1",
        },
        timeout=5,
        allow_redirects=False,
    )
    assert ok.status_code == 302
    assert ok.headers["Location"] == "http://127.0.0.1:9/bye?state=s1"
    assert op.seen("logout")
