"""An OpenID provider shaped like an Okta **org** authorization server, on loopback.

What an ISV's app (the relying party) meets here is what it would meet in a customer's Okta
org (facts: ``shared/reference/oidc.md`` §1): the issuer is the bare org URL, the endpoints
live under ``/oauth2/v1/``, ID tokens are RS256 with a ``kid`` (the key's RFC 7638
thumbprint, so a new key always has a new kid), ``aud`` is a string, the code flow returns a
*thin* ID token whose profile claims come from ``/userinfo``, ``state`` is required and PKCE
accepts ``S256`` only. Requests to a custom authorization server (``/oauth2/default/...`` or
``/oauth2/{id}/...``) are answered as Okta would answer them in a developer org — and
recorded, because the OIN allows the org server only.

The harness is also the user's browser, so ``/oauth2/v1/authorize`` signs the current user
in without a login page. Everything the app sends is recorded as :class:`Observation` s and
back-channel :class:`ServerExchange` s; a check arms per-check behaviour with :meth:`arm`
(a forged-token mutator, a tampered callback ``state``, ``email_verified`` on or off,
another user). Exceptions on the server thread are kept in :attr:`OktaOrgOP.problems` and
re-raised in the test thread by :meth:`OktaOrgOP.check`.

No pytest here: the OP runs from a plain script too (``OktaOrgOP(...).start()``).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit

from joserfc import jws, jwt
from joserfc.jwk import KeySet, RSAKey
from werkzeug.wrappers import Request, Response

from oin_conformance.roles.serve import ServedApp
from oin_conformance.state import KeyPair

if TYPE_CHECKING:
    from oin_conformance.runtime import RunContext
    from oin_conformance.target import Target

CODE_LIFETIME = 300
TOKEN_LIFETIME = 3600
ORG_ID = "00o1oinconformance01"  # the org id Okta puts in ``idp`` (20 chars, ``00o`` prefix)
CUSTOM_AS = re.compile(r"^/oauth2/(?!v1(?:/|$))([^/]+)(/.*)?$")
WELL_KNOWN_CUSTOM = re.compile(r"^/\.well-known/oauth-authorization-server/oauth2/([^/]+)$")

#: Claims Okta puts in the thin ID token of the code flow, in Okta's order.
THIN_CLAIMS_ORDER = (
    "sub name email ver iss aud iat exp jti amr idp nonce preferred_username auth_time at_hash"
).split()


class _Unset:
    """Marks an :meth:`OktaOrgOP.arm` argument that was not given."""


UNSET = _Unset()


class OPError(Exception):
    """The provider could not do what a check asked (its server thread failed, bad setup)."""


# --- users ------------------------------------------------------------------------------


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
    def from_fields(cls, fields: dict[str, str]) -> OktaUser:
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


# --- tokens and mutators ------------------------------------------------------------------


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

    def sign(
        self,
        header: dict[str, Any] | None = None,
        claims: dict[str, Any] | None = None,
        key: RSAKey | None = None,
    ) -> str:
        hdr = dict(self.header if header is None else header)
        return sign_jws(hdr, self.claims if claims is None else claims, key or self.key)


Mutator = Callable[[TokenParts], str]


def sign_jws(header: dict[str, Any], claims: dict[str, Any], key: RSAKey | None) -> str:
    """A compact JWS of ``claims`` with exactly ``header`` (joserfc's jwt adds ``typ``;
    Okta's tokens carry only ``kid`` and ``alg``)."""
    payload = json.dumps(claims, separators=(",", ":"))
    alg = str(header["alg"])
    if alg == "none":
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return jws.serialize_compact(header, payload, None, algorithms=["none"])
    return jws.serialize_compact(header, payload, key, algorithms=[alg])


def decode_unverified(token: str) -> dict[str, Any]:
    """Header and claims of a compact JWS, without verifying it (for reports)."""
    try:
        obj = jws.extract_compact(token.encode())
        claims = json.loads(obj.payload)
        return {"header": dict(obj.headers()), "claims": claims}
    except Exception as exc:  # noqa: BLE001 - a forged token may not even parse
        return {"error": f"cannot decode: {type(exc).__name__}: {exc}", "raw": token[:200]}


def describe_token(token: str) -> str:
    """The decoded header and claims as indented JSON (what reports show)."""
    return json.dumps(decode_unverified(token), indent=2, sort_keys=False)


def public_jwk(key: RSAKey) -> dict[str, Any]:
    data = key.as_dict(private=False)
    ordered: dict[str, Any] = {"kty": "RSA", "alg": "RS256", "kid": key.kid, "use": "sig"}
    ordered.update({k: data[k] for k in ("e", "n")})
    return ordered


def rsa_key_from_pair(pair: KeyPair) -> RSAKey:
    """A joserfc key for the state folder's key pair; its kid is the RFC 7638 thumbprint."""
    key = RSAKey.import_key(pair.key_pem)
    return RSAKey.import_key(pair.key_pem, parameters={"kid": key.thumbprint()})


# --- what the provider records ------------------------------------------------------------


@dataclass(frozen=True)
class Observation:
    """Something the app did at the provider."""

    kind: str  # discovery, keys, authorize, token, userinfo, logout, custom_as, unknown
    method: str
    path: str
    server: str  # "org", or the custom authorization server id ("default", "aus...")
    params: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class ServerExchange:
    """A request the app sent to the provider over the back channel, and the answer."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: str
    status: int
    response_headers: dict[str, str]
    response_body: str
    duration: float
    decoded: dict[str, str] = field(default_factory=dict)


@dataclass
class Behaviour:
    """What a check armed; :meth:`OktaOrgOP.reset` restores the honest defaults."""

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


@dataclass
class _Grant:
    code: str
    server: str
    client_id: str
    redirect_uri: str
    scope: list[str]
    nonce: str | None
    code_challenge: str | None
    user: OktaUser
    auth_time: int
    expires: float
    used: bool = False


@dataclass
class _AccessToken:
    server: str
    user: OktaUser
    scope: list[str]
    expires: float


@dataclass(frozen=True)
class _Server:
    """The org server (id "org") or a custom one ("default", "aus...")."""

    id: str
    issuer: str
    base: str  # URL of the endpoint folder ("{org}/oauth2/v1" or "{org}/oauth2/default/v1")

    @property
    def is_org(self) -> bool:
        return self.id == "org"


# --- the provider -------------------------------------------------------------------------


class OktaOrgOP:
    """The org authorization server of a pretend Okta org at ``http://127.0.0.1:<port>``."""

    def __init__(
        self,
        *,
        keys: Sequence[KeyPair],
        client_id: str,
        client_secret: str,
        redirect_uris: Callable[[], Iterable[str]] | Iterable[str],
        post_logout_redirect_uris: Callable[[], Iterable[str]] | Iterable[str] = (),
        user: OktaUser,
        bind: str = "127.0.0.1",
        port: int = 0,
        public_url: str | None = None,
        known_custom_servers: Iterable[str] = ("default",),
    ) -> None:
        if not keys:
            raise OPError("the provider needs at least one signing key")
        self.signing_key = rsa_key_from_pair(keys[0])
        self.keys = [self.signing_key, *(rsa_key_from_pair(k) for k in keys[1:])]
        self._base_keys = list(self.keys)
        self.client_id = client_id
        self._client_secret = client_secret
        self._redirect_uris = redirect_uris
        self._post_logout = post_logout_redirect_uris
        self.default_user = user
        self.bind = bind
        self.port = port
        self._public_url = public_url.rstrip("/") if public_url else None
        if self._public_url and urlsplit(self._public_url).path not in ("", "/"):
            raise OPError(
                f"[oidc.provider] public_url = {public_url!r} has a path; an Okta org URL has "
                "none (the org authorization server's issuer is the bare org URL)"
            )
        self.known_custom_servers = set(known_custom_servers)
        self.observations: list[Observation] = []
        self.exchanges: list[ServerExchange] = []
        self.problems: list[str] = []
        self.behaviour = Behaviour()
        self._lock = threading.RLock()
        self._grants: dict[str, _Grant] = {}
        self._tokens: dict[str, _AccessToken] = {}
        self._issued_id_tokens: list[str] = []
        self._served: ServedApp | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> OktaOrgOP:
        if self._served is None:
            try:
                self._served = ServedApp(self.wsgi, host=self.bind, port=self.port)
            except OSError as exc:
                raise OPError(
                    f"cannot listen on {self.bind}:{self.port} ({exc.strerror}); choose another "
                    "[oidc.provider] port, or 0 for any free port"
                ) from None
        return self

    def stop(self) -> None:
        if self._served is not None:
            self._served.stop()
            self._served = None

    @property
    def url(self) -> str:
        """The org URL = the org authorization server's issuer (no path, no trailing /)."""
        if self._public_url:
            return self._public_url
        if self._served is None:
            raise OPError("the provider is not started")
        return self._served.url

    issuer = url

    def server(self, server_id: str = "org") -> _Server:
        if server_id == "org":
            return _Server("org", self.url, f"{self.url}/oauth2/v1")
        return _Server(
            server_id, f"{self.url}/oauth2/{server_id}", f"{self.url}/oauth2/{server_id}/v1"
        )

    def redirect_uris(self) -> list[str]:
        src = self._redirect_uris
        return list(src() if callable(src) else src)

    def post_logout_redirect_uris(self) -> list[str]:
        src = self._post_logout
        return list(src() if callable(src) else src)

    # -- per-check control ---------------------------------------------------------------

    def reset(self) -> None:
        """Forget what earlier checks armed and what the app did (start of a check)."""
        with self._lock:
            self.behaviour = Behaviour()
            self.observations = []
            self.exchanges = []
            self.problems = []
            self.keys = list(self._base_keys)
            self.signing_key = self._base_keys[0]

    def rotate(self) -> RSAKey:
        """Publish a brand-new key (a kid no RP has cached) and sign with it until
        :meth:`reset` — what Okta's automatic key rotation looks like to an app."""
        fresh = RSAKey.generate_key(2048)
        key = RSAKey.import_key(fresh.as_dict(private=True), parameters={"kid": fresh.thumbprint()})
        with self._lock:
            self.keys = [key, *self.keys]
            self.signing_key = key
        return key

    def arm(
        self,
        *,
        mutator: Mutator | None = None,
        mutator_name: str = "",
        callback_state: str | None = None,
        email_verified: bool | None | _Unset = UNSET,
        email_verified_in_id_token: bool | None = None,
        user: OktaUser | None = None,
    ) -> None:
        """Change what the next responses look like (see :class:`Behaviour`)."""
        with self._lock:
            b = self.behaviour
            changes: dict[str, Any] = {}
            if mutator is not None:
                changes["mutator"] = mutator
                changes["mutator_name"] = mutator_name or getattr(mutator, "__name__", "")
            if callback_state is not None:
                changes["callback_state"] = callback_state
            if not isinstance(email_verified, _Unset):
                changes["email_verified"] = email_verified
            if email_verified_in_id_token is not None:
                changes["email_verified_in_id_token"] = email_verified_in_id_token
            if user is not None:
                changes["user"] = user
            self.behaviour = replace(b, **changes)

    def check(self) -> None:
        """Raise :class:`OPError` for anything that went wrong on the server thread."""
        with self._lock:
            problems = list(self.problems)
        if problems:
            raise OPError("the provider failed while serving the app:\n" + "\n".join(problems))

    def seen(self, kind: str) -> list[Observation]:
        with self._lock:
            return [o for o in self.observations if o.kind == kind]

    def last(self, kind: str) -> Observation | None:
        found = self.seen(kind)
        return found[-1] if found else None

    def custom_server_requests(self) -> list[Observation]:
        """Requests that used a custom authorization server (``default`` or ``aus...``)."""
        with self._lock:
            return [o for o in self.observations if o.server != "org"]

    # -- documents -----------------------------------------------------------------------

    def discovery(self, server_id: str = "org") -> dict[str, Any]:
        s = self.server(server_id)
        b = s.base
        doc: dict[str, Any] = {
            "issuer": s.issuer,
            "authorization_endpoint": f"{b}/authorize",
            "token_endpoint": f"{b}/token",
            "userinfo_endpoint": f"{b}/userinfo",
            "registration_endpoint": f"{self.url}/oauth2/v1/clients",
            "jwks_uri": f"{b}/keys",
            "response_types_supported": [
                "code",
                "id_token",
                "code id_token",
                "code token",
                "id_token token",
                "code id_token token",
            ],
            "response_modes_supported": ["query", "fragment", "form_post", "okta_post_message"],
            "grant_types_supported": [
                "authorization_code",
                "implicit",
                "refresh_token",
                "password",
                "urn:ietf:params:oauth:grant-type:device_code",
            ],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": [
                "openid",
                "email",
                "profile",
                "address",
                "phone",
                "offline_access",
                "groups",
            ],
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "client_secret_jwt",
                "private_key_jwt",
                "none",
            ],
            "claims_supported": (
                "iss ver sub aud iat exp jti auth_time amr idp nonce name nickname "
                "preferred_username given_name middle_name family_name email email_verified "
                "profile zoneinfo locale address phone_number picture website gender birthdate "
                "updated_at at_hash c_hash"
            ).split(),
            "code_challenge_methods_supported": ["S256"],
            "introspection_endpoint": f"{b}/introspect",
            "introspection_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "client_secret_jwt",
                "private_key_jwt",
                "none",
            ],
            "revocation_endpoint": f"{b}/revoke",
            "revocation_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "client_secret_jwt",
                "private_key_jwt",
                "none",
            ],
            "end_session_endpoint": f"{b}/logout",
            "request_parameter_supported": True,
            "request_object_signing_alg_values_supported": [
                "HS256",
                "HS384",
                "HS512",
                "RS256",
                "RS384",
                "RS512",
                "ES256",
                "ES384",
                "ES512",
            ],
            "device_authorization_endpoint": f"{b}/device/authorize",
            "pushed_authorization_request_endpoint": f"{b}/par",
        }
        return doc

    def jwks(self) -> dict[str, Any]:
        return {"keys": [public_jwk(k) for k in self.keys]}

    def key_set(self) -> KeySet:
        """The published keys as a joserfc KeySet (to verify what the OP signed)."""
        return KeySet.import_key_set(self.jwks())  # type: ignore[arg-type]

    # -- WSGI ------------------------------------------------------------------------------

    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        started = time.perf_counter()
        body = request.get_data(cache=True, as_text=True)
        try:
            response, decoded = self._dispatch(request)
        except Exception as exc:  # noqa: BLE001 - kept for the test thread, never lost
            with self._lock:
                self.problems.append(
                    f"{request.method} {request.path}: {type(exc).__name__}: {exc}\n"
                    + "".join(traceback.format_exc(limit=6))
                )
            response = _json(
                {"errorCode": "E0000009", "errorSummary": "Internal Server Error"}, 500
            )
            decoded = {}
        self._record_exchange(request, body, response, started, decoded)
        return response(environ, start_response)

    def _record_exchange(
        self,
        request: Request,
        body: str,
        response: Response,
        started: float,
        decoded: dict[str, str],
    ) -> None:
        # Browser legs (authorize, logout) are in the check's own transcript already.
        if request.path.endswith(("/authorize", "/logout")):
            return
        exchange = ServerExchange(
            method=request.method,
            url=request.url,
            request_headers=dict(request.headers.items()),
            request_body=body,
            status=response.status_code,
            response_headers=dict(response.headers.items()),
            response_body=response.get_data(as_text=True),
            duration=time.perf_counter() - started,
            decoded=decoded,
        )
        with self._lock:
            self.exchanges.append(exchange)

    def _observe(self, kind: str, request: Request, server: str, **details: Any) -> None:
        params = dict(request.args.items())
        if request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded":
            params.update(request.form.items())
        for secret in ("client_secret", "code_verifier", "client_assertion"):
            if secret in params:
                params[secret] = "[present]"
        with self._lock:
            self.observations.append(
                Observation(kind, request.method, request.path, server, params, details)
            )

    def _dispatch(self, request: Request) -> tuple[Response, dict[str, str]]:
        path = request.path
        if path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
            self._observe("discovery", request, "org")
            return _json(self.discovery("org"), headers=_CACHE_METADATA), {}
        if path.startswith("/oauth2/v1/"):
            return self._endpoint(request, self.server("org"), path.removeprefix("/oauth2/v1/"))
        well_known = WELL_KNOWN_CUSTOM.match(path)
        if well_known:
            return self._custom(request, well_known.group(1), "/.well-known/openid-configuration")
        custom = CUSTOM_AS.match(path)
        if custom:
            return self._custom(request, custom.group(1), custom.group(2) or "")
        self._observe("unknown", request, "org")
        return _json(_okta_error("E0000007", "Not found: Resource not found"), 404), {}

    def _custom(
        self, request: Request, server_id: str, rest: str
    ) -> tuple[Response, dict[str, str]]:
        """``/oauth2/{id}/...``: a custom authorization server (the OIN does not allow it)."""
        self._observe("custom_as", request, server_id, rest=rest)
        if server_id not in self.known_custom_servers:
            return _json(
                _okta_error(
                    "E0000007", f"Not found: Resource not found: {server_id} (AuthorizationServer)"
                ),
                404,
            ), {}
        if rest in (
            "",
            "/.well-known/openid-configuration",
            "/.well-known/oauth-authorization-server",
        ):
            return _json(self.discovery(server_id), headers=_CACHE_METADATA), {}
        if rest.startswith("/v1/"):
            return self._endpoint(request, self.server(server_id), rest.removeprefix("/v1/"))
        return _json(_okta_error("E0000007", "Not found: Resource not found"), 404), {}

    def _endpoint(
        self, request: Request, server: _Server, name: str
    ) -> tuple[Response, dict[str, str]]:
        if name == "authorize":
            return self._authorize(request, server), {}
        if name == "token":
            return self._token(request, server)
        if name == "keys":
            self._observe("keys", request, server.id)
            return _json(
                self.jwks(), headers={"Cache-Control": "max-age=3600, must-revalidate"}
            ), {}
        if name == "userinfo":
            return self._userinfo(request, server), {}
        if name == "logout":
            return self._logout(request, server), {}
        if name in ("revoke", "introspect"):
            self._observe(name, request, server.id)
            if name == "revoke":
                return Response(status=200), {}
            return _json({"active": False}), {}
        self._observe("unknown", request, server.id)
        return _json(
            _okta_error("E0000022", "The endpoint does not support the provided HTTP method"), 404
        ), {}

    # -- /authorize -----------------------------------------------------------------------

    def _authorize(self, request: Request, server: _Server) -> Response:
        response = self._authorize_answer(request, server)
        if response.status_code == 302:
            query = dict(parse_qsl(urlsplit(response.headers.get("Location", "")).query))
            outcome = (
                f"{query['error']}: {query.get('error_description', '')}"
                if "error" in query
                else "code issued"
            )
        elif response.status_code == 400:
            outcome = "Okta error page (HTTP 400), no redirect"
        else:
            outcome = "code issued (form_post)"
        self._observe("authorize", request, server.id, outcome=outcome)
        return response

    def _authorize_answer(self, request: Request, server: _Server) -> Response:
        q = request.args if request.method == "GET" else request.form
        params = {k: q.get(k, "") for k in q}
        client_id = params.get("client_id", "")
        redirect_uri = params.get("redirect_uri", "")
        if client_id != self.client_id:
            return _error_page(
                "invalid_client",
                "Invalid value for 'client_id' parameter.",
                self.url,
            )
        registered = self.redirect_uris()
        if redirect_uri not in registered:
            return _error_page(
                "invalid_request",
                "The 'redirect_uri' parameter must be a Login redirect URI in the client app "
                f"settings: {self.url}/admin/app/oidc_client/instance/{self.client_id}#tab-general",
                self.url,
            )
        state = params.get("state", "")
        mode = params.get("response_mode", "query")

        def error(code: str, description: str) -> Response:
            return _redirect_back(
                redirect_uri,
                mode,
                {"error": code, "error_description": description, "state": state},
            )

        if not state:
            return error(
                "invalid_request",
                "The authorization request is missing the state parameter (Okta requires it).",
            )
        response_type = params.get("response_type", "")
        if response_type != "code":
            return error(
                "unsupported_response_type",
                "The response type is not supported by the authorization server. Configured "
                "response types: [code].",
            )
        scopes = params.get("scope", "").split()
        if "openid" not in scopes:
            return error("invalid_scope", "The requested scope is invalid: 'openid' is required.")
        unknown = [
            s
            for s in scopes
            if s not in ("openid", "profile", "email", "address", "phone", "groups")
        ]
        if unknown:
            return error(
                "invalid_scope",
                "One or more scopes are not configured for the authorization server resource: "
                + ", ".join(unknown),
            )
        challenge = params.get("code_challenge") or None
        method = params.get("code_challenge_method")
        if challenge and method != "S256":
            return error(
                "invalid_request",
                "PKCE code challenge method is not supported. Supported: S256."
                if method
                else "The 'code_challenge_method' parameter is required with 'code_challenge'.",
            )
        if mode not in ("query", "form_post", "fragment", "okta_post_message"):
            return error("invalid_request", f"Unsupported response_mode '{mode}'.")
        with self._lock:
            user = self.behaviour.user or self.default_user
            callback_state = self.behaviour.callback_state
            self.behaviour = replace(self.behaviour, callback_state=None)
        code = secrets.token_urlsafe(32)
        now = time.time()
        with self._lock:
            self._grants[code] = _Grant(
                code=code,
                server=server.id,
                client_id=client_id,
                redirect_uri=redirect_uri,
                scope=scopes,
                nonce=params.get("nonce") or None,
                code_challenge=challenge,
                user=user,
                auth_time=int(now),
                expires=now + CODE_LIFETIME,
            )
        sent_state = callback_state if callback_state is not None else state
        return _redirect_back(redirect_uri, mode, {"code": code, "state": sent_state})

    # -- /token ---------------------------------------------------------------------------

    def _client_auth(self, request: Request) -> tuple[str, str | None]:
        """(method, error) of the client authentication in a token request."""
        header = request.headers.get("Authorization", "")
        form = request.form
        in_body = "client_secret" in form
        assertion = form.get("client_assertion")
        if header.lower().startswith("basic "):
            if in_body or assertion:
                return "client_secret_basic+body", "invalid_request"
            try:
                raw = base64.b64decode(header[6:].strip()).decode()
            except (ValueError, UnicodeDecodeError):
                return "client_secret_basic", "invalid_client"
            cid, _, secret = raw.partition(":")
            ok = unquote_plus(cid) == self.client_id and secrets.compare_digest(
                unquote_plus(secret), self._client_secret
            )
            return "client_secret_basic", None if ok else "invalid_client"
        if assertion:
            kind = form.get("client_assertion_type", "")
            if kind != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
                return "client_assertion", "invalid_client"
            try:
                from joserfc.jwk import OctKey

                token = jwt.decode(
                    assertion, OctKey.import_key(self._client_secret), ["HS256", "HS384", "HS512"]
                )
            except Exception:  # noqa: BLE001 - a wrong assertion is the app's error
                return "private_key_jwt", "invalid_client"
            ok = token.claims.get("sub") == self.client_id and token.claims.get("iss") == (
                self.client_id
            )
            return "client_secret_jwt", None if ok else "invalid_client"
        if in_body:
            ok = form.get("client_id") == self.client_id and secrets.compare_digest(
                form.get("client_secret", ""), self._client_secret
            )
            return "client_secret_post", None if ok else "invalid_client"
        return "none", "invalid_client"

    def _token(self, request: Request, server: _Server) -> tuple[Response, dict[str, str]]:
        if request.method != "POST":
            self._observe("token", request, server.id, error="method")
            return _json(
                _okta_error("E0000022", "The endpoint does not support the provided HTTP method"),
                405,
            ), {}
        auth_method, auth_error = self._client_auth(request)
        form = request.form
        details: dict[str, Any] = {
            "client_auth": auth_method,
            "grant_type": form.get("grant_type", ""),
            "redirect_uri": form.get("redirect_uri"),
            "code_verifier": "code_verifier" in form,
        }

        def refuse(status: int, code: str, description: str) -> tuple[Response, dict[str, str]]:
            details["error"] = f"{code}: {description}"
            self._observe("token", request, server.id, **details)
            headers = {"WWW-Authenticate": 'Basic realm="Okta"'} if status == 401 else {}
            return _json(
                {"error": code, "error_description": description},
                status,
                headers={**_NO_STORE, **headers},
            ), {}

        if auth_error == "invalid_request":
            return refuse(
                400,
                "invalid_request",
                "Cannot supply multiple client credentials. "
                "Use one of the following: credentials in the Authorization header, "
                "credentials in the post body, or a client_assertion in the post body.",
            )
        if auth_error:
            if auth_method == "none":
                return refuse(401, "invalid_client", "No client credentials found.")
            return refuse(
                401,
                "invalid_client",
                "The client secret supplied for a confidential client is invalid.",
            )
        if form.get("grant_type") != "authorization_code":
            return refuse(
                400,
                "unsupported_grant_type",
                "The authorization grant type is not "
                "supported by the authorization server. Configured grant types: "
                "[authorization_code].",
            )
        code = form.get("code", "")
        with self._lock:
            grant = self._grants.get(code)
            valid = grant is not None and not grant.used and grant.expires > time.time()
            if grant is not None:
                grant.used = True
        if grant is None or not valid or grant.server != server.id:
            return refuse(400, "invalid_grant", "The authorization code is invalid or has expired.")
        if form.get("redirect_uri") != grant.redirect_uri:
            return refuse(
                400,
                "invalid_grant",
                "The 'redirect_uri' does not match the "
                "redirection URI used in the authorization request.",
            )
        if grant.code_challenge:
            verifier = form.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            if not verifier or digest.decode().rstrip("=") != grant.code_challenge:
                return refuse(400, "invalid_grant", "PKCE verification failed.")
        elif form.get("code_verifier"):
            return refuse(
                400,
                "invalid_request",
                "The 'code_verifier' parameter is not "
                "expected: no code_challenge was sent in the authorization request.",
            )
        now = int(time.time())
        access_token = self._access_token(server, grant, now)
        id_token, mutator_name = self._id_token(server, grant, access_token, now)
        body = {
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME,
            "access_token": access_token,
            "scope": " ".join(grant.scope),
            "id_token": id_token,
        }
        details.update(
            id_token=id_token, mutator=mutator_name, user=grant.user.username, nonce=grant.nonce
        )
        self._observe("token", request, server.id, **details)
        decoded = {
            "id_token" + (f" ({mutator_name})" if mutator_name else ""): describe_token(id_token)
        }
        return _json(body, headers=_NO_STORE), decoded

    def _access_token(self, server: _Server, grant: _Grant, now: int) -> str:
        claims = {
            "ver": 1,
            "jti": "AT." + secrets.token_urlsafe(32),
            "iss": server.issuer,
            "aud": server.issuer if server.is_org else f"api://{server.id}",
            "iat": now,
            "exp": now + TOKEN_LIFETIME,
            "cid": self.client_id,
            "uid": grant.user.sub,
            "scp": grant.scope,
            "auth_time": grant.auth_time,
            "sub": grant.user.username,
        }
        token = sign_jws({"kid": self.signing_key.kid, "alg": "RS256"}, claims, self.signing_key)
        with self._lock:
            self._tokens[token] = _AccessToken(
                server.id, grant.user, grant.scope, time.time() + TOKEN_LIFETIME
            )
        return token

    def id_token_parts(
        self, server: _Server, grant: _Grant, access_token: str, now: int
    ) -> TokenParts:
        """The honest, unsigned ID token for ``grant`` (thin, as in Okta's code flow)."""
        user = grant.user
        values: dict[str, Any] = {
            "sub": user.sub,
            "name": user.name if "profile" in grant.scope else None,
            "email": user.email if "email" in grant.scope else None,
            "ver": 1,
            "iss": server.issuer,
            "aud": self.client_id,
            "iat": now,
            "exp": now + TOKEN_LIFETIME,
            "jti": "ID." + secrets.token_urlsafe(32),
            "amr": ["pwd"],
            "idp": ORG_ID,
            "nonce": grant.nonce,
            "preferred_username": user.username if "profile" in grant.scope else None,
            "auth_time": grant.auth_time,
            "at_hash": _at_hash(access_token),
        }
        claims = {k: values[k] for k in THIN_CLAIMS_ORDER if values.get(k) is not None}
        with self._lock:
            b = self.behaviour
        if b.email_verified_in_id_token and b.email_verified is not None:
            claims["email_verified"] = b.email_verified
        return TokenParts(
            header={"kid": self.signing_key.kid, "alg": "RS256"},
            claims=claims,
            key=self.signing_key,
            issuer=server.issuer,
            client_id=self.client_id,
        )

    def _id_token(
        self, server: _Server, grant: _Grant, access_token: str, now: int
    ) -> tuple[str, str]:
        parts = self.id_token_parts(server, grant, access_token, now)
        with self._lock:
            mutator, name = self.behaviour.mutator, self.behaviour.mutator_name
            self.behaviour = replace(self.behaviour, mutator=None, mutator_name="")
        token = mutator(parts) if mutator is not None else parts.sign()
        with self._lock:
            self._issued_id_tokens.append(token)
        return token, name

    # -- /userinfo ------------------------------------------------------------------------

    def _userinfo(self, request: Request, server: _Server) -> Response:
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        if not token and request.method == "POST":
            token = request.form.get("access_token", "")
        with self._lock:
            record = self._tokens.get(token)
            ev = self.behaviour.email_verified
        self._observe("userinfo", request, server.id, bearer_header=bool(header))
        if record is None or record.expires < time.time() or record.server != server.id:
            return Response(
                status=401,
                headers={
                    "WWW-Authenticate": f'Bearer authorization_uri="{server.base}/authorize", '
                    f'realm="{server.base}", scope="openid", error="invalid_token", '
                    'error_description="The access token is invalid."'
                },
            )
        user = record.user
        claims: dict[str, Any] = {"sub": user.sub}
        if "profile" in record.scope:
            claims.update(
                name=user.name,
                locale="en_US",
                preferred_username=user.username,
                given_name=user.first_name,
                family_name=user.last_name,
                zoneinfo="America/Los_Angeles",
                updated_at=int(time.time()) - 86400,
            )
        if "email" in record.scope:
            claims["email"] = user.email
            if ev is not None:
                claims["email_verified"] = ev
        if len(claims) == 1:
            return Response(
                status=403,
                headers={"WWW-Authenticate": 'Bearer error="insufficient_scope"'},
            )
        return _json(claims)

    # -- /logout --------------------------------------------------------------------------

    def _logout(self, request: Request, server: _Server) -> Response:
        hint = request.args.get("id_token_hint", "")
        post = request.args.get("post_logout_redirect_uri")
        state = request.args.get("state")
        self._observe("logout", request, server.id)
        with self._lock:
            known = hint in self._issued_id_tokens
        if not known:
            return _error_page(
                "invalid_request", "The 'id_token_hint' parameter is invalid or missing.", self.url
            )
        if post:
            if post not in self.post_logout_redirect_uris():
                return _error_page(
                    "invalid_request",
                    "The 'post_logout_redirect_uri' parameter must be a Logout redirect URI in "
                    "the client app settings.",
                    self.url,
                )
            extra = {"state": state} if state else {}
            return _redirect(
                post + ("&" if "?" in post else "?") + urlencode(extra) if extra else post
            )
        return _redirect(self.url + "/")


