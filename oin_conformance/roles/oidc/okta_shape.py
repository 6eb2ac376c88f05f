"""What makes the provider look like Okta's **org** authorization server, in one place.

Facts and sources: ``shared/reference/oidc.md`` (cited below as §n). Everything here is data
or a pure function of data: the discovery document (§1.2), the claim shapes of the thin ID
token, ``/userinfo``, the access token and ``/introspect`` (§1.5, §1.7), Okta's error bodies
(the JSON ``errorCode`` body, the HTML "400 Bad Request" page, the OAuth error JSON, the
``WWW-Authenticate`` headers) and Okta's wording for each refusal. The protocol itself —
which request is valid — is authlib's (:mod:`.provider`); this module only says how the
answer looks.

Wording that ``reference/oidc.md`` quotes from Okta is marked *[reference]*; the rest is
Okta's wording as reported by its users (*[reported]*) or the harness's own, written in
Okta's style (*[harness]*), where no captured Okta answer exists.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import urlencode

#: An authorization code lives 300 s and is single use (§1.3).
CODE_LIFETIME = 300
#: ID and access tokens of the org server live 60 minutes (§1.4).
TOKEN_LIFETIME = 3600
#: The org id Okta puts in ``idp`` (20 characters, ``00o`` prefix; §1.5).
ORG_ID = "00o1oinconformance01"
#: ``/oauth2/{id}/...``: a custom authorization server (``default`` or ``aus...``; §1.1).
CUSTOM_AS = re.compile(r"^/oauth2/(?!v1(?:/|$))([^/]+)(/.*)?$")
#: ``/.well-known/oauth-authorization-server/oauth2/{id}`` (custom server metadata; §1.1).
WELL_KNOWN_CUSTOM = re.compile(r"^/\.well-known/oauth-authorization-server/oauth2/([^/]+)$")

#: Claims Okta puts in the thin ID token of the code flow, in Okta's order (§1.5).
THIN_CLAIMS_ORDER = (
    "sub name email ver iss aud iat exp jti amr idp nonce preferred_username auth_time at_hash"
).split()

#: Scopes the org server advertises (§1.2). ``offline_access`` is advertised because Okta's
#: document lists it; an OIN app asking for it is refused (:data:`OIN_REFUSED_SCOPES`).
SCOPES_SUPPORTED = ("openid", "email", "profile", "address", "phone", "offline_access", "groups")
#: Scopes the org server refuses to an OIN integration: refresh tokens and ``offline_access``
#: are not supported for OIN apps (§1.4, §2.1; oin-submission.md §1.10).
OIN_REFUSED_SCOPES = ("offline_access",)
#: The only response type an OIN Web app is configured with (authorization code flow; §2.3).
RESPONSE_TYPES = ("code",)
#: Response modes that work with the code flow here (``okta_post_message`` is a browser
#: ``postMessage`` mode for Okta's own widgets: not advertised, refused).
RESPONSE_MODES = ("query", "fragment", "form_post")
#: Grant types advertised: the code grant (works) and ``refresh_token`` (Okta's document
#: lists it; an OIN app's refresh request is refused with Okta's ``unauthorized_client``).
GRANT_TYPES_SUPPORTED = ("authorization_code", "refresh_token")
#: Grant types Okta's org server knows but does not allow an OIN Web app: refused with
#: ``unauthorized_client`` after client authentication, as Okta refuses a grant type the
#: app is not configured with. Any other grant type is ``unsupported_grant_type``.
REFUSED_GRANT_TYPES = (
    "refresh_token",
    "password",
    "client_credentials",
    "implicit",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "urn:ietf:params:oauth:grant-type:saml2-bearer",
    "urn:ietf:params:oauth:grant-type:token-exchange",
    "urn:openid:params:grant-type:ciba",
    "interaction_code",
)
#: Client authentication methods, in Okta's order (§1.2, §1.4). ``private_key_jwt`` is
#: advertised only when the provider knows the client's public keys.
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "client_secret_jwt", "none")
PRIVATE_KEY_JWT = "private_key_jwt"
#: Algorithms Okta accepts for a ``client_secret_jwt`` / ``private_key_jwt`` assertion (§1.4).
SECRET_JWT_ALGS = ("HS256", "HS384", "HS512")
PRIVATE_KEY_JWT_ALGS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512")
CLAIMS_SUPPORTED = (
    "iss ver sub aud iat exp jti auth_time amr idp nonce name nickname preferred_username "
    "given_name middle_name family_name email email_verified profile zoneinfo locale address "
    "phone_number picture website gender birthdate updated_at at_hash c_hash"
).split()

#: Headers of a token response (Okta's; authlib's default says ``no-store`` only).
TOKEN_HEADERS = [
    ("Content-Type", "application/json"),
    ("Cache-Control", "no-cache, no-store"),
    ("Pragma", "no-cache"),
]
#: Discovery documents are cacheable for a day; the JWKS for an hour (§1.2, §1.6).
METADATA_HEADERS = [("Cache-Control", "max-age=86400, must-revalidate")]
KEYS_HEADERS = [("Cache-Control", "max-age=3600, must-revalidate")]


class Answer(NamedTuple):
    """An HTTP answer before any framework sees it: status, body (a JSON-able dict or
    text) and headers (authlib's ``(status, body, headers)`` convention)."""

    status: int
    body: Any
    headers: list[tuple[str, str]]


# --- users and claims ------------------------------------------------------------------------


def okta_user_id(username: str) -> str:
    """A stable Okta-looking user id (``00u`` + 17 characters) for ``username``."""
    digest = base64.b32encode(hashlib.sha256(username.lower().encode()).digest()).decode()
    return "00u" + digest.lower()[:17]


@dataclass(frozen=True)
class OktaUser:
    """The person the authorize endpoint signs in (the harness's test user by default)."""

    username: str
    email: str
    first_name: str
    last_name: str

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> OktaUser:
        return cls(
            username=fields["username"],
            email=fields.get("email") or fields["username"],
            first_name=fields.get("first_name", ""),
            last_name=fields.get("last_name", ""),
        )

    @property
    def sub(self) -> str:
        return okta_user_id(self.username)

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def fields(self) -> dict[str, str]:
        return {
            "username": self.username,
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
        }


@dataclass(frozen=True)
class SignedIn:
    """A user signed in at ``/authorize`` (what an authorization code and its tokens carry)."""

    user: OktaUser
    auth_time: int


def thin_id_token_claims(
    user: OktaUser, scopes: Sequence[str], *, email_verified: bool | None = None
) -> dict[str, Any]:
    """The user claims of Okta's *thin* code-flow ID token (§1.5: base claims plus ``name``,
    ``preferred_username`` and ``email``; the rest only at ``/userinfo``), and ``ver``,
    ``jti``, ``idp``. ``email_verified`` is added only when given (Okta never does)."""
    claims: dict[str, Any] = {"sub": user.sub, "ver": 1, "jti": "ID." + secrets.token_urlsafe(32)}
    if "profile" in scopes:
        claims.update(name=user.name, preferred_username=user.username)
    if "email" in scopes:
        claims["email"] = user.email
        if email_verified is not None:
            claims["email_verified"] = email_verified
    claims["idp"] = ORG_ID
    return claims


def in_okta_order(claims: Mapping[str, Any]) -> dict[str, Any]:
    """ID-token claims in the order Okta writes them (§1.5), unknown ones last."""
    ordered = {k: claims[k] for k in THIN_CLAIMS_ORDER if claims.get(k) is not None}
    ordered.update({k: v for k, v in claims.items() if k not in ordered and v is not None})
    return ordered


def userinfo_claims(
    user: OktaUser, scopes: Sequence[str], *, email_verified: bool | None = True
) -> dict[str, Any]:
    """``/userinfo`` for the granted scopes: the full profile (§1.7). Only ``sub`` when no
    profile/email scope was granted (Okta then answers 403, see :func:`insufficient_scope`)."""
    claims: dict[str, Any] = {"sub": user.sub}
    if "profile" in scopes:
        claims.update(
            name=user.name,
            locale="en_US",
            preferred_username=user.username,
            given_name=user.first_name,
            family_name=user.last_name,
            zoneinfo="America/Los_Angeles",
            updated_at=int(time.time()) - 86400,
        )
    if "email" in scopes:
        claims["email"] = user.email
        if email_verified is not None:
            claims["email_verified"] = email_verified
    return claims


def access_token_claims(
    *, issuer: str, audience: str, client_id: str, signed_in: SignedIn, scopes: Sequence[str]
) -> dict[str, Any]:
    """An org-server access token's claims (JWT-shaped, for Okta only; §1.7)."""
    now = int(time.time())
    return {
        "ver": 1,
        "jti": "AT." + secrets.token_urlsafe(32),
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + TOKEN_LIFETIME,
        "cid": client_id,
        "uid": signed_in.user.sub,
        "scp": list(scopes),
        "auth_time": signed_in.auth_time,
        "sub": signed_in.user.username,
    }


def introspection(claims: Mapping[str, Any], scope: str) -> dict[str, Any]:
    """``/introspect`` for a live access token: RFC 7662 fields in the order of Okta's
    example (Okta API reference, /introspect "Response Example (Success, Access Token)")."""
    return {
        "active": True,
        "token_type": "Bearer",
        "scope": scope,
        "client_id": claims["cid"],
        "username": claims["sub"],
        "exp": claims["exp"],
        "iat": claims["iat"],
        "sub": claims["sub"],
        "aud": claims["aud"],
        "iss": claims["iss"],
        "jti": claims["jti"],
        "uid": claims["uid"],
    }


# --- discovery --------------------------------------------------------------------------------


def auth_methods(private_key_jwt: bool) -> list[str]:
    """Client authentication methods to advertise: ``private_key_jwt`` only when it works."""
    methods = list(AUTH_METHODS)
    if private_key_jwt:
        methods.insert(3, PRIVATE_KEY_JWT)
    return methods


def discovery_document(*, issuer: str, base: str, private_key_jwt: bool) -> dict[str, Any]:
    """The org server's ``/.well-known/openid-configuration`` (§1.2), advertising only what
    works or what Okta refuses to an OIN app in Okta's own way (``offline_access``,
    ``refresh_token``). Left out because nothing here serves them: the implicit and hybrid
    response types, the password and device grants, ``registration_endpoint``,
    ``device_authorization_endpoint``, ``pushed_authorization_request_endpoint`` and request
    objects; and RFC 9207's ``iss`` flag, which Okta does not advertise either. The
    ``*_auth_signing_alg_values_supported`` lists are RFC 8414's, required once a JWT client
    authentication method is advertised."""
    methods = auth_methods(private_key_jwt)
    algs = list(SECRET_JWT_ALGS) + (list(PRIVATE_KEY_JWT_ALGS) if private_key_jwt else [])
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{base}/authorize",
        "token_endpoint": f"{base}/token",
        "userinfo_endpoint": f"{base}/userinfo",
        "jwks_uri": f"{base}/keys",
        "response_types_supported": list(RESPONSE_TYPES),
        "response_modes_supported": list(RESPONSE_MODES),
        "grant_types_supported": list(GRANT_TYPES_SUPPORTED),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": list(SCOPES_SUPPORTED),
        "token_endpoint_auth_methods_supported": methods,
        "token_endpoint_auth_signing_alg_values_supported": algs,
        "claims_supported": list(CLAIMS_SUPPORTED),
        "code_challenge_methods_supported": ["S256"],
        "introspection_endpoint": f"{base}/introspect",
        "introspection_endpoint_auth_methods_supported": methods,
        "introspection_endpoint_auth_signing_alg_values_supported": algs,
        "revocation_endpoint": f"{base}/revoke",
        "revocation_endpoint_auth_methods_supported": methods,
        "revocation_endpoint_auth_signing_alg_values_supported": algs,
        "end_session_endpoint": f"{base}/logout",
    }


