"""A remote app, on loopback: the reference app behind a proxy that delays every request.

ISVs run the harness against a staging app in a cloud region, where each round trip costs
20-100 ms. This module puts the reference app behind a small HTTP proxy on 127.0.0.1 that
holds every request for a fixed delay (one round trip) plus, optionally, a delay per KiB
sent and received, then forwards it unchanged (method, path, headers, cookies, body) and
returns the app's answer unchanged (redirects are not followed, Set-Cookie headers kept).

Use it as the target's app (``benchmarks/run.py --only latency`` writes such a target)::

    [app]
    serve = "benchmarks.latency:reference_behind_proxy"
    serve_factory = true

Settings come from the environment, so that pytest-xdist workers inherit them:
``OIN_BENCH_DELAY_MS`` (default 50), ``OIN_BENCH_MS_PER_KIB`` (default 0) and
``OIN_BENCH_COUNT_DIR`` (when set, each process appends one line per proxied request,
``METHOD path``, to a file of its own there).

Not modelled: TCP and TLS handshakes (each new connection would cost one or two more round
trips) and the app's own back channel to Okta (the OP is still 0 ms away).
"""

from __future__ import annotations

import http.client
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from oin_conformance.roles.serve import ServedApp

StartResponse = Callable[..., Any]
#: Hop-by-hop headers a proxy does not forward (RFC 9110 §7.6.1).
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}


def _setting(name: str, default: float) -> float:
    value = os.environ.get(name, "")
    return float(value) if value else default


class DelayProxy:
    """WSGI app that forwards each request to ``upstream`` (host, port) after a delay."""

    def __init__(self, upstream: tuple[str, int], delay_ms: float, ms_per_kib: float = 0.0) -> None:
        self.upstream = upstream
        self.delay_ms = delay_ms
        self.ms_per_kib = ms_per_kib
        self._local = threading.local()
        count_dir = os.environ.get("OIN_BENCH_COUNT_DIR", "")
        self._count_file = Path(count_dir) / f"requests-{os.getpid()}.log" if count_dir else None
        self._count_lock = threading.Lock()

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(*self.upstream, timeout=60)
            self._local.conn = conn
        return conn

    def _count(self, method: str, path: str) -> None:
        if self._count_file is None:
            return
        with self._count_lock, self._count_file.open("a") as fh:
            fh.write(f"{method} {path}\n")

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ.get("RAW_URI") or environ.get("PATH_INFO", "/")
        query = environ.get("QUERY_STRING", "")
        if query and "?" not in path:
            path += "?" + query
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {
            key[5:].replace("_", "-").title(): value
            for key, value in environ.items()
            if key.startswith("HTTP_") and key[5:].replace("_", "-").lower() not in HOP_BY_HOP
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        self._count(method, path)
        status, reason, answer, payload = self._forward(method, path, headers, body)
        kib = (len(body) + len(payload)) / 1024
        time.sleep((self.delay_ms + self.ms_per_kib * kib) / 1000)
        start_response(f"{status} {reason}", answer)
        return [payload]

    def _forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, str, list[tuple[str, str]], bytes]:
        for attempt in (1, 2):  # a kept-alive connection the app closed is retried once
            conn = self._connection()
            try:
                conn.request(method, path, body=body or None, headers=headers)
                resp = conn.getresponse()
                payload = resp.read()
            except (http.client.HTTPException, OSError):
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise
                continue
            answer = [
                (name, value)
                for name, value in resp.getheaders()
                if name.lower() not in HOP_BY_HOP and name.lower() != "content-length"
            ]
            answer.append(("Content-Length", str(len(payload))))
            if resp.will_close:
                conn.close()
                self._local.conn = None
            return resp.status, resp.reason, answer, payload
        raise AssertionError("unreachable")


def reference_behind_proxy(harness: dict[str, Any], options: dict[str, Any]) -> DelayProxy:
    """``serve_factory``: the reference app on its own loopback port, behind a DelayProxy."""
    from fixtures.reference_app.app import create_app

    app = ServedApp(create_app(harness, options))
    return DelayProxy(
        ("127.0.0.1", app.port),
        delay_ms=_setting("OIN_BENCH_DELAY_MS", 50.0),
        ms_per_kib=_setting("OIN_BENCH_MS_PER_KIB", 0.0),
    )


__all__ = ["DelayProxy", "reference_behind_proxy"]