# --- small response helpers -----------------------------------------------------------------

_NO_STORE = {"Cache-Control": "no-cache, no-store", "Pragma": "no-cache"}
_CACHE_METADATA = {"Cache-Control": "max-age=86400, must-revalidate"}


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(data), status=status, mimetype="application/json", headers=headers or {}
    )


def _okta_error(code: str, summary: str) -> dict[str, Any]:
    return {
        "errorCode": code,
        "errorSummary": summary,
        "errorLink": code,
        "errorId": "oae" + secrets.token_hex(8),
        "errorCauses": [],
    }


def _redirect(location: str) -> Response:
    return Response(status=302, headers={"Location": location, "Referrer-Policy": "no-referrer"})


def _redirect_back(redirect_uri: str, mode: str, params: dict[str, str]) -> Response:
    if mode == "form_post":
        inputs = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}"/>'
            for k, v in params.items()
        )
        page = (
            "<html><head><title>Redirecting...</title></head>"
            '<body onload="document.forms[0].submit()">'
            f'<form method="post" action="{html.escape(redirect_uri)}">{inputs}</form>'
            "</body></html>"
        )
        return Response(page, mimetype="text/html", headers={"Referrer-Policy": "no-referrer"})
    sep = "#" if mode == "fragment" else ("&" if "?" in redirect_uri else "?")
    return _redirect(redirect_uri + sep + urlencode(params))