# --- Okta's wording ---------------------------------------------------------------------------


class Wording:
    """What Okta says when it refuses something. Marks (module docstring): [reference],
    [reported], [harness]."""

    # /authorize, on Okta's error page (never redirected; §1.3)
    #: [harness]
    UNKNOWN_CLIENT = "Invalid value for 'client_id' parameter."
    #: [reference §1.3]
    REDIRECT_NOT_REGISTERED = (
        "The 'redirect_uri' parameter must be a Login redirect URI in the client app "
        "settings: {org}/admin/app/oidc_client/instance/{client_id}#tab-general"
    )

    # /authorize, redirected back with the state (the error codes: §1.3)
    #: [harness] (Okta requires state: §1.3)
    STATE_REQUIRED = "The authorization request is missing the state parameter (Okta requires it)."
    #: [reported]
    RESPONSE_TYPE = (
        "The response type is not supported by the authorization server. Configured "
        "response types: [code]."
    )
    #: [harness]
    OPENID_REQUIRED = "The requested scope is invalid: 'openid' is required."
    #: [reported] (a scope the server does not have, e.g. a custom one)
    SCOPES_NOT_CONFIGURED = (
        "One or more scopes are not configured for the authorization server resource."
    )
    #: [reported] Okta's documented invalid-scope answer (Okta API reference, /authorize
    #: "Response Example (Error)"), given here to an OIN app's ``offline_access``:
    #: reference/oidc.md §2.1 says only that it is unavailable to OIN apps.
    SCOPE_INVALID = "The requested scope is invalid, unknown, or malformed."
    #: [harness]
    PKCE_METHOD = "PKCE code challenge method is not supported. Supported: S256."
    PKCE_METHOD_MISSING = "The 'code_challenge_method' parameter is required with 'code_challenge'."
    PKCE_CHALLENGE = (
        "The 'code_challenge' must be 43 to 128 characters of [A-Za-z0-9-._~] (RFC 7636)."
    )
    RESPONSE_MODE = "The response mode is not supported: '{mode}'."

    # /token, /revoke, /introspect
    #: [reported]
    MULTIPLE_CREDENTIALS = (
        "Cannot supply multiple client credentials. Use one of the following: credentials "
        "in the Authorization header, credentials in the post body, or a client_assertion "
        "in the post body."
    )
    #: [reference §1.4]
    NO_CREDENTIALS = "No client credentials found."
    #: [reported]
    CLIENT_REFUSED = "The client secret supplied for a confidential client is invalid."
    UNSUPPORTED_GRANT = (
        "The authorization grant type is not supported by the authorization server. "
        "Configured grant types: [authorization_code]."
    )
    GRANT_NOT_ALLOWED = (
        "The client is not authorized to use the provided grant type. Configured grant "
        "types: [authorization_code]."
    )
    CODE_INVALID = "The authorization code is invalid or has expired."
    REDIRECT_MISMATCH = (
        "The 'redirect_uri' does not match the redirection URI used in the authorization request."
    )
    PKCE_FAILED = "PKCE verification failed."
    #: [harness]
    VERIFIER_NOT_EXPECTED = (
        "The 'code_verifier' parameter is not expected: no code_challenge was sent in the "
        "authorization request."
    )
    VERIFIER_MISSING = (
        "The 'code_verifier' parameter is required: the authorization request sent a "
        "code_challenge."
    )
    VERIFIER_MALFORMED = (
        "The 'code_verifier' must be 43 to 128 characters of [A-Za-z0-9-._~] (RFC 7636)."
    )

    # client assertions (RFC 7523)
    #: [reported]
    ASSERTION_EXPIRED = "The client_assertion token is expired."
    ASSERTION_AUDIENCE = (
        "The audience claim for client_assertion must be the endpoint invoked for the request."
    )
    #: [harness]
    ASSERTION_INVALID = "The client_assertion is invalid: {why}"
    ASSERTION_METHOD = (
        "The client is not configured for {method}: it has no public keys registered."
    )

    #: [harness]
    HINT_UNSUPPORTED = "The 'token_type_hint' is not supported for this endpoint."

    # /userinfo: [reference §1.7]
    BEARER_REFUSED = "The access token is invalid."

    # /logout: [harness]
    HINT_INVALID = "The 'id_token_hint' parameter is invalid or missing."
    POST_LOGOUT_NOT_REGISTERED = (
        "The 'post_logout_redirect_uri' parameter must be a Logout redirect URI in the client "
        "app settings."
    )


