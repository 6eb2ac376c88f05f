"""Okta's **org** authorization server as authlib's OAuth 2 / OpenID Connect server.

The protocol is authlib's, set up the way Okta's org server behaves (facts:
``shared/reference/oidc.md`` §1; shapes and wording: :mod:`.okta_shape`):
:class:`OktaAuthorizationServer` is ``authlib.oauth2.rfc6749.AuthorizationServer`` with

* the authorization-code grant (:class:`OktaCodeGrant`: 300 s single-use codes bound to the
  client, redirect URI and server; Okta's order of checks at ``/authorize``);
* PKCE accepting ``S256`` only (:class:`S256CodeChallenge`, authlib's ``CodeChallenge``);
* OpenID Connect on the code grant (:class:`OktaOpenIDCode`, authlib's ``OpenIDCode``: a
  thin RS256 ID token, ``aud`` a string, signed through the forgery hook);
* client authentication by ``client_secret_basic`` / ``_post`` and RFC 7523 assertions
  (``client_secret_jwt``; ``private_key_jwt`` when the client's public keys are known),
  authlib checking signature, ``iss``/``sub``, ``aud`` (the endpoint invoked), ``exp`` and a
  single-use ``jti``;
* the UserInfo endpoint (RFC 6750 bearer tokens), RFC 7009 revocation, RFC 7662
  introspection and RP-initiated logout;
* grant types an OIN app is not given (refresh tokens, password ...) refused after client
  authentication, and ``offline_access`` refused, as Okta refuses them to an OIN app.

authlib's refusals come back as Okta's error bodies and wording (``handle_error_response``);
answers are :class:`~.okta_shape.Answer` s, which the werkzeug adapter (:mod:`.adapter`,
:class:`~.adapter.OktaOrgOP`) serves. What the servers share — the client, keys, issued
codes and tokens, and what a check armed — is one :class:`ProviderState`.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from authlib.common.security import is_secure_transport
from authlib.oauth2.rfc6749 import (
    AccessDeniedError,
    AuthorizationCodeGrant,
    AuthorizationServer,
    BaseGrant,
    ClientMixin,
    InvalidClientError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    OAuth2Payload,
    OAuth2Request,
    ResourceProtector,
    TokenEndpointMixin,
    UnauthorizedClientError,
    scope_to_list,
)
from authlib.oauth2.rfc6750 import BearerTokenValidator, InsufficientScopeError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oidc.core import OpenIDCode, UserInfoEndpoint
from authlib.oidc.core.models import AuthorizationCodeMixin
from authlib.oidc.core.util import create_half_hash
from authlib.oidc.rpinitiated import EndSessionEndpoint
from joserfc import jwt
from joserfc.errors import ClaimError, ExpiredTokenError, JoseError
from joserfc.jwk import KeySet, OctKey
from werkzeug.wrappers import Request

from oin_conformance.roles.oidc import okta_shape
from oin_conformance.roles.oidc.okta_shape import (
    CODE_LIFETIME,
    PRIVATE_KEY_JWT,
    Answer,
    OktaUser,
    SignedIn,
    Wording,
)
from oin_conformance.roles.oidc.tokens import (
    AccessToken,
    JwksEdit,
    Mutator,
    SigningKeys,
    TokenParts,
    TokenStore,
    decode_unverified,
    mint_access_token,
    mint_id_token,
    okta_header,
)

#: Every client authentication method the endpoints try, in Okta's order (the client
#: decides which it may use: never ``none``, ``private_key_jwt`` only with public keys).
ALL_AUTH_METHODS = [*okta_shape.AUTH_METHODS[:3], PRIVATE_KEY_JWT, "none"]


# --- what a check arms -----------------------------------------------------------------------


class Unset:
    """Marks an :meth:`Armed.arm` argument that was not given."""


UNSET = Unset()


@dataclass
class Behaviour:
    """What a check armed; :meth:`Armed.reset` restores the honest defaults."""

    #: Applied to the next ID token the token endpoint issues (then forgotten).
    mutator: Mutator | None = None
    mutator_name: str = ""
    #: ``state`` sent on the next authorize redirect instead of the app's (then forgotten).
    callback_state: str | None = None
    #: ``email_verified`` at /userinfo: True / False, or None to leave it out.
    email_verified: bool | None = True
    #: Put ``email_verified`` in the ID token as well (Okta's thin token does not).
    email_verified_in_id_token: bool = False
    #: The user the authorize endpoint signs in; None = the harness's test user.
    user: OktaUser | None = None
    #: The published key set, changed for this check (kept until reset: an app may fetch
    #: the keys more than once).
    jwks_edit: JwksEdit | None = None
    #: Rotate to a brand-new signing key just before signing the next ID token (then
    #: forgotten; the new key stays until reset).
    rotate_before_signing: bool = False
    #: The ``issuer`` the org server's discovery document names (None = its own).
    discovery_issuer: str | None = None
    #: Whose claims ``/userinfo`` answers with (None = the user the token was issued to).
    userinfo_user: OktaUser | None = None


class Armed:
    """The behaviour a check armed, consulted by the next answers. Thread-safe."""

    def __init__(self, default_user: OktaUser) -> None:
        self.default_user = default_user
        self.behaviour = Behaviour()
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.behaviour = Behaviour()

    def arm(
        self,
        *,
        mutator: Mutator | None = None,
        mutator_name: str = "",
        callback_state: str | None = None,
        email_verified: bool | None | Unset = UNSET,
        email_verified_in_id_token: bool | None = None,
        user: OktaUser | None = None,
        jwks_edit: JwksEdit | None = None,
        rotate_before_signing: bool = False,
        discovery_issuer: str | None = None,
        userinfo_user: OktaUser | None = None,
    ) -> None:
        """Change what the next answers look like (see :class:`Behaviour`)."""
        changes: dict[str, Any] = {}
        if mutator is not None:
            changes["mutator"] = mutator
            changes["mutator_name"] = mutator_name or getattr(mutator, "__name__", "")
        if callback_state is not None:
            changes["callback_state"] = callback_state
        if not isinstance(email_verified, Unset):
            changes["email_verified"] = email_verified
        if email_verified_in_id_token is not None:
            changes["email_verified_in_id_token"] = email_verified_in_id_token
        if user is not None:
            changes["user"] = user
        if jwks_edit is not None:
            changes["jwks_edit"] = jwks_edit
        if rotate_before_signing:
            changes["rotate_before_signing"] = True
        if discovery_issuer is not None:
            changes["discovery_issuer"] = discovery_issuer
        if userinfo_user is not None:
            changes["userinfo_user"] = userinfo_user
        with self._lock:
            self.behaviour = replace(self.behaviour, **changes)

    def current_user(self) -> OktaUser:
        """Whom ``/authorize`` signs in now."""
        return self.behaviour.user or self.default_user

    def take_mutator(self) -> tuple[Mutator | None, str]:
        """The armed ID-token mutator and its name, forgotten once taken."""
        with self._lock:
            b = self.behaviour
            self.behaviour = replace(b, mutator=None, mutator_name="")
        return b.mutator, b.mutator_name

    def take_rotation(self) -> bool:
        """Whether to rotate the signing key before the next ID token (forgotten once taken)."""
        with self._lock:
            rotate = self.behaviour.rotate_before_signing
            self.behaviour = replace(self.behaviour, rotate_before_signing=False)
        return rotate

    def take_callback_state(self) -> str | None:
        """The armed callback ``state``, forgotten once taken."""
        with self._lock:
            state = self.behaviour.callback_state
            self.behaviour = replace(self.behaviour, callback_state=None)
        return state


@dataclass(frozen=True)
class AuthServer:
    """The org server (id "org") or a custom one ("default", "aus...")."""

    id: str
    issuer: str
    base: str  # URL of the endpoint folder ("{org}/oauth2/v1" or "{org}/oauth2/default/v1")

    @property
    def is_org(self) -> bool:
        return self.id == "org"

    @property
    def access_token_audience(self) -> str:
        return self.issuer if self.is_org else f"api://{self.id}"


# --- authlib's models -----------------------------------------------------------------------


class OktaClient(ClientMixin):
    """The ISV's OIDC app as registered in the Okta org: a confidential Web app with the
    authorization-code grant, its redirect URIs and (optionally) its public keys."""

    def __init__(
        self,
        client_id: str,
        secret: str,
        redirect_uris: Callable[[], list[str]],
        post_logout_redirect_uris: Callable[[], list[str]],
        jwks: KeySet | None = None,
    ) -> None:
        self.client_id = client_id
        self.secret = secret
        self.redirect_uris = redirect_uris
        self.post_logout_redirect_uris = post_logout_redirect_uris
        self.jwks = jwks

    @property
    def client_metadata(self) -> dict[str, Any]:
        return {
            "redirect_uris": self.redirect_uris(),
            "post_logout_redirect_uris": self.post_logout_redirect_uris(),
        }

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None  # Okta requires redirect_uri on every authorize request

    def get_allowed_scope(self, scope: str) -> str:
        return scope  # the server's validate_requested_scope applies Okta's rules

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris()  # exact match (§1.3)

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret.encode(), self.secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if method == "none":
            return False  # a confidential client must authenticate (RFC 6749 §3.2.1)
        if method == PRIVATE_KEY_JWT:
            return self.jwks is not None
        return True

    def check_response_type(self, response_type: str) -> bool:
        return response_type in okta_shape.RESPONSE_TYPES

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"  # no refresh tokens for an OIN app


@dataclass
class IssuedCode(AuthorizationCodeMixin):
    """An authorization code: 300 s, single use, bound to its server, client and URI."""

    code: str
    server: str
    client_id: str
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    signed_in: SignedIn
    expires: float

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.signed_in.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> list[str]:
        return ["pwd"]


class ProviderState:
    """What the authorization servers (org and custom) share: the client, the signing keys,
    issued codes and tokens, used assertion ids, and what a check armed. Thread-safe."""

    def __init__(
        self,
        *,
        client: OktaClient,
        keys: SigningKeys,
        default_user: OktaUser,
        org_url: Callable[[], str],
    ) -> None:
        self.client = client
        self.keys = keys
        self.org_url = org_url
        self.tokens = TokenStore()
        self.armed = Armed(default_user)
        self._codes: dict[str, IssuedCode] = {}
        self._jtis: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def published_jwks(self) -> dict[str, Any]:
        """What ``/keys`` answers now: the key set, as the current check edited it."""
        return self.keys.jwks(self.armed.behaviour.jwks_edit)

    def save_code(self, code: IssuedCode) -> None:
        with self._lock:
            self._codes[code.code] = code

    def take_code(self, code: str) -> IssuedCode | None:
        with self._lock:
            return self._codes.pop(code, None)

    def first_use_of_jti(self, client_id: str, jti: str) -> bool:
        """Whether a client assertion's ``jti`` is new (then remembered)."""
        with self._lock:
            if (client_id, jti) in self._jtis:
                return False
            self._jtis.add((client_id, jti))
            return True


