"""Keys and tokens of the provider.

* :class:`SigningKeys`: the RS256 keys (the state folder's pairs; each ``kid`` is the key's
  RFC 7638 thumbprint, so a new key always has a new kid — reference/oidc.md §1.9, §5.4),
  Okta-style rotation to a brand-new key, and the published JWKS (which a check may edit
  through a :data:`JwksEdit`: a key set with one key, an entry no library can parse).
* Minting: the access token (JWT-shaped, as Okta's org server issues it) and the ID token
  from its honest :class:`TokenParts`, through the **forgery hook**: a :data:`Mutator` from
  :mod:`oin_conformance.attacks.oidc` receives the honest parts and returns the compact token
  the token endpoint sends instead.
* :class:`TokenStore`: what was issued (authlib's ``TokenMixin`` for access tokens, so
  ``/userinfo``, ``/revoke`` and ``/introspect`` judge them with authlib's own rules).

JWS work is joserfc's; Okta's tokens carry exactly ``{"kid", "alg"}`` in the header.
"""

from __future__ import annotations

import json
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin
from joserfc import jws
from joserfc.jwk import KeySet, RSAKey
from joserfc.jws import JWSRegistry

from oin_conformance.roles.oidc.okta_shape import TOKEN_LIFETIME, SignedIn
from oin_conformance.state import KeyPair


def rsa_key_from_pair(pair: KeyPair) -> RSAKey:
    """A joserfc key for the state folder's key pair; its kid is the RFC 7638 thumbprint.

    Made from the pair's loaded key (parsed once per pair: an RSA PEM costs tens of
    milliseconds to load and check, and every worker makes several of these)."""
    kid = RSAKey(pair.private_key, pair.key_pem).thumbprint()
    return RSAKey(pair.private_key, pair.key_pem, {"kid": kid})


def fresh_key() -> RSAKey:
    """A brand-new RSA key whose kid (its thumbprint) no RP has cached."""
    generated = RSAKey.generate_key(2048)
    return RSAKey.import_key(
        generated.as_dict(private=True), parameters={"kid": generated.thumbprint()}
    )


def public_jwk(key: RSAKey) -> dict[str, Any]:
    """A key as Okta publishes it at ``/oauth2/v1/keys`` (§1.6: kty, alg, kid, use, e, n)."""
    data = key.as_dict(private=False)
    ordered: dict[str, Any] = {"kty": "RSA", "alg": "RS256", "kid": key.kid, "use": "sig"}
    ordered.update({k: data[k] for k in ("e", "n")})
    return ordered


#: A change to the published key set for one check: the honest JWKS entries (the signing
#: key first) in, the entries to publish out.
JwksEdit = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


class SigningKeys:
    """The provider's published keys; the first one signs. Thread-safe."""

    def __init__(self, pairs: Sequence[KeyPair]) -> None:
        base = [rsa_key_from_pair(p) for p in pairs]
        if not base:
            raise ValueError("the provider needs at least one signing key")
        self._base = base
        self._keys = list(base)
        #: The state folder's certificate of each of its keys, by kid (Okta publishes none
        #: for OIDC keys; an app configured with a certificate has these bytes).
        self._certificates = {k.kid: p.cert_pem for k, p in zip(base, pairs, strict=True)}
        self._lock = threading.Lock()

    def certificate(self, key: RSAKey) -> str:
        """The certificate PEM of ``key`` from the state folder ("" for a rotated key)."""
        return self._certificates.get(str(key.kid), "")

    @property
    def signing(self) -> RSAKey:
        with self._lock:
            return self._keys[0]

    @property
    def keys(self) -> list[RSAKey]:
        with self._lock:
            return list(self._keys)

    def rotate(self) -> RSAKey:
        """Publish a brand-new key first in the set and sign with it (until :meth:`reset`)."""
        key = fresh_key()
        with self._lock:
            self._keys = [key, *self._keys]
        return key

    def reset(self) -> None:
        """Back to the state folder's keys."""
        with self._lock:
            self._keys = list(self._base)

    def jwks(self, edit: JwksEdit | None = None) -> dict[str, Any]:
        """The key set as ``/keys`` publishes it (changed by ``edit``, if a check gave one)."""
        entries = [public_jwk(k) for k in self.keys]
        return {"keys": edit(entries) if edit is not None else entries}

    def key_set(self) -> KeySet:
        """The published (public) keys as a joserfc KeySet, to verify what was signed."""
        return KeySet.import_key_set(self.jwks())  # type: ignore[arg-type]


# --- signing and reading ------------------------------------------------------------------