#: authlib's own descriptions -> Okta's, for refusals authlib makes itself (the error code
#: stays authlib's: it is the RFC's, and Okta's).
FROM_AUTHLIB = {
    "Invalid 'code' in request.": Wording.CODE_INVALID,
    "Invalid 'redirect_uri' in request.": Wording.REDIRECT_MISMATCH,
    "Code challenge failed.": Wording.PKCE_FAILED,
    "Invalid 'code_challenge'": Wording.PKCE_CHALLENGE,
    "Unsupported 'code_challenge_method'": Wording.PKCE_METHOD,
    "Missing 'code_verifier'": Wording.VERIFIER_MISSING,
    "Invalid 'code_verifier'": Wording.VERIFIER_MALFORMED,
    "The authorization request had no 'code_challenge', but a 'code_verifier' was provided.": (
        Wording.VERIFIER_NOT_EXPECTED
    ),
}
#: Okta's wording per error code where one description fits every case.
BY_CODE = {
    "unsupported_response_type": Wording.RESPONSE_TYPE,
    "unsupported_grant_type": Wording.UNSUPPORTED_GRANT,
    "unauthorized_client": Wording.GRANT_NOT_ALLOWED,
    "unsupported_token_type": Wording.HINT_UNSUPPORTED,
}


def okta_description(error: str, description: str | None) -> str:
    """Okta's wording for an OAuth error authlib raised (its own when Okta's is unknown)."""
    if error in BY_CODE:
        return BY_CODE[error]
    text = description or ""
    return FROM_AUTHLIB.get(text, text)


