"""The werkzeug adapter: :class:`OktaOrgOP`, the Okta org authorization server on loopback.

A WSGI app on 127.0.0.1 (``[oidc.provider]`` bind/port; port 0 = any free port) that routes
Okta's paths — discovery, ``/oauth2/v1/...``, and custom servers ``/oauth2/{id}/...``
answered as Okta answers them and recorded, because the OIN allows the org server only — to
authlib's servers (:mod:`.provider`), and serves their :class:`~.okta_shape.Answer` s. It is
also what a check holds:

* what the app did, as :class:`Observation` s (:meth:`OktaOrgOP.seen`, :meth:`~OktaOrgOP.last`);
* the back-channel exchanges, in :class:`~oin_conformance.transcript.Exchange` form
  (:meth:`OktaOrgOP.take_exchanges`; the browser legs are in the check's own transcript);
* per-check behaviour (:meth:`OktaOrgOP.arm`: a forged-token mutator, a tampered callback
  ``state``, ``email_verified`` on or off, another user, an edited key set, a key rotated
  just before signing, a discovery document naming another issuer, ``/userinfo`` answering
  for another user; :meth:`~OktaOrgOP.rotate` the keys; :meth:`~OktaOrgOP.reset` all of it);
* exceptions on the server thread, kept and raised in the test thread by
  :meth:`OktaOrgOP.check` (an exception on a server thread is otherwise lost).

The harness is also the user's browser, so ``/authorize`` signs the current user in without
a login page. No pytest and no run wiring: the OP runs from a plain script
(``OktaOrgOP(...).start()``); :mod:`oin_conformance.wiring.oidc` makes the run's one.
"""

from __future__ import annotations

import json
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from joserfc.jwk import KeySet, RSAKey
from werkzeug.wrappers import Request, Response

from oin_conformance.roles.oidc import okta_shape
from oin_conformance.roles.oidc.okta_shape import Answer, OktaUser, SignedIn
from oin_conformance.roles.oidc.provider import (
    UNSET,
    AuthServer,
    Behaviour,
    IssuedCode,
    OAuthRequest,
    OktaAuthorizationServer,
    OktaClient,
    ProviderState,
    Unset,
)
from oin_conformance.roles.oidc.tokens import (
    JwksEdit,
    Mutator,
    SigningKeys,
    TokenStore,
    describe_token,
)
from oin_conformance.roles.serve import ServedApp
from oin_conformance.state import KeyPair
from oin_conformance.transcript import Exchange, wall_clock

BACK_CHANNEL = "back channel: app -> Okta"


class OPError(Exception):
    """The provider could not do what a check asked (its server thread failed, bad setup)."""


# --- what the provider records -------------------------------------------------------------


