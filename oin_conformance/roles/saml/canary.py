"""The DTD / XXE canary: a loopback server that proves whether an app fetched a URL."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from oin_conformance.roles.serve import ServedApp


# --- the canary (DTD / XXE) ----------------------------------------------------------------


class Canary:
    """A loopback server that records every request: proof that an app fetched a URL."""

    def __init__(self) -> None:
        from oin_conformance.roles.serve import ServedApp

        self._lock = threading.Lock()
        self.hits: list[str] = []
        self.server: ServedApp = ServedApp(self._wsgi)

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with self._lock:
            self.hits.append(environ.get("PATH_INFO", ""))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"canary"]

    def url(self, token: str) -> str:
        return f"{self.server.url}/canary/{token}"

    def was_hit(self, token: str) -> bool:
        with self._lock:
            return any(token in h for h in self.hits)

    def stop(self) -> None:
        self.server.stop()
