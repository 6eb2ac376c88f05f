"""Hostile Universal Logout requests, beside the honest one (``roles.universal_logout``).

Each authentication attack is a small named forgery: it takes the honest
:class:`~oin_conformance.roles.oidc.tokens.TokenParts` of Okta's logout JWT and returns the
bearer token sent instead (``None``: no ``Authorization`` header at all). Every forgery models
an attacker who cannot use the org's private key: no token, an unsigned one, a broken
signature, another org's key, or a genuine token minted for another endpoint or long
expired. Whoever gets one accepted can log any user out of the app at will (a denial of
service against every customer of the app), and learns which users exist.

Each malformed body is signed honestly: only what the body says is wrong (Okta never sends
these; the app must still refuse them with 400 rather than log anyone out).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from joserfc.jwk import RSAKey

from oin_conformance.attacks.oidc import bad_signature
from oin_conformance.roles.oidc.tokens import TokenParts, sign_jws
from oin_conformance.roles.universal_logout import TYP

#: Another app's Global Token Revocation endpoint: a genuine token for it is the attacker's.
OTHER_ENDPOINT = "https://other-app.example.com/oauth/global-token-revocation"

Forge = Callable[[TokenParts], "str | None"]


@dataclass(frozen=True)
class LogoutAttack:
    """A named hostile logout request: what it is (``title``, with its article: "The app
    accepts <title>"), the risk if accepted, and the fix."""

    name: str
    title: str
    risk: str
    fix: str
    forge: Forge


def no_authorization(parts: TokenParts) -> str | None:
    """No ``Authorization`` header at all."""
    return None


def alg_none(parts: TokenParts) -> str:
    """Okta's claims, unsigned (``alg: none``, empty signature)."""
    return sign_jws({"typ": TYP, "alg": "none"}, parts.claims, None)


def wrong_audience(parts: TokenParts) -> str:
    """Signed by the org, but minted for another app's endpoint (``aud``)."""
    return parts.sign(claims=dict(parts.claims, aud=OTHER_ENDPOINT))


def expired(parts: TokenParts) -> str:
    """Signed by the org, but issued two hours ago and expired an hour ago."""
    now = int(time.time())
    claims = dict(parts.claims, iat=now - 7200, nbf=now - 7500, exp=now - 3600)
    return parts.sign(claims=claims)


def other_org_key(parts: TokenParts) -> str:
    """Okta's claims signed by another org's key (its own ``kid``, not in this org's JWKS)."""
    stranger = RSAKey.generate_key(2048, auto_kid=True)
    return parts.sign(header={"typ": TYP, "alg": "RS256", "kid": stranger.kid}, key=stranger)


AUTH_FIX = (
    "Before anything else, verify the bearer JWT: RS256 only, the signature with the Okta "
    "org's keys ({jwks}, selected by kid), typ global-token-revocation+jwt, iss = the org "
    "URL, sub = this app's client id / appInstanceId, aud = this endpoint's URL, and exp / "
    "nbf; answer 401 when any of it fails."
)

ATTACKS: dict[str, LogoutAttack] = {
    a.name: a
    for a in (
        LogoutAttack(
            "no_authorization",
            "a logout request without credentials",
            "anyone on the internet can log any user out",
            "Refuse a request without 'Authorization: Bearer <JWT>' with 401.",
            no_authorization,
        ),
        LogoutAttack(
            "alg_none",
            'an unsigned logout JWT (alg "none")',
            "anyone can write a token that logs any user out",
            'Accept only RS256 (the algorithm of Okta\'s SSO tokens); refuse "none".',
            alg_none,
        ),
        LogoutAttack(
            "bad_signature",
            "a logout JWT whose signature does not verify",
            "anyone can edit a token and log any user out",
            "Verify the JWT's signature with the key the org publishes for its kid and refuse "
            "the request when it does not verify.",
            bad_signature,
        ),
        LogoutAttack(
            "wrong_audience",
            "a logout JWT minted for another app's endpoint",
            "any other app that receives Okta's logout requests can replay them here",
            "Refuse a JWT whose aud is not this endpoint's URL (without query or fragment).",
            wrong_audience,
        ),
        LogoutAttack(
            "expired",
            "a logout JWT that expired an hour ago",
            "a logged or captured request can be replayed forever",
            "Refuse a JWT whose exp has passed or whose nbf lies ahead (allow at most a few "
            "minutes of clock skew).",
            expired,
        ),
        LogoutAttack(
            "other_org_key",
            "a logout JWT signed by another Okta org's key",
            "anyone with their own Okta org (a free trial) can log users out of any tenant",
            "Trust only the keys of the org configured for this tenant (its /oauth2/v1/keys or "
            "its SAML signing certificate), never a key named by the token itself.",
            other_org_key,
        ),
    )
}


@dataclass(frozen=True)
class MalformedBody:
    """A body Okta never sends, signed honestly; the app must answer 400."""

    name: str
    title: str
    body: str


MALFORMED: dict[str, MalformedBody] = {
    m.name: m
    for m in (
        MalformedBody("not_json", "a body that is not JSON", "sub_id=ada"),
        MalformedBody("no_subject", "a JSON body without sub_id", "{}"),
        MalformedBody(
            "unknown_format",
            "a subject of a format Okta does not use (phone_number)",
            '{"sub_id": {"format": "phone_number", "phone_number": "+12065550100"}}',
        ),
    )
}

__all__ = ["ATTACKS", "AUTH_FIX", "MALFORMED", "OTHER_ENDPOINT", "LogoutAttack", "MalformedBody"]