class _Payload(OAuth2Payload):
    def __init__(self, request: Request) -> None:
        self._request = request

    @property
    def data(self) -> Any:
        return self._request.values

    @property
    def datalist(self) -> dict[str, list[str]]:
        return {k: self._request.values.getlist(k) for k in self._request.values}


class OAuthRequest(OAuth2Request):
    """authlib's request, made from a werkzeug request (what authlib's Flask adapter does,
    for werkzeug), plus what the adapter needs to answer in Okta's shape."""

    def __init__(self, request: Request, *, endpoint: str, endpoint_url: str, port: int) -> None:
        # authlib refuses plain-HTTP request URLs except on loopback (right for a production
        # server). This test double serves plain HTTP on loopback, or behind a proxy named
        # by public_url: the request URL is the advertised one when authlib accepts it,
        # else the loopback address the server listens on.
        uri = endpoint_url
        if not is_secure_transport(uri):
            uri = f"http://127.0.0.1:{port}{urlsplit(endpoint_url).path}"
        super().__init__(request.method, uri, headers=request.headers)
        self._werkzeug = request
        self.payload = _Payload(request)
        #: authorize, token, userinfo, revoke, introspect, logout
        self.endpoint = endpoint
        #: The endpoint's advertised URL (a client assertion's required audience).
        self.endpoint_url = endpoint_url
        #: Validated by Okta's /authorize checks; errors go back the same way.
        self.response_mode = "query"
        #: What the authorize request came to (for the observation).
        self.outcome = ""
        #: The mutator the ID token went through, if any (for the observation).
        self.mutator_name = ""

    @property
    def args(self) -> Any:
        return self._werkzeug.args

    @property
    def form(self) -> Any:
        return self._werkzeug.form

    @property
    def presented(self) -> str:
        """The client credentials the request carries (see ``presented_client_auth``)."""
        return okta_shape.presented_client_auth(
            self._werkzeug.headers.get("Authorization", ""), self._werkzeug.form
        )