def error_text(text: str) -> str:
    """``text`` limited to what an OAuth ``error_description`` may hold (RFC 6749 §4.1.2.1:
    printable ASCII without ``"`` and ``\\``), for descriptions that quote the app's input."""
    return "".join(c if 0x20 <= ord(c) <= 0x7E and c not in '"\\' else "?" for c in text)[:300]


def client_auth_refusal(presented: str) -> tuple[int, str, str]:
    """(status, error, description) Okta answers when client authentication fails, by what
    the app presented (see :func:`presented_client_auth`)."""
    if presented == "multiple":
        return 400, "invalid_request", Wording.MULTIPLE_CREDENTIALS
    if presented == "none":
        return 401, "invalid_client", Wording.NO_CREDENTIALS
    return 401, "invalid_client", Wording.CLIENT_REFUSED


def presented_client_auth(authorization: str, form: Mapping[str, str]) -> str:
    """Which client credentials a token/revoke/introspect request carries (what the app
    *tried*, whether it is valid or not): ``client_secret_basic``, ``client_secret_post``,
    ``client_secret_jwt`` / ``private_key_jwt`` (by the assertion's algorithm), ``multiple``
    or ``none``."""
    basic = authorization[:6].lower() == "basic "
    secret = "client_secret" in form
    assertion = form.get("client_assertion")
    if basic + secret + bool(assertion) > 1:
        return "multiple"
    if basic:
        return "client_secret_basic"
    if assertion:
        return "client_secret_jwt" if assertion_alg(assertion).startswith("HS") else PRIVATE_KEY_JWT
    if secret:
        return "client_secret_post"
    return "none"