def sign_jws(header: dict[str, Any], claims: dict[str, Any], key: RSAKey | None) -> str:
    """A compact JWS of ``claims`` with exactly ``header`` (joserfc's jwt adds ``typ``;
    Okta's tokens carry only ``kid`` and ``alg``)."""
    payload = json.dumps(claims, separators=(",", ":"))
    alg = str(header["alg"])
    if alg == "none":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return jws.serialize_compact(header, payload, None, algorithms=["none"])
    return jws.serialize_compact(header, payload, key, algorithms=[alg])


class _ReadingRegistry(JWSRegistry):
    """Reads tokens for reports: a forged header that carries a key or certificate (``jwk``,
    ``x5c``) is longer than joserfc's 512-byte default allows."""

    max_header_length = 16 * 1024


def decode_unverified(token: str) -> dict[str, Any]:
    """Header and claims of a compact JWS, without verifying it (for reports)."""
    try:
        obj = jws.extract_compact(token.encode(), registry=_ReadingRegistry())
        claims = json.loads(obj.payload)
        return {"header": dict(obj.headers()), "claims": claims}
    except Exception as exc:  # noqa: BLE001 - a forged token may not even parse
        return {"error": f"cannot decode: {type(exc).__name__}: {exc}", "raw": token[:200]}


def describe_token(token: str) -> str:
    """The decoded header and claims as indented JSON (what reports show)."""
    return json.dumps(decode_unverified(token), indent=2, sort_keys=False)


# --- minting --------------------------------------------------------------------------------


@dataclass
class TokenParts:
    """An honest ID token before signing, handed to a mutator (``attacks.oidc``).

    ``sign`` signs with the trusted key unless another key is given; a mutator returns the
    compact token string the token endpoint will send.
    """

    header: dict[str, Any]
    claims: dict[str, Any]
    key: RSAKey
    issuer: str
    client_id: str
    #: The signing key's certificate as the state folder keeps it ("" for a rotated key).
    certificate_pem: str = ""

    def sign(
        self,
        header: dict[str, Any] | None = None,
        claims: dict[str, Any] | None = None,
        key: RSAKey | None = None,
    ) -> str:
        hdr = dict(self.header if header is None else header)
        return sign_jws(hdr, self.claims if claims is None else claims, key or self.key)


#: The forgery hook: honest parts in, the compact token to send out.
Mutator = Callable[[TokenParts], str]


def okta_header(key: RSAKey) -> dict[str, Any]:
    """Okta's JWS header: ``kid`` always, ``alg`` always RS256 (§1.5)."""
    return {"kid": key.kid, "alg": "RS256"}


def mint_id_token(parts: TokenParts, mutator: Mutator | None = None) -> str:
    """The ID token the token endpoint sends: honest, or what ``mutator`` forged from it."""
    return mutator(parts) if mutator is not None else parts.sign()


def mint_access_token(claims: dict[str, Any], key: RSAKey) -> str:
    """An access token signed like Okta's org-server tokens (for Okta only; §1.7)."""
    return sign_jws(okta_header(key), claims, key)


# --- what was issued ------------------------------------------------------------------------


@dataclass
class AccessToken(TokenMixin):
    """An issued access token, judged by authlib (expired, revoked, scope, client)."""

    token: str
    claims: dict[str, Any]
    server: str
    client: ClientMixin
    signed_in: SignedIn
    scope: str
    revoked: bool = False
    issued_at: float = field(default_factory=time.time)

    def check_client(self, client: ClientMixin) -> bool:
        return bool(client.get_client_id() == self.client.get_client_id())

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return TOKEN_LIFETIME

    def is_expired(self) -> bool:
        return time.time() >= float(self.claims["exp"])

    def is_revoked(self) -> bool:
        return self.revoked

    def get_user(self) -> SignedIn:
        return self.signed_in

    def get_client(self) -> ClientMixin:
        return self.client


class TokenStore:
    """Access tokens the provider issued. Thread-safe."""

    def __init__(self) -> None:
        self._access: dict[str, AccessToken] = {}
        self._lock = threading.Lock()

    def add(self, token: AccessToken) -> None:
        with self._lock:
            self._access[token.token] = token

    def find(self, token: str, server: str) -> AccessToken | None:
        """The access token ``token`` if this provider issued it from ``server``."""
        with self._lock:
            found = self._access.get(token)
        return found if found is not None and found.server == server else None

    def revoke(self, token: AccessToken) -> None:
        with self._lock:
            token.revoked = True


__all__ = [
    "AccessToken",
    "JwksEdit",
    "Mutator",
    "SigningKeys",
    "TokenParts",
    "TokenStore",
    "decode_unverified",
    "describe_token",
    "mint_access_token",
    "mint_id_token",
    "public_jwk",
    "rsa_key_from_pair",
    "sign_jws",
]