# --- the grant, its extensions, client assertions -----------------------------------------


class S256CodeChallenge(CodeChallenge):
    """authlib's PKCE (RFC 7636), accepting ``S256`` only, as Okta does (§1.3)."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: Any) -> None:
        data = grant.request.payload.data
        if data.get("code_challenge") and not data.get("code_challenge_method"):
            raise InvalidRequestError(Wording.PKCE_METHOD_MISSING)
        super().validate_code_challenge(grant, redirect_uri)


class OktaCodeGrant(AuthorizationCodeGrant):
    """authlib's authorization-code grant with Okta's codes and answers."""

    TOKEN_ENDPOINT_AUTH_METHODS = ALL_AUTH_METHODS
    TOKEN_RESPONSE_HEADER = okta_shape.TOKEN_HEADERS
    AUTHORIZATION_CODE_LENGTH = 43

    def create_authorization_response(self, redirect_uri: str, grant_user: Any) -> Answer:
        """authlib's, answering in the request's response mode (query, fragment or Okta's
        auto-posting form), with a forged ``state`` when a check armed one."""
        if not grant_user:
            raise AccessDeniedError(redirect_uri=redirect_uri)
        request: OAuthRequest = self.request
        request.user = grant_user
        code = self.generate_authorization_code()
        self.save_authorization_code(code, request)
        forged = self.server.state.armed.take_callback_state()
        state = forged if forged is not None else request.payload.state
        mode = request.response_mode
        request.outcome = "code issued" + (" (form_post)" if mode == "form_post" else "")
        return okta_shape.authorization_response(
            redirect_uri, mode, [("code", code), ("state", state)]
        )

    def save_authorization_code(self, code: str, request: OAuthRequest) -> None:
        data = request.payload.data
        self.server.state.save_code(
            IssuedCode(
                code=code,
                server=self.server.info.id,
                client_id=request.client.get_client_id(),
                redirect_uri=request.payload.redirect_uri,
                scope=request.scope,
                nonce=data.get("nonce") or None,
                code_challenge=data.get("code_challenge") or None,
                code_challenge_method=data.get("code_challenge_method") or None,
                signed_in=request.user,
                expires=time.time() + CODE_LIFETIME,
            )
        )

    def query_authorization_code(self, code: str, client: OktaClient) -> IssuedCode | None:
        # Taken on first presentation: a code is single use even when that redemption
        # fails (a wrong redirect_uri burns it too).
        issued = self.server.state.take_code(code)
        if issued is None or issued.expires < time.time():
            return None
        if issued.server != self.server.info.id or issued.client_id != client.get_client_id():
            return None
        return issued

    def delete_authorization_code(self, authorization_code: IssuedCode) -> None:
        pass  # already taken by query_authorization_code

    def authenticate_user(self, authorization_code: IssuedCode) -> SignedIn:
        return authorization_code.signed_in


class OinRefusedGrant(BaseGrant, TokenEndpointMixin):
    """Grant types Okta's org server knows but an OIN Web app is not given (refresh tokens,
    password, client credentials ...): the client authenticates, then Okta refuses with
    ``unauthorized_client`` (the OIN: no refresh tokens; §2.1, §2.3)."""

    TOKEN_ENDPOINT_AUTH_METHODS = ALL_AUTH_METHODS

    @classmethod
    def check_token_endpoint(cls, request: OAuth2Request) -> bool:
        return bool(
            request.payload.grant_type in okta_shape.REFUSED_GRANT_TYPES
            and request.method in cls.TOKEN_ENDPOINT_HTTP_METHODS
        )

    def validate_token_request(self) -> None:
        self.authenticate_token_endpoint_client()
        raise UnauthorizedClientError(Wording.GRANT_NOT_ALLOWED)

    def create_token_response(self) -> None:
        raise UnauthorizedClientError(Wording.GRANT_NOT_ALLOWED)


class OktaOpenIDCode(OpenIDCode):
    """authlib's OpenID Connect for the code grant: an RS256 ID token in Okta's thin shape
    (``aud`` a string, Okta's claims and order; §1.5), signed through the forgery hook."""

    def __init__(self, server: OktaAuthorizationServer) -> None:
        super().__init__(require_nonce=False)
        self.server = server

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        return False  # Okta is not documented to refuse a reused nonce (§4.2)

    def get_client_claims(self, client: OktaClient) -> dict[str, Any]:
        return {"iss": self.server.info.issuer, "aud": client.get_client_id()}

    def generate_user_info(self, user: SignedIn, scope: str) -> dict[str, Any]:
        behaviour = self.server.state.armed.behaviour
        shown = behaviour.email_verified if behaviour.email_verified_in_id_token else None
        return okta_shape.thin_id_token_claims(
            user.user, scope_to_list(scope) or [], email_verified=shown
        )

    def encode_id_token(self, token: dict[str, Any], request: OAuthRequest) -> str:
        """authlib's claims (iss, aud, iat, exp, nonce, auth_time, amr, at_hash, user info)
        in Okta's order, signed by the current key — or by the armed mutator. A check may
        have the key rotated first (Okta rotating "just before signing")."""
        claims = self.get_compatible_claims(request)
        claims.update(self.get_authorization_code_claims(request.authorization_code))
        claims["at_hash"] = create_half_hash(token["access_token"], "RS256").decode()
        claims.update(self.generate_user_info(request.user, token["scope"]))
        state = self.server.state
        key = state.keys.rotate() if state.armed.take_rotation() else state.keys.signing
        parts = TokenParts(
            header=okta_header(key),
            claims=okta_shape.in_okta_order(claims),
            key=key,
            issuer=self.server.info.issuer,
            client_id=request.client.get_client_id(),
            certificate_pem=state.keys.certificate(key),
        )
        mutator, request.mutator_name = self.server.state.armed.take_mutator()
        return mint_id_token(parts, mutator)


class AssertionRefused(InvalidClientError):
    """A client assertion refused (RFC 7523 checks by authlib), in Okta's wording."""

    status_code = 401


class _ClientAssertion(JWTBearerClientAssertion):
    """RFC 7523 client authentication by authlib (signature, ``iss`` = ``sub`` = client,
    ``aud`` = the endpoint invoked, ``exp``, single-use ``jti``), one object per request so
    the audience is that request's endpoint."""

    ALGORITHMS: tuple[str, ...] = ()

    def __init__(self, server: OktaAuthorizationServer, audience: str) -> None:
        super().__init__(validate_jti=True, leeway=60)
        self.server = server
        self.audience = audience

    def __call__(self, query_client: Any, request: OAuthRequest) -> Any:
        assertion = request.form.get("client_assertion") or ""
        if okta_shape.assertion_alg(assertion) not in self.ALGORITHMS:
            return None  # not an assertion of this method
        return super().__call__(query_client, request)

    def get_audiences(self) -> list[str]:
        return [self.audience]

    def validate_jti(self, claims: Mapping[str, Any], jti: str) -> bool:
        return self.server.state.first_use_of_jti(str(claims["sub"]), jti)

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> Any:
        # authlib's, limited to the method's algorithms and answering in Okta's words.
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=list(self.ALGORITHMS))
        except JoseError as exc:
            raise _assertion_refused(exc, exc.description or exc.error) from exc
        try:
            self.verify_claims(token.claims)
        except InvalidClientError as exc:
            raise _assertion_refused(exc.__cause__, exc.description or "") from exc
        return token.claims