def assertion_alg(assertion: str) -> str:
    """The ``alg`` of a compact JWS header, or "" when it cannot be read."""
    import json

    try:
        head = assertion.split(".", 1)[0]
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
        return str(header.get("alg", "")) if isinstance(header, dict) else ""
    except ValueError:
        return ""


# --- Okta's answers ---------------------------------------------------------------------------


def okta_error(code: str, summary: str) -> dict[str, Any]:
    """Okta's management-API error body (``errorCode`` E0000...)."""
    return {
        "errorCode": code,
        "errorSummary": summary,
        "errorLink": code,
        "errorId": "oae" + secrets.token_hex(8),
        "errorCauses": [],
    }


def not_found(summary: str = "Not found: Resource not found") -> Answer:
    return Answer(404, okta_error("E0000007", summary), [])


def method_not_allowed(status: int = 405) -> Answer:
    return Answer(
        status, okta_error("E0000022", "The endpoint does not support the provided HTTP method"), []
    )


def internal_error() -> Answer:
    return Answer(500, {"errorCode": "E0000009", "errorSummary": "Internal Server Error"}, [])


def error_page(code: str, summary: str, org_url: str) -> Answer:
    """Okta's HTML "400 Bad Request" page: Okta never redirects to an unregistered URI."""
    page = (
        "<!DOCTYPE html><html><head><title>Error</title></head><body>"
        "<h1>400 Bad Request</h1>"
        f"<p>Error Code: <span id='error-code'>{html.escape(code)}</span></p>"
        f"<p>Description: <span id='error-description'>{html.escape(summary)}</span></p>"
        f"<p><a href='{html.escape(org_url)}/'>Go to Homepage</a></p>"
        "</body></html>"
    )
    return Answer(400, page, [("Content-Type", "text/html; charset=utf-8")])