@dataclass(frozen=True)
class Observation:
    """Something the app did at the provider."""

    kind: str  # discovery, keys, authorize, token, userinfo, logout, revoke, introspect,
    #            custom_as, unknown
    method: str
    path: str
    server: str  # "org", or the custom authorization server id ("default", "aus...")
    params: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.time)


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
        client_jwks: Mapping[str, Any] | None = None,
    ) -> None:
        """``client_jwks``: the client's public keys (a JWKS); with them ``private_key_jwt``
        works and is advertised."""
        try:
            signing_keys = SigningKeys(keys)
        except ValueError as exc:
            raise OPError(str(exc)) from None
        self._public_url = public_url.rstrip("/") if public_url else None
        if self._public_url and urlsplit(self._public_url).path not in ("", "/"):
            raise OPError(
                f"[oidc.provider] public_url = {public_url!r} has a path; an Okta org URL has "
                "none (the org authorization server's issuer is the bare org URL)"
            )
        self._redirect_uris = redirect_uris
        self._post_logout = post_logout_redirect_uris
        jwks = KeySet.import_key_set(dict(client_jwks)) if client_jwks else None  # type: ignore[arg-type]
        client = OktaClient(
            client_id, client_secret, self.redirect_uris, self.post_logout_redirect_uris, jwks
        )
        #: What authlib's servers share (client, keys, codes, tokens, what a check armed).
        self.state = ProviderState(
            client=client, keys=signing_keys, default_user=user, org_url=lambda: self.url
        )
        self.client_id = client_id
        self.default_user = user
        self.bind = bind
        self.port = port
        self.known_custom_servers = set(known_custom_servers)
        self._observations: list[Observation] = []
        self._exchanges: list[Exchange] = []
        self.problems: list[str] = []
        self._lock = threading.RLock()
        self._servers: dict[tuple[str, str], OktaAuthorizationServer] = {}
        self._served: ServedApp | None = None

    @property
    def client(self) -> OktaClient:
        return self.state.client

    @property
    def tokens(self) -> TokenStore:
        """The access tokens issued (authlib judges them at userinfo/revoke/introspect)."""
        return self.state.tokens

    @property
    def behaviour(self) -> Behaviour:
        """What the current check armed."""
        return self.state.armed.behaviour

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

    def server(self, server_id: str = "org") -> AuthServer:
        if server_id == "org":
            return AuthServer("org", self.url, f"{self.url}/oauth2/v1")
        return AuthServer(
            server_id, f"{self.url}/oauth2/{server_id}", f"{self.url}/oauth2/{server_id}/v1"
        )

    def redirect_uris(self) -> list[str]:
        src = self._redirect_uris
        return list(src() if callable(src) else src)

    def post_logout_redirect_uris(self) -> list[str]:
        src = self._post_logout
        return list(src() if callable(src) else src)

    # -- keys ------------------------------------------------------------------------------

    @property
    def signing_key(self) -> RSAKey:
        return self.state.keys.signing

    @property
    def keys(self) -> list[RSAKey]:
        return self.state.keys.keys

    def jwks(self) -> dict[str, Any]:
        """What ``/oauth2/v1/keys`` answers now (edited when a check armed a change)."""
        return self.state.published_jwks()

    def key_set(self) -> KeySet:
        """The published keys as a joserfc KeySet (to verify what the OP signed)."""
        return self.state.keys.key_set()

    def rotate(self) -> RSAKey:
        """Publish a brand-new key (a kid no RP has cached) and sign with it until
        :meth:`reset` — what Okta's automatic key rotation looks like to an app."""
        return self.state.keys.rotate()

    # -- per-check control ---------------------------------------------------------------

    def reset(self) -> None:
        """Forget what earlier checks armed and what the app did (start of a check)."""
        with self._lock:
            self._observations = []
            self._exchanges = []
            self.problems = []
        self.state.armed.reset()
        self.state.keys.reset()

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
        """Change what the next responses look like (see :class:`Behaviour`)."""
        self.state.armed.arm(
            mutator=mutator,
            mutator_name=mutator_name,
            callback_state=callback_state,
            email_verified=email_verified,
            email_verified_in_id_token=email_verified_in_id_token,
            user=user,
            jwks_edit=jwks_edit,
            rotate_before_signing=rotate_before_signing,
            discovery_issuer=discovery_issuer,
            userinfo_user=userinfo_user,
        )

    def current_user(self) -> OktaUser:
        """Whom ``/authorize`` signs in now."""
        return self.state.armed.current_user()

    def check(self) -> None:
        """Raise :class:`OPError` for anything that went wrong on the server thread."""
        with self._lock:
            problems = list(self.problems)
        if problems:
            raise OPError("the provider failed while serving the app:\n" + "\n".join(problems))

    # -- what the app did ----------------------------------------------------------------

    def seen(self, kind: str | None = None) -> list[Observation]:
        """What the app did (of ``kind``), oldest first."""
        with self._lock:
            return [o for o in self._observations if kind is None or o.kind == kind]

    def last(self, kind: str) -> Observation | None:
        found = self.seen(kind)
        return found[-1] if found else None

    def custom_server_requests(self) -> list[Observation]:
        """Requests that used a custom authorization server (``default`` or ``aus...``)."""
        return [o for o in self.seen() if o.server != "org"]

    def take_exchanges(self) -> list[Exchange]:
        """The back-channel exchanges recorded since the last call (not redacted: a
        :class:`~oin_conformance.transcript.Transcript` redacts what it records)."""
        with self._lock:
            taken, self._exchanges = self._exchanges, []
        return taken

    def _authorization_server(self, server: AuthServer) -> OktaAuthorizationServer:
        with self._lock:
            key = (server.id, server.issuer)
            if key not in self._servers:
                self._servers[key] = OktaAuthorizationServer(self.state, server)
            return self._servers[key]

    # -- documents -----------------------------------------------------------------------

    def discovery(self, server_id: str = "org") -> dict[str, Any]:
        """The discovery document; the org server's names another issuer when a check armed
        one (``discovery_issuer``)."""
        s = self.server(server_id)
        document = okta_shape.discovery_document(
            issuer=s.issuer, base=s.base, private_key_jwt=self.state.client.jwks is not None
        )
        other = self.behaviour.discovery_issuer
        if s.is_org and other is not None:
            document["issuer"] = other
        return document

    # -- WSGI ------------------------------------------------------------------------------

    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        started = time.perf_counter()
        body = request.get_data(cache=True, as_text=True)
        try:
            answer, decoded = self._dispatch(request)
        except Exception as exc:  # noqa: BLE001 - kept for the test thread, never lost
            with self._lock:
                self.problems.append(
                    f"{request.method} {request.path}: {type(exc).__name__}: {exc}\n"
                    + "".join(traceback.format_exc(limit=6))
                )
            answer, decoded = okta_shape.internal_error(), {}
        response = _response(answer)
        # Browser legs (authorize, logout) are in the check's own transcript already.
        if not request.path.endswith(("/authorize", "/logout")):
            exchange = Exchange(
                method=request.method,
                url=request.url,
                request_headers=dict(request.headers.items()),
                request_body=body,
                status=response.status_code,
                response_headers=dict(response.headers.items()),
                response_body=response.get_data(as_text=True),
                elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
                note=BACK_CHANNEL,
                decoded=decoded,
                started_at=wall_clock(started),
            )
            with self._lock:
                self._exchanges.append(exchange)
        return response(environ, start_response)

    def _observe(self, kind: str, request: Request, server: str, **details: Any) -> None:
        params = dict(request.args.items())
        if request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded":
            params.update(request.form.items())
        for secret in ("client_secret", "code_verifier", "client_assertion", "token"):
            if secret in params:
                params[secret] = "[present]"
        with self._lock:
            self._observations.append(
                Observation(kind, request.method, request.path, server, params, details)
            )

    def _dispatch(self, request: Request) -> tuple[Answer, dict[str, str]]:
        path = request.path
        if path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
            document = self.discovery("org")
            self._observe("discovery", request, "org", issuer=document["issuer"])
            return Answer(200, document, okta_shape.METADATA_HEADERS), {}
        if path.startswith("/oauth2/v1/"):
            return self._endpoint(request, self.server("org"), path.removeprefix("/oauth2/v1/"))
        well_known = okta_shape.WELL_KNOWN_CUSTOM.match(path)
        if well_known:
            return self._custom(request, well_known.group(1), "/.well-known/openid-configuration")
        custom = okta_shape.CUSTOM_AS.match(path)
        if custom:
            return self._custom(request, custom.group(1), custom.group(2) or "")
        self._observe("unknown", request, "org")
        return okta_shape.not_found(), {}

    def _custom(self, request: Request, server_id: str, rest: str) -> tuple[Answer, dict[str, str]]:
        """``/oauth2/{id}/...``: a custom authorization server (the OIN does not allow it)."""
        self._observe("custom_as", request, server_id, rest=rest)
        if server_id not in self.known_custom_servers:
            summary = f"Not found: Resource not found: {server_id} (AuthorizationServer)"
            return okta_shape.not_found(summary), {}
        if rest in (
            "",
            "/.well-known/openid-configuration",
            "/.well-known/oauth-authorization-server",
        ):
            return Answer(200, self.discovery(server_id), okta_shape.METADATA_HEADERS), {}
        if rest.startswith("/v1/"):
            return self._endpoint(request, self.server(server_id), rest.removeprefix("/v1/"))
        return okta_shape.not_found(), {}

    def _oauth_request(self, request: Request, server: AuthServer, name: str) -> OAuthRequest:
        return OAuthRequest(
            request,
            endpoint=name,
            endpoint_url=f"{server.base}/{name}",
            port=self._served.port if self._served else self.port,
        )

    def _endpoint(
        self, request: Request, server: AuthServer, name: str
    ) -> tuple[Answer, dict[str, str]]:
        if name == "keys":
            jwks = self.jwks()
            kids = [str(k.get("kid", "")) for k in jwks["keys"] if isinstance(k, dict)]
            self._observe("keys", request, server.id, kids=kids)
            return Answer(200, jwks, okta_shape.KEYS_HEADERS), {}
        if name not in ("authorize", "token", "userinfo", "logout", "revoke", "introspect"):
            self._observe("unknown", request, server.id)
            return okta_shape.method_not_allowed(404), {}
        posted_only = name in ("token", "revoke", "introspect")
        if posted_only and request.method != "POST":
            self._observe(name, request, server.id, error="method")
            return okta_shape.method_not_allowed(), {}
        oauth = self._oauth_request(request, server, name)
        authz = self._authorization_server(server)
        if name == "authorize":
            signed_in = SignedIn(self.current_user(), int(time.time()))
            answer = authz.authorize(oauth, signed_in)
            self._observe("authorize", request, server.id, outcome=oauth.outcome)
            return answer, {}
        if name == "token":
            return self._token(request, oauth, authz)
        if name == "userinfo":
            answer = authz.endpoint("userinfo", oauth)
            sub = answer.body.get("sub") if isinstance(answer.body, dict) else None
            self._observe(
                "userinfo",
                request,
                server.id,
                bearer_header=_has_bearer(request),
                status=answer.status,
                sub=sub,
            )
            return answer, {}
        if name == "logout":
            answer = authz.logout(oauth)
            self._observe("logout", request, server.id, status=answer.status)
            return answer, {}
        answer = authz.endpoint("revocation" if name == "revoke" else "introspection", oauth)
        details = {"client_auth": oauth.auth_method or oauth.presented, "status": answer.status}
        if isinstance(answer.body, dict) and "active" in answer.body:
            details["active"] = answer.body["active"]
        self._observe(name, request, server.id, **details)
        return answer, {}

    def _token(
        self, request: Request, oauth: OAuthRequest, authz: OktaAuthorizationServer
    ) -> tuple[Answer, dict[str, str]]:
        answer = authz.token(oauth)
        form = request.form
        details: dict[str, Any] = {
            "client_auth": oauth.auth_method or oauth.presented,
            "grant_type": form.get("grant_type", ""),
            "redirect_uri": form.get("redirect_uri"),
            "code_verifier": "code_verifier" in form,
        }
        body = answer.body if isinstance(answer.body, dict) else {}
        decoded: dict[str, str] = {}
        if answer.status != 200:
            details["error"] = f"{body.get('error')}: {body.get('error_description')}"
        elif "id_token" in body:
            id_token = str(body["id_token"])
            name = oauth.mutator_name
            code = oauth.authorization_code
            details.update(
                id_token=id_token,
                mutator=name,
                user=oauth.user.user.username if isinstance(oauth.user, SignedIn) else None,
                nonce=code.get_nonce() if isinstance(code, IssuedCode) else None,
            )
            decoded["id_token" + (f" ({name})" if name else "")] = describe_token(id_token)
        self._observe("token", request, authz.info.id, **details)
        return answer, decoded


def _has_bearer(request: Request) -> bool:
    return bool(request.headers.get("Authorization"))


def _response(answer: Answer) -> Response:
    """A werkzeug response for an answer (JSON for a dict body)."""
    body = answer.body
    if isinstance(body, dict | list):
        response = Response(json.dumps(body), status=answer.status, mimetype="application/json")
    else:
        response = Response(str(body or ""), status=answer.status)
        if not any(k.lower() == "content-type" for k, _ in answer.headers) and body:
            response.mimetype = "text/html"
    for name, value in answer.headers:
        response.headers[name] = value
    return response


__all__ = [
    "UNSET",
    "AuthServer",
    "Behaviour",
    "OPError",
    "Observation",
    "OktaAuthorizationServer",
    "OktaOrgOP",
]


__all__ = ["BACK_CHANNEL", "OPError", "Observation", "OktaOrgOP"]