def _assertion_refused(cause: BaseException | None, description: str) -> AssertionRefused:
    if isinstance(cause, ExpiredTokenError):
        text = Wording.ASSERTION_EXPIRED
    elif isinstance(cause, ClaimError) and cause.claim == "aud":
        text = Wording.ASSERTION_AUDIENCE
    else:
        text = Wording.ASSERTION_INVALID.format(why=okta_shape.error_text(description))
    return AssertionRefused(description=text)


class ClientSecretJWT(_ClientAssertion):
    """``client_secret_jwt``: HMAC with the client secret (§1.4)."""

    CLIENT_AUTH_METHOD = "client_secret_jwt"
    ALGORITHMS = okta_shape.SECRET_JWT_ALGS

    def resolve_client_public_key(self, client: OktaClient) -> OctKey:
        return OctKey.import_key(client.secret)


class PrivateKeyJWT(_ClientAssertion):
    """``private_key_jwt``: signed with a key whose public half the client registered."""

    CLIENT_AUTH_METHOD = PRIVATE_KEY_JWT
    ALGORITHMS = okta_shape.PRIVATE_KEY_JWT_ALGS

    def resolve_client_public_key(self, client: OktaClient) -> KeySet:
        assert client.jwks is not None  # the client checks the method first
        return client.jwks

    def __call__(self, query_client: Any, request: OAuthRequest) -> Any:
        if self.server.state.client.jwks is None:
            return None
        return super().__call__(query_client, request)


