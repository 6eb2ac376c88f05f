"""Forged and broken ID tokens, beside the honest provider (``roles.oidc``).

Each attack is a small named mutator: it takes the honest :class:`TokenParts` the token
endpoint was about to sign and returns the compact token it sends instead. Every forgery
models an attacker who cannot use the OP's private key: it is unsigned, signed by another
key, carries a broken signature, or is a genuine token minted for another context (issuer,
audience, time, nonce). Expired tokens are an hour past ``exp`` — far beyond any RP's clock
leeway (Authlib allows 120 s). JWS work is joserfc's; nothing here builds a JWT by hand.

``WRONG_STATE`` is the one callback attack: the OP redirects back with a ``state`` the app
never issued (CSRF / code injection).
"""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass

from joserfc.jwk import RSAKey

from oin_conformance.roles.oidc.tokens import Mutator, TokenParts, sign_jws

OTHER_ORG = "https://attacker-org.okta.com"
OTHER_CLIENT = "0oa1otherclient00000"


@dataclass(frozen=True)
class TokenAttack:
    """A named forgery: what it does, the risk if accepted, and the fix."""

    name: str
    title: str
    risk: str
    fix: str
    mutate: Mutator


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


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
    claims = {k: v for k, v in parts.claims.items() if k != "at_hash"}
    return sign_jws({"alg": "none"}, claims, None)


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
        ),
        TokenAttack(
            "wrong_issuer",
            "ID token issued by another Okta org",
            "a token from any other org (another customer, or the attacker's own Okta trial) "
            "signs users in",
            "Compare iss exactly with the issuer configured for this tenant (the org URL).",
            wrong_issuer,
        ),
        TokenAttack(
            "wrong_audience",
            "ID token issued to another client",
            "a token obtained by any other app in the org signs users in to this app",
            "Refuse ID tokens whose aud is not your client id.",
            wrong_audience,
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
        ),
    )
}


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

__all__ = ["ATTACKS", "OTHER_CLIENT", "OTHER_ORG", "WRONG_STATE", "TokenAttack", "wrong_state"]
