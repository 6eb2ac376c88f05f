"""Run a WSGI app on 127.0.0.1 in a background thread (``[app] serve``).

The server binds port 0 and reads the real port back, so parallel runs never collide.
Errors raised by the app on the server thread are kept and can be re-raised in the test
thread with :meth:`ServedApp.check`.
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Callable, Iterable
from contextlib import suppress
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

WSGIApp = Callable[..., Iterable[bytes]]
#: How often the serving thread looks for :meth:`ServedApp.stop` (seconds). socketserver's
#: default, 0.5, made every stop wait up to half a second: a run stops four or five servers
#: at its end, one after the other, in every xdist worker.
POLL_INTERVAL = 0.05


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:  # noqa: D102
        pass


class ServeError(Exception):
    """The app named by ``serve`` could not be imported or started."""


def import_object(spec: str, paths: Iterable[str] = ()) -> Any:
    """Import ``package.module:name``, with ``paths`` put first on ``sys.path``."""
    module_name, _, attr = spec.partition(":")
    for path in reversed(list(paths)):
        if path not in sys.path:
            sys.path.insert(0, path)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - any import failure is the user's to see
        raise ServeError(f"cannot import {module_name!r}: {type(exc).__name__}: {exc}") from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ServeError(f"module {module_name!r} has no attribute {attr!r}") from None


class ServedApp:
    """A WSGI app served on loopback until :meth:`stop`."""

    def __init__(self, app: WSGIApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.errors: list[BaseException] = []
        self._app = app
        self.server: BaseWSGIServer = make_server(
            host, port, self._guarded, threaded=True, request_handler=_QuietHandler
        )
        self.port = self.server.socket.getsockname()[1]
        self.host = host
        self._thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": POLL_INTERVAL},
            name=f"oin-serve-{self.port}",
            daemon=True,
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _guarded(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        try:
            return self._app(environ, start_response)
        except Exception as exc:
            self.errors.append(exc)
            raise

    def stop(self) -> None:
        with suppress(Exception):
            self.server.shutdown()
            self.server.server_close()
        self._thread.join(timeout=5)