# --- endpoints ------------------------------------------------------------------------------


class _Bearer(BearerTokenValidator):
    """RFC 6750 bearer tokens: the access tokens this server issued (authlib judges expiry,
    revocation and scope)."""

    def __init__(self, server: OktaAuthorizationServer) -> None:
        super().__init__()
        self.server = server

    def authenticate_token(self, token_string: str) -> AccessToken | None:
        return self.server.find_token(token_string)


class _Protector(ResourceProtector):
    """authlib's resource protector, also reading a token POSTed in the form body (RFC 6750
    §2.2), which Okta's ``/userinfo`` accepts."""

    def parse_request_authorization(self, request: OAuthRequest) -> Any:
        if not request.headers.get("Authorization") and request.method == "POST":
            token = request.form.get("access_token")
            if token:
                return self.get_token_validator("bearer"), token
        return super().parse_request_authorization(request)


class OktaUserInfo(UserInfoEndpoint):
    """authlib's UserInfo endpoint with Okta's claims (the full profile; §1.7). ``__call__``
    is authlib's minus signed userinfo (Okta never signs it), with the token taken from the
    request instead of Flask's request global. A check may have it answer with another
    user's claims (``Behaviour.userinfo_user``: a ``sub`` other than the ID token's)."""

    def __call__(self, request: OAuthRequest) -> tuple[int, Any, list[tuple[str, str]]]:
        token = self.resource_protector.validate_request(["openid"], request)
        claims = self.generate_user_info(token.get_user(), token.get_scope())
        return 200, claims, [("Content-Type", "application/json")]

    def generate_user_info(self, user: SignedIn, scope: str) -> dict[str, Any]:
        behaviour = self.server.state.armed.behaviour
        claims = okta_shape.userinfo_claims(
            behaviour.userinfo_user or user.user,
            scope_to_list(scope) or [],
            email_verified=behaviour.email_verified,
        )
        if len(claims) == 1:
            raise InsufficientScopeError()
        return claims


