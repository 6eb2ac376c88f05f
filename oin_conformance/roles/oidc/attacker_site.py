"""The attacker's own web site, on loopback: where a forged ID token's ``jku`` or ``x5u``
header points.

A forgery publishes a document here (the attacker's JWKS, the attacker's certificate) under
a path no one else knows, and names that URL in the token's header. A correct relying party
never fetches it; one that follows the header does, and every request is recorded — the
evidence a check shows (SPEC §10 "Delivery": a fetch is *observed*, not inferred).

A plain library (no pytest, no run wiring): ``AttackerSite().start()`` serves it on
127.0.0.1 until :meth:`AttackerSite.stop`.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from oin_conformance.roles.serve import ServedApp


@dataclass(frozen=True)
class Fetch:
    """One request the site answered."""

    method: str
    path: str
    user_agent: str
    at: float

    def describe(self) -> str:
        agent = f" (User-Agent: {self.user_agent})" if self.user_agent else ""
        return f"{self.method} {self.path}{agent}"


class AttackerSite:
    """A loopback web server that serves published documents and records every request."""

    def __init__(self, bind: str = "127.0.0.1", host: str | None = None) -> None:
        """``bind``: the address to listen on; ``host``: the name its URLs use (the bind
        address by default; give the provider's host when the app runs elsewhere)."""
        self.bind = bind
        self.host = host or bind
        self._documents: dict[str, tuple[bytes, str]] = {}
        self._fetches: list[Fetch] = []
        self._lock = threading.Lock()
        self._served: ServedApp | None = None

    def start(self) -> AttackerSite:
        if self._served is None:
            self._served = ServedApp(self._wsgi, host=self.bind, port=0)
        return self

    def stop(self) -> None:
        if self._served is not None:
            self._served.stop()
            self._served = None

    @property
    def url(self) -> str:
        if self._served is None:
            raise RuntimeError("the attacker's site is not started")
        return f"http://{self.host}:{self._served.port}"

    def publish(self, name: str, body: bytes, content_type: str) -> str:
        """Serve ``body`` at a fresh unguessable path ending in ``name``; its URL."""
        path = f"/{secrets.token_urlsafe(12)}/{name}"
        with self._lock:
            self._documents[path] = (body, content_type)
        return self.url + path

    def fetches(self, url: str) -> list[Fetch]:
        """The requests made for ``url`` (a URL :meth:`publish` returned), oldest first."""
        path = url.removeprefix(self.url)
        with self._lock:
            return [f for f in self._fetches if f.path == path]

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        fetch = Fetch(
            method=str(environ.get("REQUEST_METHOD", "")),
            path=path,
            user_agent=str(environ.get("HTTP_USER_AGENT", "")),
            at=time.time(),
        )
        with self._lock:
            self._fetches.append(fetch)
            document = self._documents.get(path)
        if document is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        body, content_type = document
        start_response(
            "200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        )
        return [body]


__all__ = ["AttackerSite", "Fetch"]
