"""Okta's Universal Logout request: a Global Token Revocation (GTR) call, as Okta makes it.

Facts (``shared/reference/oidc.md`` §2.6, ``saml.md`` "Universal Logout"; Okta's guide "Build
Universal Logout for your app", draft-parecki-oauth-global-token-revocation):

* ``POST <endpoint>`` with a JSON body ``{"sub_id": {"format": "email", "email": …}}`` or
  ``{"sub_id": {"format": "iss_sub", "iss": …, "sub": …}}`` (Subject Identifiers for
  Security Event Tokens);
* ``Authorization: Bearer <JWT>``: header ``typ: global-token-revocation+jwt`` and ``alg``
  (the algorithm of the SSO tokens: RS256) — and ``kid``, which selects the key from the
  org's JWKS as in every token Okta signs; claims ``jti``, ``iss`` (the org URL, the issuer of
  the ID tokens), ``sub`` (the OIDC ``client_id``, or the SAML app's ``appInstanceId``),
  ``aud`` (the endpoint URL without query or fragment), ``exp`` (+5 min), ``nbf`` (−5 min),
  ``iat``; signed with the key that signs the app's ID tokens or SAML assertions;
* Okta ignores the response body and reads the status: 204 done, 400 malformed or unknown
  subject format, 401/403 authentication, 404 unknown user, 422 cannot log the user out.

Plain Python (no pytest, nothing of a run): an analyst can build and send one request from a
script. :class:`KeysServer` publishes a JWKS on loopback for a key that has no provider of its
own (the SAML IdP's); the OIDC provider publishes its keys itself (``/oauth2/v1/keys``).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import requests
from joserfc.jwk import RSAKey

from oin_conformance.roles.browser import (
    USER_AGENT,
    Browser,
    recorded_exchange,
    watched_session,
)
from oin_conformance.roles.oidc.tokens import (
    TokenParts,
    describe_token,
    public_jwk,
    rsa_key_from_pair,
)
from oin_conformance.roles.probe import json_pointer
from oin_conformance.roles.saml.common import external_key
from oin_conformance.roles.serve import ServedApp
from oin_conformance.state import KeyPair
from oin_conformance.transcript import Transcript, load_json

#: The JWT's ``typ`` header (Okta's guide; draft-parecki-oauth-global-token-revocation).
TYP = "global-token-revocation+jwt"
#: ``exp`` is this many seconds after ``iat``, ``nbf`` this many before it (±5 minutes).
WINDOW = 300
#: The statuses Okta reads (the body is ignored).
STATUS_MEANING = {
    204: "logged out",
    400: "malformed request or unrecognized subject format",
    401: "authentication missing or invalid",
    403: "authorization insufficient",
    404: "user not found",
    422: "the app cannot log the user out",
}
MAX_ANSWER = 64 * 1024

SubjectFormat = Literal["email", "iss_sub"]
Via = Literal["oidc", "saml"]


class LogoutError(Exception):
    """A logout exchange could not be built (the message says why)."""


# --- who signs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signer:
    """The Okta org and app instance a logout request comes from, and the key it signs with.

    ``via`` is the sign-in protocol of the app instance: for ``oidc`` the org authorization
    server (``iss`` = the org URL, ``sub`` = the client id, the ID-token key), for ``saml`` the
    IdP (``iss`` = the org URL, ``sub`` = the appInstanceId, the assertion-signing key).
    """

    via: Via
    issuer: str
    app_id: str
    key: RSAKey
    jwks_uri: str

    def jwks(self) -> dict[str, Any]:
        """The public key as the org publishes it (``/oauth2/v1/keys``)."""
        return {"keys": [public_jwk(self.key)]}


def org_url(sso_url: str) -> str:
    """The Okta org URL of a SAML IdP: the origin of its SSO URL (``https://{org}``)."""
    parts = urlsplit(sso_url)
    return f"{parts.scheme}://{parts.netloc}"


def app_instance_id(cert_pem: str) -> str:
    """A stable Okta-like appInstanceId (``0oa`` + 17 characters) for the SAML app whose
    IdP certificate is ``cert_pem`` (the same 17 characters as its ``exk…`` key)."""
    return "0oa" + external_key(cert_pem)[3:]


def saml_signer(pair: KeyPair, sso_url: str, jwks_uri: str) -> Signer:
    """The signer of a SAML app instance: the IdP's key pair signs the logout JWT too."""
    return Signer(
        via="saml",
        issuer=org_url(sso_url),
        app_id=app_instance_id(pair.cert_pem),
        key=rsa_key_from_pair(pair),
        jwks_uri=jwks_uri,
    )


# --- the request ----------------------------------------------------------------------------


def audience(endpoint: str) -> str:
    """The ``aud`` of a logout JWT: the endpoint URL without query string or fragment."""
    parts = urlsplit(endpoint)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def subject(fmt: SubjectFormat, *, email: str = "", iss: str = "", sub: str = "") -> dict[str, str]:
    """A Subject Identifier naming the user to log out (``email`` or ``iss_sub``)."""
    if fmt == "email":
        return {"format": "email", "email": email}
    return {"format": "iss_sub", "iss": iss, "sub": sub}


def token_parts(
    signer: Signer, endpoint: str, *, now: int | None = None, jti: str | None = None
) -> TokenParts:
    """The honest JWT before signing: Okta's header and claims for ``endpoint``.

    A hostile variant (``attacks.universal_logout``) changes these parts and signs them
    itself; :meth:`TokenParts.sign` signs them with the org's key."""
    issued = int(time.time()) if now is None else now
    header: dict[str, Any] = {"typ": TYP, "alg": "RS256", "kid": signer.key.kid}
    claims: dict[str, Any] = {
        "jti": jti or secrets.token_urlsafe(16),
        "iss": signer.issuer,
        "sub": signer.app_id,
        "aud": audience(endpoint),
        "exp": issued + WINDOW,
        "nbf": issued - WINDOW,
        "iat": issued,
    }
    return TokenParts(
        header=header, claims=claims, key=signer.key, issuer=signer.issuer, client_id=signer.app_id
    )


@dataclass(frozen=True)
class RevocationRequest:
    """One logout request: where it goes, its bearer JWT (or none) and its body."""

    url: str
    token: str | None
    body: str
    #: What the request is, in words (for the transcript).
    label: str = "Okta's Universal Logout request"

    def headers(self) -> dict[str, str]:
        out = {"Content-Type": "application/json"}
        if self.token is not None:
            out["Authorization"] = f"Bearer {self.token}"
        return out

    def decoded(self) -> dict[str, str]:
        """The JWT's header and claims (the raw token is redacted in the transcript)."""
        if self.token is None:
            return {"Authorization": "(none sent)"}
        return {"Bearer JWT (decoded)": describe_token(self.token)}


def okta_request(
    endpoint: str,
    token: str | None,
    sub_id: Mapping[str, str] | None = None,
    *,
    body: str | None = None,
    label: str = "Okta's Universal Logout request",
) -> RevocationRequest:
    """The request Okta POSTs: ``{"sub_id": sub_id}`` (or exactly ``body``)."""
    if body is None:
        if sub_id is None:
            raise LogoutError("a logout request needs a subject (sub_id) or a body")
        body = json.dumps({"sub_id": dict(sub_id)})
    return RevocationRequest(url=endpoint, token=token, body=body, label=label)


@dataclass(frozen=True)
class Answer:
    """The app's answer: only the status counts for Okta."""

    status: int
    text: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def meaning(self) -> str:
        return STATUS_MEANING.get(self.status, "not a status Okta's Universal Logout reads")

    def describe(self) -> str:
        """The status and what Okta reads in it, then the start of the body."""
        body = " ".join(self.text.split())
        return f"HTTP {self.status} ({self.meaning})" + (f": {body[:300]}" if body else "")

    def describe_token_answer(self) -> str:
        """A token endpoint's answer without the tokens: the status, then whether tokens
        were issued or the OAuth error (RFC 6749 §5.1, §5.2)."""
        try:
            body = load_json(self.text)
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("access_token"):
            what = "tokens issued (access_token" + (
                ", a new refresh_token)" if body.get("refresh_token") else ")"
            )
        elif isinstance(body, dict) and body.get("error"):
            what = f"error {body.get('error')!r}"
            if body.get("error_description"):
                what += f": {str(body['error_description'])[:200]}"
        else:
            what = " ".join(self.text.split())[:200] or "empty body"
        return f"HTTP {self.status}: {what}"


def _server_to_server() -> requests.Session:
    """A session without cookies or proxies: Okta calls the app from its own servers."""
    session = watched_session()
    session.trust_env = False
    session.headers["User-Agent"] = USER_AGENT
    return session


def post(
    url: str,
    body: str | Mapping[str, str],
    headers: Mapping[str, str],
    transcript: Transcript,
    *,
    timeout: float,
    note: str,
    decoded: Mapping[str, str] | None = None,
    auth: tuple[str, str] | None = None,
) -> Answer:
    """One recorded server-to-server POST (no cookies, no redirects followed).

    Raises :class:`~oin_conformance.roles.browser.BrowserError` when no answer came."""
    session = _server_to_server()
    try:
        data = body.encode() if isinstance(body, str) else dict(body)
        prepared = session.prepare_request(
            requests.Request("POST", url, data=data, headers=dict(headers), auth=auth)
        )
        resp, text = recorded_exchange(
            session,
            prepared,
            transcript,
            url=url,
            timeout=timeout,
            max_body=MAX_ANSWER,
            note=note,
            decoded=decoded,
        )
    finally:
        session.close()
    return Answer(resp.status_code, text, dict(resp.headers))


def send(request: RevocationRequest, transcript: Transcript, *, timeout: float) -> Answer:
    """POST a logout request as Okta does; raises ``BrowserError`` when unanswered."""
    return post(
        request.url,
        request.body,
        request.headers(),
        transcript,
        timeout=timeout,
        note=request.label,
        decoded=request.decoded(),
    )


# --- refresh tokens (what partial support revokes) ------------------------------------------


def fetch_refresh_token(browser: Browser, url: str, pointer: str) -> tuple[str | None, str]:
    """(the refresh token the app hands the signed-in ``browser`` at ``url``, what was seen).

    ``pointer`` is an RFC 6901 pointer into the JSON answer. Raises ``BrowserError`` when the
    app does not answer."""
    page = browser.send("GET", url, note="the app issues a refresh token to the signed-in user")
    try:
        value = json_pointer(load_json(page.text), pointer)
    except (ValueError, KeyError, IndexError, TypeError):
        return None, f"HTTP {page.status}; no JSON value at {pointer}"
    if not isinstance(value, str) or not value:
        return None, f"HTTP {page.status}; the value at {pointer} is not a non-empty string"
    return value, f"HTTP {page.status}; a refresh token at {pointer}"


def redeem_refresh_token(
    token_url: str,
    refresh_token: str,
    transcript: Transcript,
    *,
    timeout: float,
    client_id: str = "",
    client_secret: str = "",
    note: str = "refresh token redeemed at the app's token endpoint",
) -> Answer:
    """``grant_type=refresh_token`` (RFC 6749 §6) at the app's token endpoint; a secret is
    sent as HTTP Basic, a client id alone as a form field (a public client)."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    auth = None
    if client_secret:
        auth = (client_id, client_secret)
    elif client_id:
        form["client_id"] = client_id
    return post(
        token_url,
        form,
        {"Accept": "application/json"},
        transcript,
        timeout=timeout,
        note=note,
        auth=auth,
    )


def refreshed(answer: Answer) -> tuple[bool, str | None]:
    """(whether the app issued tokens for the refresh token, the rotated refresh token if it
    sent one). RFC 6749 §5.1: HTTP 200 with an ``access_token``."""
    if answer.status != 200:
        return False, None
    try:
        body = load_json(answer.text)
    except ValueError:
        return False, None
    if not isinstance(body, dict) or not body.get("access_token"):
        return False, None
    rotated = body.get("refresh_token")
    return True, rotated if isinstance(rotated, str) and rotated else None


# --- a JWKS of the org's keys, on loopback --------------------------------------------------


class KeysServer:
    """``GET /oauth2/v1/keys`` on loopback, publishing public keys as Okta publishes them
    (for a signing key with no provider of its own: the SAML IdP's)."""

    PATH = "/oauth2/v1/keys"

    def __init__(
        self, keys: Iterable[RSAKey] | Callable[[], Iterable[RSAKey]], bind: str = "127.0.0.1"
    ) -> None:
        self._keys = keys
        self._served = ServedApp(self._wsgi, host=bind, port=0)

    @property
    def jwks_uri(self) -> str:
        return self._served.url + self.PATH

    def jwks(self) -> dict[str, Any]:
        source = self._keys() if callable(self._keys) else self._keys
        return {"keys": [public_jwk(k) for k in source]}

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if environ.get("PATH_INFO") == self.PATH and environ.get("REQUEST_METHOD") == "GET":
            body = json.dumps(self.jwks()).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        start_response("404 Not Found", [("Content-Type", "application/json")])
        return [b'{"errorCode":"E0000022","errorSummary":"The endpoint does not exist."}']

    def stop(self) -> None:
        self._served.stop()


__all__ = [
    "TYP",
    "WINDOW",
    "Answer",
    "KeysServer",
    "LogoutError",
    "RevocationRequest",
    "Signer",
    "app_instance_id",
    "audience",
    "fetch_refresh_token",
    "okta_request",
    "org_url",
    "redeem_refresh_token",
    "refreshed",
    "saml_signer",
    "send",
    "subject",
    "token_parts",
]
