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
from oin_conformance.roles.oidc import (
    OktaOrgOP,
    OktaUser,
    OPError,
    decode_unverified,
)
from oin_conformance.state import StateFolder
from oin_conformance.target import load
from oin_conformance.wiring.oidc import op_info

CLIENT_ID = "0oa1unittestclient00"
SECRET = "unit-test-client-secret-value"
CALLBACK = "http://127.0.0.1:9/oidc/callback"
ADA = OktaUser("ada@example.com", "ada@example.com", "Ada", "Lovelace")


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


# --- authlib's validation, answered as Okta answers ------------------------------------------

TOKEN_PATH = "/oauth2/v1/token"


def assertion(
    op: OktaOrgOP,
    *,
    key: Any = None,
    alg: str = "HS256",
    audience: str | None = None,
    expires_in: int = 300,
    jti: str | None = None,
) -> str:
    """An RFC 7523 client assertion (client_secret_jwt unless another key is given)."""
    import time

    from joserfc.jwk import OctKey

    now = int(time.time())
    claims = {
        "iss": CLIENT_ID,
        "sub": CLIENT_ID,
        "aud": audience or op.url + TOKEN_PATH,
        "iat": now,
        "exp": now + expires_in,
        "jti": jti or secrets.token_urlsafe(16),
    }
    return jwt.encode({"alg": alg}, claims, key or OctKey.import_key(SECRET), [alg])


def redeem_with_assertion(op: OktaOrgOP, client_assertion: str, **extra: str) -> requests.Response:
    code = callback_params(authorize(op))["code"]
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": client_assertion,
        **extra,
    }
    return requests.post(op.url + TOKEN_PATH, data=data, timeout=5)