def _error_page(code: str, summary: str, org_url: str) -> Response:
    """Okta's HTML "400 Bad Request" page: Okta never redirects to an unregistered URI."""
    page = (
        "<!DOCTYPE html><html><head><title>Error</title></head><body>"
        "<h1>400 Bad Request</h1>"
        f"<p>Error Code: <span id='error-code'>{html.escape(code)}</span></p>"
        f"<p>Description: <span id='error-description'>{html.escape(summary)}</span></p>"
        f"<p><a href='{html.escape(org_url)}/'>Go to Homepage</a></p>"
        "</body></html>"
    )
    return Response(page, status=400, mimetype="text/html")


def _at_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).decode().rstrip("=")


# --- the harness's side ----------------------------------------------------------------------


def create_op(ctx: RunContext) -> OktaOrgOP:
    """An OP for the run's target (not started)."""
    oidc = ctx.target.oidc
    if oidc is None:
        raise OPError("the target has no [oidc] section")
    keys = [
        ctx.state.keypair("op", "oin-conformance OIDC signing key"),
        ctx.state.keypair("op-next", "oin-conformance OIDC next signing key"),
    ]
    return OktaOrgOP(
        keys=keys,
        client_id=oidc.client_id,
        client_secret=oidc.client_secret.get_secret_value(),
        redirect_uris=lambda: [ctx.url(u) for u in oidc.redirect_uris],
        post_logout_redirect_uris=lambda: (
            [ctx.url(oidc.post_logout_redirect_uri)] if oidc.post_logout_redirect_uri else []
        ),
        user=OktaUser.from_fields(ctx.user),
        bind=oidc.provider.bind,
        port=oidc.provider.port,
        public_url=oidc.provider.public_url,
    )


