"""The four ways Okta authenticates to a SCIM server: a raw header token, Bearer, Basic and
OAuth 2 client credentials."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import requests

from oin_conformance.roles.browser import (
    DeadlineExceeded,
    decode_body,
    describe_error,
    exchange,
)
from oin_conformance.roles.scim.common import MAX_TOKEN_BODY, OKTA_USER_AGENT, ScimClientError
from oin_conformance.transcript import Transcript, load_json

if TYPE_CHECKING:
    from oin_conformance.target import ScimAuth


# --- auth --------------------------------------------------------------------------------------


class Auth:
    """The credentials Okta would be configured with, as an ``Authorization`` header."""

    def __init__(
        self,
        mode: str,
        *,
        token: str = "",
        username: str = "",
        password: str = "",
        token_url: str = "",
        client_id: str = "",
        client_secret: str = "",
        resolve: Callable[[str], str] = lambda u: u,
    ) -> None:
        self.mode = mode
        self.token = token
        self.username = username
        self.password = password
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.resolve = resolve
        self._access_token = ""
        self._expires = 0.0
        self._lock = threading.Lock()

    @classmethod
    def from_target(cls, auth: ScimAuth, url: Callable[[str], str] = lambda u: u) -> Auth:
        def secret(value: Any) -> str:
            return value.get_secret_value() if value is not None else ""

        return cls(
            auth.mode,
            token=secret(auth.token),
            username=auth.username or "",
            password=secret(auth.password),
            token_url=auth.token_url or "",
            client_id=auth.client_id or "",
            client_secret=secret(auth.client_secret),
            resolve=url,
        )

    def secrets(self) -> list[str]:
        found = [self.token, self.password, self.client_secret, self._access_token]
        if self.mode == "basic":
            found.append(f"{self.username}:{self.password}")
        return [s for s in found if s]

    def header(self, session: requests.Session, transcript: Transcript, timeout: float) -> str:
        if self.mode == "header":
            return self.token
        if self.mode == "bearer":
            return f"Bearer {self.token}"
        if self.mode == "basic":
            pair = f"{self.username}:{self.password}".encode()
            return "Basic " + base64.b64encode(pair).decode()
        return f"Bearer {self._oauth_token(session, transcript, timeout)}"

    def _oauth_token(
        self, session: requests.Session, transcript: Transcript, timeout: float
    ) -> str:
        with self._lock:
            if self._access_token and time.monotonic() < self._expires - 30:
                return self._access_token
            started = time.perf_counter()
            token_url = self.resolve(self.token_url)
            data = {"grant_type": "client_credentials"}
            pair = f"{quote(self.client_id, safe='')}:{quote(self.client_secret, safe='')}"
            headers = {
                "Authorization": "Basic " + base64.b64encode(pair.encode()).decode(),
                "Accept": "application/json",
                "User-Agent": OKTA_USER_AGENT,
            }
            req_headers = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
            prepared = session.prepare_request(
                requests.Request("POST", token_url, data=data, headers=headers)
            )
            try:
                resp, raw = exchange(session, prepared, timeout=timeout, max_body=MAX_TOKEN_BODY)
            except requests.RequestException as exc:
                reason = describe_error(exc, timeout)
                late = exc.response if isinstance(exc, DeadlineExceeded) else None
                transcript.record(
                    method="POST",
                    url=token_url,
                    request_headers=req_headers,
                    request_body="grant_type=client_credentials",
                    status=late.status_code if late is not None else None,
                    response_headers={},
                    response_body=None,
                    started=started,
                    error=reason,
                    note="OAuth 2 token request",
                )
                raise ScimClientError(f"token endpoint unreachable: {reason}") from None
            text = decode_body(raw, resp.encoding)
            answer = _json_object(text)
            fresh = [t for t in _token_of(answer) if t != self._access_token]
            if fresh:
                transcript.redactor = transcript.redactor.with_secrets(fresh)
            transcript.record(
                method="POST",
                url=token_url,
                request_headers=req_headers,
                request_body="grant_type=client_credentials",
                status=resp.status_code,
                response_headers=dict(resp.headers),
                response_body=text,
                started=started,
                note="OAuth 2 token request",
            )
            tokens = _token_of(answer)
            token = tokens[0] if tokens else ""
            if resp.status_code != 200 or not token:
                raise ScimClientError(
                    f"the token endpoint answered HTTP {resp.status_code} without an access_token"
                )
            try:
                lifetime = float(answer.get("expires_in", 3600))
            except (ValueError, TypeError, OverflowError):
                lifetime = 3600.0
            self._access_token = token
            self._expires = time.monotonic() + lifetime
            return token


def _json_object(text: str) -> dict[str, Any]:
    """The JSON object in ``text``, or ``{}`` (not JSON, too deep, not an object)."""
    try:
        data = load_json(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _token_of(answer: Mapping[str, Any]) -> list[str]:
    token = answer.get("access_token")
    return [token] if isinstance(token, str) and token else []