def test_discovery_advertises_only_what_works_and_is_valid_metadata(op: OktaOrgOP) -> None:
    from authlib.oidc.discovery import OpenIDProviderMetadata

    doc = requests.get(op.url + "/.well-known/openid-configuration", timeout=5).json()
    OpenIDProviderMetadata(doc).validate()  # authlib's OIDC Discovery 1.0 rules
    assert doc["response_types_supported"] == ["code"]  # no implicit or hybrid flows
    assert doc["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert "private_key_jwt" not in doc["token_endpoint_auth_methods_supported"]
    assert doc["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
        "client_secret_jwt",
        "none",
    ]
    for absent in (
        "registration_endpoint",
        "device_authorization_endpoint",
        "pushed_authorization_request_endpoint",
        "request_parameter_supported",
    ):
        assert absent not in doc
    assert "offline_access" in doc["scopes_supported"]  # as in Okta's document; refused


def test_client_secret_jwt_is_accepted(op: OktaOrgOP) -> None:
    resp = redeem_with_assertion(op, assertion(op))
    assert resp.status_code == 200, resp.text
    obs = op.last("token")
    assert obs is not None and obs.details["client_auth"] == "client_secret_jwt"
    assert obs.params["client_assertion"] == "[present]"


@pytest.mark.parametrize(
    ("kwargs", "description"),
    [
        ({"expires_in": -3600}, "The client_assertion token is expired."),
        (
            {"audience": "https://other-org.okta.com/oauth2/v1/token"},
            "The audience claim for client_assertion must be the endpoint invoked for the request.",
        ),
        (
            {"audience": "OP/oauth2/v1/introspect"},
            "The audience claim for client_assertion must be the endpoint invoked for the request.",
        ),
    ],
    ids=["expired", "other audience", "another endpoint"],
)
def test_client_assertion_is_validated_by_authlib(
    op: OktaOrgOP, kwargs: dict[str, Any], description: str
) -> None:
    if str(kwargs.get("audience", "")).startswith("OP"):
        kwargs = {"audience": op.url + str(kwargs["audience"])[2:]}
    resp = redeem_with_assertion(op, assertion(op, **kwargs))
    assert resp.status_code == 401
    assert resp.json() == {"error": "invalid_client", "error_description": description}
    assert resp.headers["WWW-Authenticate"] == 'Basic realm="Okta"'
    obs = op.last("token")
    assert obs is not None and obs.details["error"] == f"invalid_client: {description}"


def test_client_assertion_signed_with_another_secret_or_replayed_is_refused(
    op: OktaOrgOP,
) -> None:
    from joserfc.jwk import OctKey

    forged = assertion(op, key=OctKey.import_key("another-secret-of-some-length-00"))
    resp = redeem_with_assertion(op, forged)
    assert resp.status_code == 401 and resp.json()["error"] == "invalid_client"
    once = assertion(op, jti="jti-used-once")
    assert redeem_with_assertion(op, once).status_code == 200
    again = redeem_with_assertion(op, assertion(op, jti="jti-used-once"))
    assert again.status_code == 401 and again.json()["error"] == "invalid_client"


def test_private_key_jwt_is_refused_when_the_client_has_no_keys(op: OktaOrgOP) -> None:
    from joserfc.jwk import RSAKey

    key = RSAKey.generate_key(2048, auto_kid=True)
    resp = redeem_with_assertion(op, assertion(op, key=key, alg="RS256"))
    assert resp.status_code == 401
    assert resp.json()["error"] == "invalid_client"
    assert "private_key_jwt" in resp.json()["error_description"]


def test_private_key_jwt_works_and_is_advertised_with_the_clients_keys(
    state: StateFolder,
) -> None:
    from joserfc.jwk import RSAKey

    client_key = RSAKey.generate_key(2048, auto_kid=True)
    server = OktaOrgOP(
        keys=[state.keypair("op", "op")],
        client_id=CLIENT_ID,
        client_secret=SECRET,
        redirect_uris=[CALLBACK],
        user=ADA,
        client_jwks={"keys": [client_key.as_dict(private=False)]},
    ).start()
    try:
        doc = requests.get(server.url + "/.well-known/openid-configuration", timeout=5).json()
        assert "private_key_jwt" in doc["token_endpoint_auth_methods_supported"]
        ok = redeem_with_assertion(server, assertion(server, key=client_key, alg="RS256"))
        assert ok.status_code == 200, ok.text
        obs = server.last("token")
        assert obs is not None and obs.details["client_auth"] == "private_key_jwt"
        stranger = RSAKey.generate_key(2048, auto_kid=True)
        bad = redeem_with_assertion(server, assertion(server, key=stranger, alg="RS256"))
        assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
        old = assertion(server, key=client_key, alg="RS256", expires_in=-3600)
        expired = redeem_with_assertion(server, old)
        assert expired.json()["error_description"] == "The client_assertion token is expired."
    finally:
        server.stop()


def test_credentials_in_header_and_body_are_refused(op: OktaOrgOP) -> None:
    code = callback_params(authorize(op))["code"]
    resp = requests.post(
        op.url + TOKEN_PATH,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
        },
        auth=(CLIENT_ID, SECRET),
        timeout=5,
    )
    assert resp.status_code == 400
    assert resp.json()["error"] == "invalid_request"
    assert resp.json()["error_description"].startswith("Cannot supply multiple client credentials")


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("verifier", "status", "error"),
    [
        ("wrong-" + "v" * 50, 400, "invalid_grant"),
        ("short-verifier", 400, "invalid_request"),
        ("bad characters!" + "v" * 40, 400, "invalid_request"),
        ("", 400, "invalid_request"),
    ],
    ids=["wrong", "too short", "bad characters", "missing"],
)
def test_a_bad_pkce_verifier_is_refused(
    op: OktaOrgOP, verifier: str, status: int, error: str
) -> None:
    genuine = secrets.token_urlsafe(48)
    params = callback_params(
        authorize(op, code_challenge=s256(genuine), code_challenge_method="S256")
    )
    extra = {"code_verifier": verifier} if verifier else {}
    resp = redeem(op, params["code"], **extra)
    assert resp.status_code == status
    assert resp.json()["error"] == error
    if error == "invalid_grant":
        assert resp.json()["error_description"] == "PKCE verification failed."


def test_a_verifier_without_a_challenge_is_refused(op: OktaOrgOP) -> None:
    code = callback_params(authorize(op))["code"]
    resp = redeem(op, code, code_verifier=secrets.token_urlsafe(48))
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_request"


def test_pkce_challenge_without_method_is_refused(op: OktaOrgOP) -> None:
    params = callback_params(authorize(op, code_challenge=s256(secrets.token_urlsafe(48))))
    assert params["error"] == "invalid_request" and "code" not in params


def test_offline_access_is_refused_as_okta_refuses_an_oin_app(op: OktaOrgOP) -> None:
    """The OIN: no refresh tokens and no offline_access for integrations (reference/oidc.md
    §2.1): the org server answers invalid_scope, and no code is issued."""
    params = callback_params(authorize(op, scope="openid email profile offline_access"))
    assert params["error"] == "invalid_scope"
    assert params["error_description"] == "The requested scope is invalid, unknown, or malformed."
    assert params["state"] == "st-1" and "code" not in params
    obs = op.last("authorize")
    assert obs is not None and obs.details["outcome"].startswith("invalid_scope: ")