def redirect(location: str) -> Answer:
    return Answer(302, "", [("Location", location), ("Referrer-Policy", "no-referrer")])


def authorization_response(
    redirect_uri: str, mode: str, params: Iterable[tuple[str, str]]
) -> Answer:
    """The answer to the app's redirect URI: a redirect with the query or fragment, or
    Okta's auto-posting form (``form_post``)."""
    pairs = list(params)
    if mode == "form_post":
        inputs = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}"/>'
            for k, v in pairs
        )
        page = (
            "<html><head><title>Redirecting...</title></head>"
            '<body onload="document.forms[0].submit()">'
            f'<form method="post" action="{html.escape(redirect_uri)}">{inputs}</form>'
            "</body></html>"
        )
        return Answer(
            200,
            page,
            [("Content-Type", "text/html; charset=utf-8"), ("Referrer-Policy", "no-referrer")],
        )
    sep = "#" if mode == "fragment" else ("&" if "?" in redirect_uri else "?")
    return redirect(redirect_uri + sep + urlencode(pairs))


def oauth_error(status: int, error: str, description: str) -> Answer:
    """Okta's OAuth error JSON (token, revoke, introspect); 401 names Basic auth."""
    headers = [h for h in TOKEN_HEADERS]
    if status == 401:
        headers.append(("WWW-Authenticate", 'Basic realm="Okta"'))
    return Answer(status, {"error": error, "error_description": description}, headers)


def userinfo_unauthorized(base: str) -> Answer:
    """``/userinfo`` with a missing, unknown, expired or revoked token (§1.7)."""
    return Answer(
        401,
        "",
        [
            (
                "WWW-Authenticate",
                f'Bearer authorization_uri="{base}/authorize", realm="{base}", scope="openid", '
                f'error="invalid_token", error_description="{Wording.BEARER_REFUSED}"',
            )
        ],
    )


def insufficient_scope() -> Answer:
    """``/userinfo`` for a token without profile/email/address/phone scopes (§1.7)."""
    return Answer(403, "", [("WWW-Authenticate", 'Bearer error="insufficient_scope"')])


__all__ = [
    "CODE_LIFETIME",
    "ORG_ID",
    "THIN_CLAIMS_ORDER",
    "TOKEN_LIFETIME",
    "Answer",
    "OktaUser",
    "SignedIn",
    "Wording",
    "discovery_document",
    "okta_user_id",
]