def ensure_op(ctx: RunContext) -> OktaOrgOP:
    """The run's OP (``ctx.services["op"]``), started on first use and stopped at the end."""
    op = ctx.services.get("op")
    if isinstance(op, OktaOrgOP):
        return op
    op = create_op(ctx).start()
    ctx.services["op"] = op
    ctx.on_close(op.stop)
    return op


def harness_info(ctx: RunContext) -> dict[str, object]:
    """What the ISV configures in the app once: issuer, client credentials, URIs."""
    op = ensure_op(ctx)
    oidc = ctx.target.oidc
    assert oidc is not None
    return {
        "issuer": op.issuer,
        "discovery_url": op.issuer + "/.well-known/openid-configuration",
        "client_id": op.client_id,
        "client_secret": oidc.client_secret.get_secret_value(),
        "redirect_uris": list(oidc.redirect_uris),
        "initiate_login_uri": oidc.initiate_login_uri,
        "post_logout_redirect_uri": oidc.post_logout_redirect_uri,
        "jit": oidc.jit,
    }


def op_info(target: Target) -> str:
    """Text for ``oin-conformance op-info``: what to configure in the app (no secrets)."""
    oidc = target.oidc
    if oidc is None:
        return (
            f"{target.path}: no [oidc] section. Add one (login_url, redirect_uris, client_id, "
            "client_secret) to test an OIDC integration."
        )
    p = oidc.provider
    if p.public_url:
        issuer = p.public_url.rstrip("/")
    elif p.port:
        issuer = f"http://{p.bind}:{p.port}"
    else:
        issuer = ""
    base = target.app.base_url or "<the app's address>"

    def absolute(u: str) -> str:
        return base.rstrip("/") + u if u.startswith("/") else u

    lines = ["Okta org authorization server played by oin-conformance", ""]
    if issuer:
        lines += [
            f"  Issuer (Okta org URL):   {issuer}",
            f"  Discovery document:      {issuer}/.well-known/openid-configuration",
            f"  Authorize endpoint:      {issuer}/oauth2/v1/authorize",
            f"  Token endpoint:          {issuer}/oauth2/v1/token",
            f"  Keys (JWKS):             {issuer}/oauth2/v1/keys",
        ]
    else:
        lines += [
            "  Issuer: chosen at run time ([oidc.provider] port = 0 picks a free port).",
            "          Set [oidc.provider] port (or public_url) so the issuer stays the same",
            "          between runs, then configure it in the app once.",
        ]
    lines += [
        "",
        f"  Client ID:               {oidc.client_id}",
        "  Client secret:           the value of [oidc] client_secret in the target file "
        "(not printed)",
        "",
        "  Sign-in redirect URIs to register (exact match):",
        *(f"    {absolute(u)}" for u in oidc.redirect_uris),
    ]
    if oidc.initiate_login_uri:
        lines.append(f"  Initiate login URI:      {absolute(oidc.initiate_login_uri)}")
    if oidc.post_logout_redirect_uri:
        lines.append(f"  Sign-out redirect URI:   {absolute(oidc.post_logout_redirect_uri)}")
    lines += [
        "",
        "  Configure the issuer as the bare org URL. Okta's OIN allows only the org",
        "  authorization server: never /oauth2/default or /oauth2/{authServerId}.",
    ]
    return "\n".join(lines)