def test_no_refresh_token_is_issued_and_the_grant_is_refused(op: OktaOrgOP) -> None:
    body = sign_in(op)
    assert "refresh_token" not in body
    for grant_type in ("refresh_token", "password"):
        resp = requests.post(
            op.url + TOKEN_PATH,
            data={"grant_type": grant_type, "refresh_token": "x", "username": "u"},
            auth=(CLIENT_ID, SECRET),
            timeout=5,
        )
        assert resp.status_code == 400
        assert resp.json() == {
            "error": "unauthorized_client",
            "error_description": "The client is not authorized to use the provided grant "
            "type. Configured grant types: [authorization_code].",
        }
    unknown = requests.post(
        op.url + TOKEN_PATH, data={"grant_type": "magic"}, auth=(CLIENT_ID, SECRET), timeout=5
    )
    assert unknown.status_code == 400 and unknown.json()["error"] == "unsupported_grant_type"
    unauthenticated = requests.post(
        op.url + TOKEN_PATH, data={"grant_type": "refresh_token", "refresh_token": "x"}, timeout=5
    )
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["error_description"] == "No client credentials found."


@pytest.mark.parametrize("response_type", ["token", "id_token", "code id_token", "id_token token"])
def test_implicit_and_hybrid_flows_are_refused(op: OktaOrgOP, response_type: str) -> None:
    params = callback_params(authorize(op, response_type=response_type))
    assert params["error"] == "unsupported_response_type"
    assert params["error_description"].endswith("Configured response types: [code].")


def test_unsupported_response_mode_is_refused(op: OktaOrgOP) -> None:
    params = callback_params(authorize(op, response_mode="okta_post_message"))
    assert params["error"] == "unsupported_response_mode"


def userinfo(op: OktaOrgOP, access_token: str) -> requests.Response:
    return requests.get(
        op.url + "/oauth2/v1/userinfo",
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=5,
    )


def introspect(op: OktaOrgOP, token: str, auth: Any = (CLIENT_ID, SECRET)) -> requests.Response:
    return requests.post(
        op.url + "/oauth2/v1/introspect", data={"token": token}, auth=auth, timeout=5
    )


def test_revoke_really_revokes_and_introspect_really_introspects(op: OktaOrgOP) -> None:
    access_token = sign_in(op)["access_token"]
    assert userinfo(op, access_token).status_code == 200
    live = introspect(op, access_token).json()
    assert live["active"] is True
    assert live["client_id"] == CLIENT_ID and live["token_type"] == "Bearer"
    assert live["scope"] == "openid email profile" and live["iss"] == op.url
    assert live["username"] == ADA.username and live["uid"] == ADA.sub

    revoked = requests.post(
        op.url + "/oauth2/v1/revoke",
        data={"token": access_token, "token_type_hint": "access_token"},
        auth=(CLIENT_ID, SECRET),
        timeout=5,
    )
    assert revoked.status_code == 200 and revoked.text == ""
    after = userinfo(op, access_token)
    assert after.status_code == 401
    assert 'error="invalid_token"' in after.headers["WWW-Authenticate"]
    assert introspect(op, access_token).json() == {"active": False}
    obs = op.last("revoke")
    assert obs is not None and obs.details["client_auth"] == "client_secret_basic"
    assert obs.params["token"] == "[present]"


def test_introspect_says_inactive_for_expired_and_unknown_tokens(op: OktaOrgOP) -> None:
    import time

    access_token = sign_in(op)["access_token"]
    record = op.tokens.find(access_token, "org")
    assert record is not None
    record.claims["exp"] = int(time.time()) - 1  # the hour has passed
    assert introspect(op, access_token).json() == {"active": False}
    assert userinfo(op, access_token).status_code == 401
    assert introspect(op, "not-a-token").json() == {"active": False}


def test_revoke_and_introspect_need_client_authentication(op: OktaOrgOP) -> None:
    access_token = sign_in(op)["access_token"]
    resp = introspect(op, access_token, auth=None)
    assert resp.status_code == 401 and resp.json()["error"] == "invalid_client"
    unknown = requests.post(
        op.url + "/oauth2/v1/revoke", data={"token": "nope"}, auth=(CLIENT_ID, SECRET), timeout=5
    )
    assert unknown.status_code == 200  # RFC 7009: an unknown token is not an error
    assert userinfo(op, access_token).status_code == 200  # nothing was revoked


def test_userinfo_needs_a_profile_or_email_scope(op: OktaOrgOP) -> None:
    access_token = sign_in(op, scope="openid")["access_token"]
    resp = userinfo(op, access_token)
    assert resp.status_code == 403
    assert resp.headers["WWW-Authenticate"] == 'Bearer error="insufficient_scope"'


def test_back_channel_exchanges_are_taken_once_in_transcript_form(op: OktaOrgOP) -> None:
    from oin_conformance.transcript import Exchange

    sign_in(op)
    taken = op.take_exchanges()
    assert [type(e) for e in taken] == [Exchange]
    (token,) = taken
    assert token.url.endswith(TOKEN_PATH) and token.status == 200
    assert token.note == "back channel: app -> Okta"
    assert list(token.decoded) == ["id_token"] and '"iss"' in token.decoded["id_token"]
    assert op.take_exchanges() == []