class OktaRevocation(RevocationEndpoint):
    """RFC 7009 by authlib: a revoked access token is refused at /userinfo and inactive at
    /introspect. Okta answers 200 with no body, also for an unknown token."""

    CLIENT_AUTH_METHODS = ALL_AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> AccessToken | None:
        return self.server.find_token(token_string)

    def revoke_token(self, token: AccessToken, request: OAuthRequest) -> None:
        self.server.state.tokens.revoke(token)

    def create_endpoint_response(self, request: OAuthRequest) -> Answer:
        super().create_endpoint_response(request)
        return Answer(200, "", okta_shape.TOKEN_HEADERS[1:])


class OktaIntrospection(IntrospectionEndpoint):
    """RFC 7662 by authlib: ``active`` for a live access token of this client, else
    ``{"active": false}`` (expired, revoked, unknown)."""

    CLIENT_AUTH_METHODS = ALL_AUTH_METHODS
    SUPPORTED_TOKEN_TYPES = ("access_token", "id_token", "refresh_token")

    def query_token(self, token_string: str, token_type_hint: str | None) -> AccessToken | None:
        return self.server.find_token(token_string)

    def check_permission(self, token: AccessToken, client: OktaClient, request: Any) -> bool:
        return token.check_client(client)

    def introspect_token(self, token: AccessToken) -> dict[str, Any]:
        return okta_shape.introspection(token.claims, token.scope)


class OktaEndSession(EndSessionEndpoint):
    """RP-initiated logout by authlib: the ``id_token_hint`` must verify against the
    published keys (expired is fine), ``post_logout_redirect_uri`` must be registered
    exactly, ``state`` is echoed."""

    def get_server_jwks(self) -> KeySet:
        return self.server.state.keys.key_set()

    def get_algorithms(self) -> list[str]:
        return ["RS256"]

    def end_session(self, end_session_request: Any) -> None:
        pass  # the harness is the user's browser: there is no Okta session to end


# --- the authorization server ---------------------------------------------------------------


