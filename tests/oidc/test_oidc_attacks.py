"""Unit tests of the issue-13 OIDC forgeries and the provider hooks they need (no plugin):
each forgery is what it claims to be, checked with real crypto against what the real
provider on loopback publishes, and each hook changes exactly what it says."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OctKey, RSAKey

from oin_conformance.attacks.oidc import (
    ATTACKS,
    OTHER_ORG,
    QUIRKS,
    SQL_KID,
    TRAVERSAL_KID,
    TokenAttack,
)
from oin_conformance.roles.oidc import AttackerSite, OktaOrgOP, OktaUser, decode_unverified
from oin_conformance.state import StateFolder
from tests.oidc.test_oidc_op import ADA, CALLBACK, CLIENT_ID, SECRET, keyset, sign_in

GRACE = OktaUser("grace@example.com", "grace@example.com", "Grace", "Hopper")


@pytest.fixture(scope="module")
def op(state: StateFolder) -> Iterator[OktaOrgOP]:
    server = OktaOrgOP(
        keys=[state.keypair("op", "op"), state.keypair("op-next", "next")],
        client_id=CLIENT_ID,
        client_secret=SECRET,
        redirect_uris=[CALLBACK],
        user=ADA,
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def site() -> Iterator[AttackerSite]:
    server = AttackerSite().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _honest(op: OktaOrgOP) -> None:
    op.reset()


def forged(op: OktaOrgOP, attack: TokenAttack, site: AttackerSite) -> str:
    op.arm(mutator=attack.mutator(site), mutator_name=attack.name)
    token = str(sign_in(op)["id_token"])
    obs = op.last("token")
    assert obs is not None and obs.details["mutator"] == attack.name
    return token


def parts(token: str) -> tuple[dict[str, Any], bytes, bytes]:
    head, body, sig = token.split(".")
    header = decode_unverified(token)["header"]
    return header, f"{head}.{body}".encode(), base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))


def published_public_key(op: OktaOrgOP, kid: str) -> tuple[dict[str, Any], rsa.RSAPublicKey]:
    """The JWKS entry ``kid`` as fetched over HTTP, and its public key (by cryptography)."""
    entry = next(k for k in requests.get(op.url + "/oauth2/v1/keys", timeout=5).json()["keys"]
                 if k["kid"] == kid)  # fmt: skip
    key = RSAKey.import_key(entry).public_key
    assert isinstance(key, rsa.RSAPublicKey)
    return entry, key


def rs256_verifies(public: Any, signing_input: bytes, signature: bytes) -> bool:
    try:
        public.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
    except Exception:  # noqa: BLE001 - any failure means it does not verify
        return False
    return True


@pytest.mark.parametrize("name", ["hs256_public_key_pem", "hs256_public_key_der",
                                  "hs256_jwk_json", "hs256_certificate_pem"])  # fmt: skip
def test_hs256_forgeries_are_keyed_with_what_the_provider_publishes(
    op: OktaOrgOP, site: AttackerSite, state: StateFolder, name: str
) -> None:
    token = forged(op, ATTACKS[name], site)
    header, signing_input, signature = parts(token)
    assert header == {"kid": op.signing_key.kid, "alg": "HS256"}
    entry, public = published_public_key(op, str(header["kid"]))
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    secret = {
        "hs256_public_key_pem": public.public_bytes(serialization.Encoding.PEM, spki),
        "hs256_public_key_der": public.public_bytes(serialization.Encoding.DER, spki),
        "hs256_jwk_json": json.dumps(entry).encode(),
        "hs256_certificate_pem": (state.path / "op.cert.pem").read_bytes(),
    }[name]
    assert hmac.new(secret, signing_input, hashlib.sha256).digest() == signature
    assert decode_unverified(token)["claims"]["preferred_username"] == ADA.username
    if name != "hs256_jwk_json":
        # What careful libraries refuse (joserfc, PyJWT >= 2.4): hence the attacker's HMAC.
        with pytest.raises(ValueError, match="must not be used as oct keys"):
            OctKey.import_key(secret)


@pytest.mark.parametrize(("name", "document"), [("jku_attacker_jwks", "jwks.json"),
                                                 ("x5u_attacker_cert", "cert.pem")])  # fmt: skip
def test_hosted_keys_are_served_by_the_attackers_site_and_fetches_recorded(
    op: OktaOrgOP, site: AttackerSite, name: str, document: str
) -> None:
    token = forged(op, ATTACKS[name], site)
    header, signing_input, signature = parts(token)
    url = header[name[:3]]
    assert url.startswith(site.url + "/") and url.endswith(document)
    assert site.fetches(url) == []
    resp = requests.get(url, timeout=5)
    assert resp.status_code == 200
    public: Any
    if document == "jwks.json":
        entry = resp.json()["keys"][0]
        assert entry["kid"] == header["kid"]
        public = RSAKey.import_key(entry).public_key
    else:
        assert resp.headers["Content-Type"] == "application/pem-certificate-chain"
        public = x509.load_pem_x509_certificate(resp.content).public_key()
    assert rs256_verifies(public, signing_input, signature)
    assert header["kid"] not in {k["kid"] for k in op.jwks()["keys"]}
    with pytest.raises(JoseError):
        jwt.decode(token, keyset(op), ["RS256"])
    fetched = site.fetches(url)
    assert [f.method for f in fetched] == ["GET"] and "python-requests" in fetched[0].user_agent
    assert requests.get(site.url + "/nothing/here", timeout=5).status_code == 404


@pytest.mark.parametrize("name", ["jwk_embedded", "x5c_embedded"])
def test_embedded_keys_verify_the_token_and_are_not_published(
    op: OktaOrgOP, site: AttackerSite, name: str
) -> None:
    token = forged(op, ATTACKS[name], site)
    header, signing_input, signature = parts(token)
    public: Any
    if name == "jwk_embedded":
        public = RSAKey.import_key(header["jwk"]).public_key
        assert header["jwk"]["kid"] == header["kid"]
    else:
        der = base64.b64decode(header["x5c"][0])
        public = x509.load_der_x509_certificate(der).public_key()
    assert rs256_verifies(public, signing_input, signature)
    assert header["kid"] not in {k["kid"] for k in op.jwks()["keys"]}


@pytest.mark.parametrize(
    ("name", "kid", "secret"),
    [("kid_path_traversal", TRAVERSAL_KID, b""), ("kid_sql_injection", SQL_KID, b"k")],
)
def test_kid_injections_are_hmac_keyed_with_what_the_kid_yields(
    op: OktaOrgOP, site: AttackerSite, name: str, kid: str, secret: bytes
) -> None:
    header, signing_input, signature = parts(forged(op, ATTACKS[name], site))
    assert header == {"kid": kid, "alg": "HS256"}
    assert hmac.new(secret, signing_input, hashlib.sha256).digest() == signature
    assert TRAVERSAL_KID.endswith("/dev/null") and TRAVERSAL_KID.count("../") >= 8


def test_kid_absent_several_keys_is_signed_by_no_published_key(
    op: OktaOrgOP, site: AttackerSite
) -> None:
    header, signing_input, signature = parts(forged(op, ATTACKS["kid_absent_several_keys"], site))
    assert header == {"alg": "RS256"}
    published = requests.get(op.url + "/oauth2/v1/keys", timeout=5).json()["keys"]
    assert len(published) > 1
    for entry in published:
        assert not rs256_verifies(RSAKey.import_key(entry).public_key, signing_input, signature)


@pytest.mark.parametrize(
    ("name", "removed", "check"),
    [
        ("missing_iat", "iat", lambda c, op: True),
        ("missing_sub", "sub", lambda c, op: True),
        ("missing_aud", "aud", lambda c, op: True),
        ("aud_array_without_client", "", lambda c, op: isinstance(c["aud"], list)
         and len(c["aud"]) == 2 and CLIENT_ID not in c["aud"]),
        ("issuer_trailing_slash", "", lambda c, op: c["iss"] == op.url + "/"),
    ],
)  # fmt: skip
def test_claim_forgeries_are_validly_signed_by_the_provider(
    op: OktaOrgOP, site: AttackerSite, name: str, removed: str, check: Any
) -> None:
    honest = set(decode_unverified(sign_in(op)["id_token"])["claims"])
    claims = jwt.decode(forged(op, ATTACKS[name], site), keyset(op), ["RS256"]).claims
    assert set(claims) == honest - {removed}
    assert check(claims, op), claims


def test_hosted_attack_needs_the_site() -> None:
    with pytest.raises(ValueError, match="attacker's site"):
        ATTACKS["jku_attacker_jwks"].mutator(None)
    with pytest.raises(ValueError, match="exactly one"):
        TokenAttack("x", "t", "r", "f")


def test_rotation_just_before_signing_signs_with_a_new_published_kid(op: OktaOrgOP) -> None:
    quirk = QUIRKS["key_rotation"]
    before = {k["kid"] for k in op.jwks()["keys"]}
    op.arm(mutator=quirk.mutate, mutator_name=quirk.name, rotate_before_signing=True)
    token = sign_in(op)["id_token"]
    kid = decode_unverified(token)["header"]["kid"]
    assert kid not in before and kid == op.signing_key.kid
    jwt.decode(token, keyset(op), ["RS256"])
    assert decode_unverified(sign_in(op)["id_token"])["header"]["kid"] == kid  # kept
    op.reset()
    assert {k["kid"] for k in op.jwks()["keys"]} == before


def test_unparseable_key_is_published_first_and_parses_nowhere(op: OktaOrgOP) -> None:
    quirk = QUIRKS["unparseable_jwks_key"]
    op.arm(jwks_edit=quirk.jwks_edit, rotate_before_signing=True)
    sign_in(op)
    published = requests.get(op.url + "/oauth2/v1/keys", timeout=5).json()["keys"]
    broken = published[0]
    assert broken["kty"] == "RSA" and "n" not in broken and broken["kid"].startswith("broken-")
    with pytest.raises(Exception):  # noqa: B017, PT011 - any library error will do
        KeySet.import_key_set({"keys": [broken]})
    served = op.last("keys")
    assert served is not None and served.details["kids"][0] == broken["kid"]


def test_kid_absent_single_key_verifies_with_the_only_published_key(op: OktaOrgOP) -> None:
    quirk = QUIRKS["kid_absent_single_key"]
    op.arm(mutator=quirk.mutate, mutator_name=quirk.name, jwks_edit=quirk.jwks_edit)
    token = sign_in(op)["id_token"]
    assert decode_unverified(token)["header"] == {"alg": "RS256"}
    published = requests.get(op.url + "/oauth2/v1/keys", timeout=5).json()["keys"]
    assert [k["kid"] for k in published] == [op.signing_key.kid]
    jwt.decode(token, KeySet.import_key_set({"keys": published}), ["RS256"])


def test_discovery_can_name_another_issuer_until_reset(op: OktaOrgOP) -> None:
    op.arm(discovery_issuer=OTHER_ORG)
    url = op.url + "/.well-known/openid-configuration"
    doc = requests.get(url, timeout=5).json()
    assert doc["issuer"] == OTHER_ORG
    assert doc["authorization_endpoint"] == op.url + "/oauth2/v1/authorize"
    obs = op.last("discovery")
    assert obs is not None and obs.details["issuer"] == OTHER_ORG
    default = requests.get(op.url + "/oauth2/default/.well-known/openid-configuration", timeout=5)
    assert default.json()["issuer"] == op.url + "/oauth2/default"
    op.reset()
    assert requests.get(url, timeout=5).json()["issuer"] == op.url


def test_userinfo_can_answer_for_another_user(op: OktaOrgOP) -> None:
    op.arm(user=GRACE, userinfo_user=ADA)
    body = sign_in(op)
    id_claims = decode_unverified(body["id_token"])["claims"]
    assert id_claims["sub"] == GRACE.sub and id_claims["preferred_username"] == GRACE.username
    info = requests.get(
        op.url + "/oauth2/v1/userinfo",
        headers={"Authorization": f"Bearer {body['access_token']}"},
        timeout=5,
    ).json()
    assert info["sub"] == ADA.sub != GRACE.sub and info["email"] == ADA.email
    obs = op.last("userinfo")
    assert obs is not None and obs.details["sub"] == ADA.sub and obs.details["status"] == 200
