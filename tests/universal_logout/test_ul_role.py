"""Okta's Universal Logout request, built and sent by the role (no plugin): header, claims,
body and signature against Okta's guide ("Build Universal Logout for your app", reference
oidc.md §2.6 and saml.md "Universal Logout"), and the hostile variants of the suite."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from oin_conformance.attacks.universal_logout import ATTACKS, MALFORMED, OTHER_ENDPOINT
from oin_conformance.roles.browser import BrowserError
from oin_conformance.roles.oidc import OktaOrgOP, OktaUser
from oin_conformance.roles.oidc.tokens import rsa_key_from_pair
from oin_conformance.roles.saml import SamlIdp
from oin_conformance.roles.serve import ServedApp
from oin_conformance.roles.universal_logout import (
    TYP,
    Answer,
    KeysServer,
    Signer,
    audience,
    okta_request,
    redeem_refresh_token,
    refreshed,
    saml_signer,
    send,
    subject,
    token_parts,
)
from oin_conformance.state import StateFolder
from oin_conformance.transcript import Redactor, Transcript

ORG = "https://acme.okta.com"
CLIENT_ID = "0oa1unittestclient00"
ENDPOINT = "http://127.0.0.1:9/oauth/global-token-revocation"


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> StateFolder:
    return StateFolder(tmp_path_factory.mktemp("ul-state"))


@pytest.fixture(scope="module")
def signer(state: StateFolder) -> Signer:
    key = rsa_key_from_pair(state.keypair("op", "op"))
    return Signer("oidc", ORG, CLIENT_ID, key, ORG + "/oauth2/v1/keys")


def verified(token: str, keys: dict[str, Any]) -> jwt.Token:
    """The token, verified (RS256 only) against a published JWKS."""
    return jwt.decode(token, KeySet.import_key_set(keys), algorithms=["RS256"])  # type: ignore[arg-type]


class Recorder:
    """A loopback endpoint that keeps every request it gets and answers ``status``."""

    def __init__(self, status: str = "204 No Content", body: bytes = b"") -> None:
        self.status, self.body = status, body
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.served = ServedApp(self.wsgi)

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        headers = {
            k[5:].replace("_", "-").title(): v for k, v in environ.items() if k[:5] == "HTTP_"
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        with self._lock:
            self.requests.append(
                {
                    "method": environ["REQUEST_METHOD"],
                    "path": environ["PATH_INFO"],
                    "headers": headers,
                    "body": environ["wsgi.input"].read(length).decode(),
                }
            )
        start_response(self.status, [("Content-Type", "application/json")])
        return [self.body]


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    r = Recorder()
    yield r
    r.served.stop()


def test_jwt_header_and_claims_are_oktas(signer: Signer) -> None:
    """Header typ global-token-revocation+jwt, alg RS256 (and the kid of the org's key);
    claims jti, iss (the org), sub (the client id), aud (the endpoint without query or
    fragment), exp +5 min, nbf -5 min, iat — signed with the org's key (Okta's guide)."""
    now = int(time.time())
    parts = token_parts(signer, ENDPOINT + "?tenant=1#x", now=now, jti="jti-1")
    token = parts.sign()
    header = jws.extract_compact(token.encode()).headers()
    assert header == {"typ": TYP, "alg": "RS256", "kid": signer.key.kid}
    assert TYP == "global-token-revocation+jwt"
    claims = verified(token, signer.jwks()).claims
    assert claims == {
        "jti": "jti-1",
        "iss": ORG,
        "sub": CLIENT_ID,
        "aud": ENDPOINT,
        "exp": now + 300,
        "nbf": now - 300,
        "iat": now,
    }
    # A fresh jti every time.
    assert (
        token_parts(signer, ENDPOINT).claims["jti"] != token_parts(signer, ENDPOINT).claims["jti"]
    )


def test_audience_drops_query_and_fragment_only() -> None:
    assert audience("https://app.example.com/ul/gtr?org=1#frag") == "https://app.example.com/ul/gtr"
    assert audience("https://app.example.com:8443/ul") == "https://app.example.com:8443/ul"


def test_bodies_name_the_user_as_okta_does() -> None:
    """{"sub_id": {"format": "email", "email": ...}} or {"format": "iss_sub", "iss", "sub"}."""
    email = okta_request(ENDPOINT, "t", subject("email", email="ada@example.com"))
    assert json.loads(email.body) == {"sub_id": {"format": "email", "email": "ada@example.com"}}
    iss_sub = okta_request(ENDPOINT, "t", subject("iss_sub", iss=ORG, sub="00u42"))
    assert json.loads(iss_sub.body) == {"sub_id": {"format": "iss_sub", "iss": ORG, "sub": "00u42"}}
    assert email.headers() == {"Content-Type": "application/json", "Authorization": "Bearer t"}
    assert "Authorization" not in okta_request(ENDPOINT, None, body="{}").headers()


def test_send_posts_json_with_the_bearer_jwt_and_no_cookies(
    signer: Signer, recorder: Recorder
) -> None:
    """What reaches the app: POST, application/json, Authorization: Bearer <JWT>; the
    transcript redacts the raw token and shows its header and claims decoded."""
    url = recorder.served.url + "/oauth/global-token-revocation"
    token = token_parts(signer, url).sign()
    request = okta_request(url, token, subject("email", email="ada@example.com"))
    transcript = Transcript(Redactor([]))
    answer = send(request, transcript, timeout=5)
    assert answer.status == 204 and answer.meaning == "logged out"
    [got] = recorder.requests
    assert got["method"] == "POST" and got["path"] == "/oauth/global-token-revocation"
    assert got["headers"]["Content-Type"] == "application/json"
    assert got["headers"]["Authorization"] == f"Bearer {token}"
    assert "Cookie" not in got["headers"]
    assert json.loads(got["body"]) == {"sub_id": {"format": "email", "email": "ada@example.com"}}
    [ex] = transcript.exchanges
    assert ex.request_headers["Authorization"] == "Bearer [redacted]"
    assert token not in json.dumps(transcript.as_list())
    decoded = json.loads(ex.decoded["Bearer JWT (decoded)"])
    assert decoded["header"]["typ"] == TYP and decoded["claims"]["aud"] == url


def test_an_endpoint_that_does_not_answer_raises_browser_error(signer: Signer) -> None:
    served = ServedApp(lambda environ, start: [])
    url = served.url + "/ul"
    served.stop()
    request = okta_request(url, token_parts(signer, url).sign(), subject("email", email="a@b.c"))
    transcript = Transcript(Redactor([]))
    with pytest.raises(BrowserError, match="connection refused"):
        send(request, transcript, timeout=2)
    assert transcript.exchanges[0].error  # recorded all the same


def test_oidc_signer_is_verifiable_from_the_org_jwks(state: StateFolder) -> None:
    """For an OIDC app Okta signs with the ID-token key: the org's /oauth2/v1/keys verifies
    the logout JWT (a real provider, fetched over HTTP as an app would)."""
    op = OktaOrgOP(
        keys=[state.keypair("op", "op")],
        client_id=CLIENT_ID,
        client_secret="unit-test-secret-value",
        redirect_uris=["http://127.0.0.1:9/cb"],
        user=OktaUser("ada@example.com", "ada@example.com", "Ada", "Lovelace"),
    ).start()
    try:
        s = Signer("oidc", op.issuer, CLIENT_ID, op.signing_key, op.issuer + "/oauth2/v1/keys")
        token = token_parts(s, ENDPOINT).sign()
        keys = requests.get(s.jwks_uri, timeout=5).json()
        assert verified(token, keys).claims["iss"] == op.issuer
    finally:
        op.stop()


def test_saml_signer_uses_the_assertion_key_org_url_and_app_instance_id(
    state: StateFolder,
) -> None:
    """For a SAML app: iss = the org URL (origin of the SSO URL), sub = the appInstanceId,
    signed with the key of the IdP certificate the app already trusts; the loopback JWKS
    publishes the same key."""
    pair = state.keypair("idp", "idp")
    idp = SamlIdp.create(pair, "Acme")
    keys = KeysServer([rsa_key_from_pair(pair)])
    try:
        s = saml_signer(pair, idp.sso_url, keys.jwks_uri)
        assert s.issuer == "https://oin-conformance.okta.invalid"
        assert s.app_id.startswith("0oa") and len(s.app_id) == 20
        assert s.app_id[3:] == idp.entity_id.rsplit("/exk", 1)[1]  # same app instance
        token = token_parts(s, ENDPOINT).sign()
        cert_key = pair.certificate.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        jws.deserialize_compact(token, RSAKey.import_key(cert_key), algorithms=["RS256"])
        published = requests.get(keys.jwks_uri, timeout=5).json()
        assert published["keys"][0]["kid"] == s.key.kid and "d" not in published["keys"][0]
        assert verified(token, published).claims["sub"] == s.app_id
        assert requests.get(keys.jwks_uri.replace("/keys", "/nope"), timeout=5).status_code == 404
    finally:
        keys.stop()


def test_forgeries_are_what_their_names_say(signer: Signer) -> None:
    """Each hostile token is refused by a JWKS check for its own reason, and only for it."""
    parts = token_parts(signer, ENDPOINT)
    keys = signer.jwks()
    assert ATTACKS["no_authorization"].forge(parts) is None
    unsigned = ATTACKS["alg_none"].forge(parts)
    assert unsigned is not None and unsigned.endswith(".")
    assert jws.extract_compact(unsigned.encode()).headers() == {"typ": TYP, "alg": "none"}
    for name in ("alg_none", "bad_signature", "other_org_key"):
        token = ATTACKS[name].forge(parts)
        assert token is not None
        with pytest.raises((JoseError, ValueError)):
            verified(token, keys)
    other = ATTACKS["other_org_key"].forge(parts)
    assert other is not None
    assert jws.extract_compact(other.encode()).headers()["kid"] != signer.key.kid
    # Genuinely signed by the org, wrong only in one claim.
    wrong_aud = ATTACKS["wrong_audience"].forge(parts)
    assert wrong_aud is not None
    assert verified(wrong_aud, keys).claims == dict(parts.claims, aud=OTHER_ENDPOINT)
    old = ATTACKS["expired"].forge(parts)
    assert old is not None
    claims = verified(old, keys).claims
    assert claims["exp"] < time.time() - 3000 and claims["nbf"] < claims["iat"] < claims["exp"]
    # Each attack says what it is, the risk, and the fix.
    assert all(a.title[:2] in ("a ", "an") and a.risk and a.fix for a in ATTACKS.values())


def test_malformed_bodies_are_not_oktas() -> None:
    for body in MALFORMED.values():
        try:
            data = json.loads(body.body)
        except ValueError:
            continue  # not JSON at all
        sub_id = data.get("sub_id") if isinstance(data, dict) else None
        assert not (isinstance(sub_id, dict) and sub_id.get("format") in ("email", "iss_sub"))


def test_refresh_token_redeemed_as_rfc6749_says(recorder: Recorder) -> None:
    """grant_type=refresh_token; a client secret as HTTP Basic, a bare client id as a field;
    an answer is 'refreshed' only with HTTP 200 and an access_token, and a rotated refresh
    token is picked up; the tokens never appear in what a failure would quote."""
    url = recorder.served.url + "/token"
    transcript = Transcript(Redactor([]))
    redeem_refresh_token(url, "rt-1", transcript, timeout=5, client_id="cid")
    redeem_refresh_token(url, "rt-2", transcript, timeout=5, client_id="cid", client_secret="s3")
    first, second = recorder.requests
    assert first["body"] == "grant_type=refresh_token&refresh_token=rt-1&client_id=cid"
    assert "Authorization" not in first["headers"]
    assert second["body"] == "grant_type=refresh_token&refresh_token=rt-2"
    assert second["headers"]["Authorization"].startswith("Basic ")
    assert "rt-1" not in json.dumps(transcript.as_list())
    ok = Answer(200, '{"access_token": "at-9", "refresh_token": "rt-3", "token_type": "Bearer"}')
    assert refreshed(ok) == (True, "rt-3")
    assert "at-9" not in ok.describe_token_answer() and "rt-3" not in ok.describe_token_answer()
    refused = Answer(400, '{"error": "invalid_grant"}')
    assert refreshed(refused) == (False, None)
    assert refused.describe_token_answer() == "HTTP 400: error 'invalid_grant'"
    assert refreshed(Answer(200, "<html>ok</html>")) == (False, None)