def _okta_authorize_checks(server: OktaAuthorizationServer, request: OAuthRequest) -> None:
    """Okta's order at /authorize, before authlib picks the grant: the client, then the
    redirect URI (both answered on Okta's error page, never redirected; §1.3), then the
    response mode, ``state`` (Okta requires it) and the response type (redirected back)."""
    payload = request.payload
    client = server.query_client(payload.client_id) if payload.client_id else None
    if client is None:
        raise InvalidClientError(description=Wording.UNKNOWN_CLIENT)
    redirect_uri = payload.redirect_uri
    if not redirect_uri or not client.check_redirect_uri(redirect_uri):
        text = Wording.REDIRECT_NOT_REGISTERED.format(
            org=server.state.org_url(), client_id=client.client_id
        )
        raise InvalidRequestError(okta_shape.error_text(text))
    mode = payload.data.get("response_mode") or "query"
    if mode not in okta_shape.RESPONSE_MODES:
        raise OAuth2Error(
            error="unsupported_response_mode",
            description=okta_shape.error_text(Wording.RESPONSE_MODE.format(mode=mode)),
            redirect_uri=redirect_uri,
        )
    request.response_mode = mode
    if not payload.state:
        raise InvalidRequestError(Wording.STATE_REQUIRED, redirect_uri=redirect_uri)
    if payload.response_type not in okta_shape.RESPONSE_TYPES:
        # authlib would refuse it too, quoting the app's value in the description, which
        # RFC 6749 limits to printable ASCII: Okta's fixed wording instead.
        raise OAuth2Error(
            error="unsupported_response_type",
            description=Wording.RESPONSE_TYPE,
            redirect_uri=redirect_uri,
        )


class OktaAuthorizationServer(AuthorizationServer):
    """One Okta authorization server — the org one or a custom one (``default``) — on
    authlib; ``handle_response`` gives :class:`~.okta_shape.Answer` s, which the OP turns
    into werkzeug responses (authlib's framework-adapter contract)."""

    def __init__(self, state: ProviderState, info: AuthServer) -> None:
        super().__init__(scopes_supported=list(okta_shape.SCOPES_SUPPORTED))
        self.state = state
        self.info = info
        self.register_token_generator("default", self._generate_token)
        self.register_client_auth_method(
            "client_secret_jwt", lambda qc, req: ClientSecretJWT(self, req.endpoint_url)(qc, req)
        )
        self.register_client_auth_method(
            PRIVATE_KEY_JWT, lambda qc, req: PrivateKeyJWT(self, req.endpoint_url)(qc, req)
        )
        self.register_hook("before_get_authorization_grant", _okta_authorize_checks)
        self.register_grant(OktaCodeGrant, [S256CodeChallenge(), OktaOpenIDCode(self)])
        self.register_grant(OinRefusedGrant)
        protector = _Protector()
        protector.register_token_validator(_Bearer(self))
        self.register_endpoint(OktaUserInfo(resource_protector=protector))
        self.register_endpoint(OktaRevocation)
        self.register_endpoint(OktaIntrospection)
        self.register_endpoint(OktaEndSession)

    # -- authlib's contract --------------------------------------------------------------

    def query_client(self, client_id: str) -> OktaClient | None:
        client = self.state.client
        return client if client_id == client.client_id else None

    def save_token(self, token: dict[str, Any], request: OAuthRequest) -> None:
        self.state.tokens.add(
            AccessToken(
                token=token["access_token"],
                claims=decode_unverified(token["access_token"])["claims"],
                server=self.info.id,
                client=request.client,
                signed_in=request.user,
                scope=token["scope"],
            )
        )

    def find_token(self, token: str) -> AccessToken | None:
        return self.state.tokens.find(token, self.info.id)

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        if not isinstance(request, OAuth2Request):
            raise TypeError("the adapter hands authlib an OAuthRequest")
        return request

    def create_json_request(self, request: Any) -> Any:
        raise NotImplementedError("no JSON endpoints on Okta's org server")

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass  # no signals: the adapter records what happened

    def handle_response(self, status: int, body: Any, headers: Iterable[Any]) -> Answer:
        return Answer(status, body, [(str(k), str(v)) for k, v in headers])

    def validate_requested_scope(self, scope: str | None) -> None:
        """Okta's scope rules: ``openid`` is required; ``offline_access`` is refused to an OIN
        app (no refresh tokens; §2.1); anything else unknown is not configured."""
        scopes = scope_to_list(scope) or []
        if "openid" not in scopes:
            raise InvalidScopeError(Wording.OPENID_REQUIRED)
        if any(s in okta_shape.OIN_REFUSED_SCOPES for s in scopes):
            raise InvalidScopeError(Wording.SCOPE_INVALID)
        if any(s not in okta_shape.SCOPES_SUPPORTED for s in scopes):
            raise InvalidScopeError(Wording.SCOPES_NOT_CONFIGURED)

    def authenticate_client(
        self, request: OAuthRequest, methods: Sequence[str], endpoint: str = "token"
    ) -> Any:
        """authlib's, after Okta's rule that a request carries one kind of credentials."""
        if request.presented == "multiple":
            raise InvalidRequestError(Wording.MULTIPLE_CREDENTIALS)
        return super().authenticate_client(request, methods, endpoint)

    def handle_error_response(self, request: OAuthRequest, error: OAuth2Error) -> Answer:
        """An authlib refusal, answered as Okta answers it at that endpoint."""
        if request.endpoint == "authorize":
            return self._authorize_error(request, error)
        if request.endpoint == "userinfo":
            if error.error == "insufficient_scope":
                return okta_shape.insufficient_scope()
            return okta_shape.userinfo_unauthorized(self.info.base)
        status = 400 if error.status_code == 401 else int(error.status_code)
        code = str(error.error)
        description = okta_shape.okta_description(code, error.description)
        if code == "invalid_client" and not isinstance(error, AssertionRefused):
            presented = request.presented
            if presented == PRIVATE_KEY_JWT and self.state.client.jwks is None:
                status, description = 401, Wording.ASSERTION_METHOD.format(method=presented)
            else:
                status, code, description = okta_shape.client_auth_refusal(presented)
        elif code == "invalid_client":
            status = 401
        return okta_shape.oauth_error(status, code, description)

    def _authorize_error(self, request: OAuthRequest, error: OAuth2Error) -> Answer:
        description = okta_shape.okta_description(str(error.error), error.description)
        if error.redirect_uri is None:
            request.outcome = "Okta error page (HTTP 400), no redirect"
            return okta_shape.error_page(str(error.error), description, self.state.org_url())
        request.outcome = f"{error.error}: {description}"
        params = [("error", str(error.error)), ("error_description", description)]
        if request.payload.state:
            params.append(("state", request.payload.state))
        return okta_shape.authorization_response(error.redirect_uri, request.response_mode, params)

    def _generate_token(
        self,
        grant_type: str,
        client: OktaClient,
        user: SignedIn | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        """Okta's token response: a JWT-shaped access token, never a refresh token."""
        assert user is not None
        claims = okta_shape.access_token_claims(
            issuer=self.info.issuer,
            audience=self.info.access_token_audience,
            client_id=client.get_client_id(),
            signed_in=user,
            scopes=scope_to_list(scope) or [],
        )
        return {
            "token_type": "Bearer",
            "expires_in": okta_shape.TOKEN_LIFETIME,
            "access_token": mint_access_token(claims, self.state.keys.signing),
            "scope": scope,
        }

    # -- the endpoints, for the adapter --------------------------------------------------

    def authorize(self, request: OAuthRequest, user: SignedIn) -> Answer:
        """Validate the authorization request (authlib) and sign ``user`` in."""
        try:
            grant = self.get_consent_grant(request, end_user=user)
        except OAuth2Error as error:
            return self.handle_error_response(request, error)
        answer: Answer = self.create_authorization_response(request, user, grant)
        return answer

    def token(self, request: OAuthRequest) -> Answer:
        answer: Answer = self.create_token_response(request)
        return answer

    def endpoint(self, name: str, request: OAuthRequest) -> Answer:
        """``userinfo``, ``revocation`` or ``introspection``."""
        answer: Answer = self.create_endpoint_response(name, request)
        return answer

    def logout(self, request: OAuthRequest) -> Answer:
        """RP-initiated logout (authlib), with Okta's error page where Okta shows one."""
        data = request.payload.data
        org = self.state.org_url()
        if not data.get("id_token_hint"):
            return okta_shape.error_page("invalid_request", Wording.HINT_INVALID, org)
        try:
            checked = self.validate_endpoint_request("end_session", request)
        except OAuth2Error:
            return okta_shape.error_page("invalid_request", Wording.HINT_INVALID, org)
        if data.get("post_logout_redirect_uri") and checked.redirect_uri is None:
            return okta_shape.error_page("invalid_request", Wording.POST_LOGOUT_NOT_REGISTERED, org)
        self.create_endpoint_response("end_session", checked)
        return okta_shape.redirect(checked.redirect_uri or org + "/")


__all__ = [
    "UNSET",
    "Armed",
    "AuthServer",
    "Behaviour",
    "OAuthRequest",
    "OktaAuthorizationServer",
    "OktaClient",
    "ProviderState",
    "Unset",
]
