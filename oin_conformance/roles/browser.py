"""The harness's browser: a requests session that behaves like a user's browser.

It follows redirects itself (so every hop is recorded), submits auto-posting HTML forms
(the SAML HTTP-POST binding and OIDC ``form_post``), keeps a cookie jar per instance (one
browser per check gives each check a fresh jar), gives every exchange an overall deadline
(see :func:`exchange`: an app that trickles its answer a byte at a time is cut off after
``timeout`` seconds, not after ``timeout`` per byte), reads at most ``max_body`` bytes of
any response, decodes it as a browser would (an unknown charset falls back to UTF-8), and
never follows a redirect to a host it was not told about — such a redirect is recorded
and returned, not fetched.

While :meth:`Browser.probing` is on (a check asking the app who is signed in), the browser
never enters a *harness-owned* origin (the harness's own OP or IdP, see :meth:`Browser.guard`):
a redirect, an auto-posting form or a meta refresh into one ends the navigation there, with
:attr:`Page.entered_harness` set, so a probe can never be satisfied by a fresh sign-in that
the harness itself would grant (SPEC §10 "Probes").
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import requests
from lxml import etree
from lxml import html as lxml_html
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

if TYPE_CHECKING:
    from urllib3.response import HTTPResponse

from oin_conformance import __version__
from oin_conformance.transcript import Transcript, header

USER_AGENT = f"Mozilla/5.0 (compatible; oin-conformance/{__version__})"
MAX_BODY = 5 * 1024 * 1024
AUTOPOST_FIELDS = {"SAMLResponse", "SAMLRequest", "id_token", "code", "state"}


class BrowserError(Exception):
    """The app could not be reached or answered in a way no browser could use.

    ``reason`` is what went wrong, in words for the report (without the request)."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message


@dataclass
class Page:
    """Where the browser ended up after following redirects and auto-posted forms."""

    url: str
    status: int
    headers: dict[str, str]
    text: str
    history: list[tuple[str, int]] = field(default_factory=list)
    blocked_redirect: str | None = None
    #: Where the page would have taken the browser into the harness's own OP/IdP while a
    #: probe was running (the navigation stopped there).
    entered_harness: str | None = None
    #: The method of the request that answered with this page.
    method: str = "GET"

    def header(self, name: str) -> str | None:
        return header(self.headers, name)


@dataclass(frozen=True)
class Form:
    action: str
    method: str
    fields: dict[str, str]


def origin(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


class Browser:
    """A user's browser, recorded into ``transcript``."""

    def __init__(
        self,
        transcript: Transcript,
        *,
        allowed_origins: Iterable[str] = (),
        timeout: float = 15.0,
        max_body: int = MAX_BODY,
        max_hops: int = 12,
    ) -> None:
        self.transcript = transcript
        self.timeout = timeout
        self.max_body = max_body
        self.max_hops = max_hops
        self.allowed = {origin(u) for u in allowed_origins}
        self.harness: set[str] = set()
        self._probing = False
        self._entries_left: int | None = None
        self.session = watched_session()
        self.session.trust_env = False  # never route loopback traffic through a proxy
        self.session.headers["User-Agent"] = USER_AGENT

    def allow(self, url: str) -> None:
        self.allowed.add(origin(url))

    def guard(self, url: str) -> None:
        """Mark ``url``'s origin as the harness's own (an OP or IdP that signs users in)."""
        self.harness.add(origin(url))

    @contextmanager
    def probing(self) -> Iterator[None]:
        """While on, navigation into a harness-owned origin stops (see the module doc)."""
        before, self._probing = self._probing, True
        try:
            yield
        finally:
            self._probing = before

    @contextmanager
    def one_sign_in(self) -> Iterator[None]:
        """While on, the browser enters a harness-owned origin once: the flow the check
        drives. A second entry (the app restarting sign-in after refusing a forgery, which
        the harness would answer honestly) ends the navigation there."""
        before, self._entries_left = self._entries_left, 1
        try:
            yield
        finally:
            self._entries_left = before

    def _into_harness(self, page: Page, target: str, how: str) -> bool:
        """Whether navigating to ``target`` must stop here (see :meth:`probing`,
        :meth:`one_sign_in`); counts an allowed entry."""
        if origin(target) not in self.harness:
            return False
        if self._probing:
            why = (
                "Probe stopped: the app sent the browser into the harness's own sign-in; the "
                "harness never signs anyone in while it asks who is signed in"
            )
        elif self._entries_left is None:
            return False
        elif self._entries_left > 0:
            self._entries_left -= 1
            return False
        else:
            why = (
                "Stopped: the app started a second sign-in at the harness in the same flow; a "
                "sign-in counts only through the flow the check drove"
            )
        self.transcript.note(f"{why} ({how} to {target})")
        page.entered_harness = target
        return True

    def close(self) -> None:
        self.session.close()

    # -- one recorded exchange -----------------------------------------------------------

    def send(
        self,
        method: str,
        url: str,
        *,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        note: str = "",
        decoded: Mapping[str, str] | None = None,
    ) -> Page:
        """One request, no redirects followed; recorded whatever happens."""
        req = requests.Request(method, url, data=data, headers=dict(headers or {}))
        prepared = self.session.prepare_request(req)
        resp, text = recorded_exchange(
            self.session,
            prepared,
            self.transcript,
            url=url,
            timeout=self.timeout,
            max_body=self.max_body,
            note=note,
            decoded=decoded,
        )
        return Page(
            url=url, status=resp.status_code, headers=dict(resp.headers), text=text, method=method
        )

    # -- what a user's browser does ------------------------------------------------------

    def get(self, url: str, *, note: str = "") -> Page:
        return self.navigate("GET", url, note=note)

    def post_form(
        self,
        url: str,
        fields: Mapping[str, str],
        *,
        note: str = "",
        decoded: Mapping[str, str] | None = None,
    ) -> Page:
        """POST a form (as an auto-posting page would), then follow where it leads."""
        return self.navigate("POST", url, data=fields, note=note, decoded=decoded)

    def navigate(
        self,
        method: str,
        url: str,
        *,
        data: Mapping[str, str] | None = None,
        note: str = "",
        decoded: Mapping[str, str] | None = None,
        autopost: bool = True,
    ) -> Page:
        history: list[tuple[str, int]] = []
        page = self.send(method, url, data=data, note=note, decoded=decoded)
        for _ in range(self.max_hops):
            history.append((page.url, page.status))
            location = page.header("Location")
            if 300 <= page.status < 400 and location:
                target = urljoin(page.url, location)
                if self._into_harness(page, target, f"HTTP {page.status} redirect"):
                    page.history = history
                    return page
                if urlsplit(target).scheme not in {"http", "https"} or (
                    self.allowed and origin(target) not in self.allowed
                ):
                    self.transcript.note(f"Not following redirect off-site to {target}")
                    page.blocked_redirect = target
                    page.history = history
                    return page
                # 307/308 keep the method; everything else becomes a GET, as in browsers.
                if page.status in (307, 308):
                    page = self.send(method, target, data=data)
                else:
                    page = self.send("GET", target)
                continue
            refresh = meta_refresh(page.text, page.url) if self._probing else None
            if refresh is not None and self._into_harness(page, refresh, "meta refresh"):
                page.history = history
                return page
            form = find_autopost_form(page.text, page.url) if autopost else None
            if form is not None and self._into_harness(page, form.action, "auto-posting form"):
                page.history = history
                return page
            if form is not None and (not self.allowed or origin(form.action) in self.allowed):
                page = self.send(
                    form.method, form.action, data=form.fields, note="auto-posted form"
                )
                continue
            page.history = history
            return page
        raise BrowserError(
            f"more than {self.max_hops} redirects or auto-posted forms starting at {url}: "
            + " -> ".join(f"{u} ({s})" for u, s in history[-5:])
        )


def find_autopost_form(text: str, base_url: str) -> Form | None:
    """The form a browser would submit by itself on this page, if any.

    A form counts as auto-posting when the page submits it from script (``onload`` or an
    inline ``.submit()``) or when it carries a protocol message field (``SAMLResponse``,
    ``SAMLRequest``, ``id_token``, ``code``) the way an IdP or SP hand-off page does.
    """
    if "<form" not in text.lower():
        return None
    try:
        parser = lxml_html.HTMLParser(no_network=True, recover=True, remove_comments=True)
        doc = lxml_html.document_fromstring(text, parser=parser)
    except (etree.ParserError, ValueError):
        return None
    forms = doc.forms
    if len(forms) != 1:
        return None
    form = forms[0]
    fields: dict[str, str] = {}
    for inp in form.inputs:
        name = inp.get("name")
        if name and inp.get("type", "text").lower() not in {"submit", "button", "image"}:
            fields[name] = inp.get("value") or ""
    body = doc.find("body")
    onload = (body.get("onload") or "") if body is not None else ""
    scripted = "submit" in onload or any("submit()" in (s.text or "") for s in doc.iter("script"))
    if not scripted and not AUTOPOST_FIELDS.intersection(fields):
        return None
    action = urljoin(base_url, form.get("action") or base_url)
    return Form(action=action, method=(form.get("method") or "GET").upper(), fields=fields)


_META_REFRESH = re.compile(
    r"""<meta[^>]+http-equiv\s*=\s*["']?refresh["']?[^>]*content\s*=\s*["']?\s*\d*\s*;?\s*"""
    r"""url\s*=\s*['"]?([^"'>\s]+)""",
    re.I,
)


def meta_refresh(text: str, base_url: str) -> str | None:
    """The URL a ``<meta http-equiv="refresh">`` on this page would open, if any."""
    m = _META_REFRESH.search(text[:65536])
    return urljoin(base_url, m.group(1)) if m else None


def read_capped(
    resp: requests.Response, limit: int = MAX_BODY, deadline: Deadline | None = None
) -> bytes:
    """At most ``limit`` bytes of a streamed response body (the rest is not read); reading
    stops when ``deadline`` expires (the caller then reports the exchange as too slow)."""
    chunks: list[bytes] = []
    size = 0
    for chunk in resp.iter_content(64 * 1024):
        if size + len(chunk) > limit:
            chunks.append(chunk[: limit - size])
            chunks.append(f"\n[... body cut at {limit} bytes]".encode())
            resp.close()
            break
        chunks.append(chunk)
        size += len(chunk)
        if deadline is not None and deadline.expired:
            break
    return b"".join(chunks)


def decode_body(body: bytes, encoding: str | None) -> str:
    """The text of a response body, decoded as a browser would.

    A charset Python does not know (``charset=x-bogus``), or a codec that is not a text
    encoding (``charset=base64``, ``rot13``), falls back to UTF-8 with replacement
    characters, as browsers fall back to a default for a label they do not know (WHATWG
    Encoding Standard), instead of failing.
    """
    if encoding:
        try:
            return body.decode(encoding, errors="replace")
        except (LookupError, UnicodeError, ValueError, TypeError):
            pass  # bytes.decode refuses non-text codecs with a LookupError too
    return body.decode("utf-8", errors="replace")


# -- an overall deadline per exchange ------------------------------------------------------
#
# ``requests``' ``timeout`` bounds each socket read, not the exchange: a server trickling one
# byte every 0.8 s never trips a 1 s timeout. Every exchange therefore runs under a
# :class:`Deadline`; the connections of a :func:`watched_session` report their socket to the
# deadline of the exchange running in their thread, and one watchdog thread shuts those
# sockets down when the deadline passes, which ends any read blocked on them at once.


class DeadlineExceeded(requests.Timeout):
    """The exchange took longer than its overall deadline (the app answered too slowly)."""


_CURRENT = threading.local()


class Deadline:
    """An overall time limit for one exchange (a context manager, per thread)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expires = time.monotonic() + seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._outer: Deadline | None = None

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock`` down when the deadline passes (at once if it already has)."""
        with self._lock:
            if not self.expired:
                self._sockets.append(sock)
                return
        _shut(sock)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shut(sock)

    def __enter__(self) -> Deadline:
        self._outer = getattr(_CURRENT, "deadline", None)
        _CURRENT.deadline = self
        _WATCHDOG.add(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _WATCHDOG.remove(self)
        _CURRENT.deadline = self._outer
        with self._lock:
            self._sockets.clear()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class _Watchdog:
    """One daemon thread that expires deadlines (started on first use, and again in a child
    process after a fork, where it does not survive). It is woken only for a deadline sooner
    than the one it sleeps until, so back-to-back exchanges cost it no wake-up each."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._active: dict[int, Deadline] = {}
        self._thread: threading.Thread | None = None
        #: when the thread wakes up next by itself (None: only when notified)
        self._wake_at: float | None = None

    def add(self, deadline: Deadline) -> None:
        with self._cond:
            self._active[id(deadline)] = deadline
            if self._thread is None or not self._thread.is_alive():
                self._wake_at = None
                self._thread = threading.Thread(
                    target=self._run, name="oin-conformance deadlines", daemon=True
                )
                self._thread.start()
            if self._wake_at is None or deadline.expires < self._wake_at:
                self._cond.notify()

    def remove(self, deadline: Deadline) -> None:
        with self._cond:
            self._active.pop(id(deadline), None)

    def _run(self) -> None:
        while True:
            with self._cond:
                now = time.monotonic()
                due = [d for d in self._active.values() if d.expires <= now]
                for d in due:
                    del self._active[id(d)]
                if not due:
                    self._wake_at = min((d.expires for d in self._active.values()), default=None)
                    self._cond.wait(None if self._wake_at is None else self._wake_at - now)
                    continue
            for d in due:
                d.expire()


_WATCHDOG = _Watchdog()


def _watch_current(conn: HTTPConnection) -> None:
    deadline: Deadline | None = getattr(_CURRENT, "deadline", None)
    if deadline is not None and conn.sock is not None:
        deadline.watch(conn.sock)


class _WatchedHTTPConnection(HTTPConnection):
    def getresponse(self) -> HTTPResponse:  # type: ignore[override]  # as urllib3's own
        _watch_current(self)
        return super().getresponse()


class _WatchedHTTPSConnection(HTTPSConnection):
    def getresponse(self) -> HTTPResponse:  # type: ignore[override]  # as urllib3's own
        _watch_current(self)
        return super().getresponse()


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _WatchedAdapter(HTTPAdapter):
    """An adapter whose connections report their socket to the running exchange's deadline."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _WatchedHTTPPool,
            "https": _WatchedHTTPSPool,
        }


def watched_session(session: requests.Session | None = None) -> requests.Session:
    """``session`` (or a new one) whose exchanges :func:`exchange` can cut off."""
    session = session or requests.Session()
    session.mount("http://", _WatchedAdapter())
    session.mount("https://", _WatchedAdapter())
    return session


def exchange(
    session: requests.Session,
    prepared: requests.PreparedRequest,
    *,
    timeout: float,
    max_body: int = MAX_BODY,
) -> tuple[requests.Response, bytes]:
    """Send one request (no redirects followed) and read at most ``max_body`` bytes of the
    answer, all within ``timeout`` seconds: headers and body together, however slowly the
    app trickles them. Raises :class:`DeadlineExceeded` (a ``requests.Timeout``) when the
    app takes longer, with the response (if its head had arrived) attached."""
    with Deadline(timeout) as deadline:
        resp: requests.Response | None = None
        try:
            resp = session.send(prepared, allow_redirects=False, timeout=timeout, stream=True)
            body = read_capped(resp, max_body, deadline)
        except (requests.RequestException, OSError) as exc:
            if deadline.expired:
                raise DeadlineExceeded(
                    f"no whole answer within {timeout:g} s", request=prepared, response=resp
                ) from None
            if isinstance(exc, requests.RequestException):
                raise
            raise requests.ConnectionError(str(exc), request=prepared) from None
        if deadline.expired:
            resp.close()
            raise DeadlineExceeded(
                f"no whole answer within {timeout:g} s", request=prepared, response=resp
            )
    return resp, body


def _body_of(prepared: requests.PreparedRequest) -> str:
    body: Any = prepared.body
    if body is None:
        return ""
    return body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)


def recorded_exchange(
    session: requests.Session,
    prepared: requests.PreparedRequest,
    transcript: Transcript,
    *,
    url: str,
    timeout: float,
    max_body: int,
    note: str = "",
    decoded: Mapping[str, str] | None = None,
) -> tuple[requests.Response, str]:
    """Send ``prepared`` (overall deadline, capped body), record the exchange into
    ``transcript`` whatever happens, and return the response and its decoded text; a request
    that got no usable answer is recorded and raised as :class:`BrowserError` (``reason``)."""
    method = prepared.method or "GET"
    started = time.perf_counter()
    try:
        resp, body = exchange(session, prepared, timeout=timeout, max_body=max_body)
    except requests.RequestException as exc:
        reason = describe_error(exc, timeout)
        late = exc.response if isinstance(exc, DeadlineExceeded) else None
        transcript.record(
            method=method,
            url=url,
            request_headers=dict(prepared.headers),
            request_body=_body_of(prepared),
            status=late.status_code if late is not None else None,
            response_headers=dict(late.headers) if late is not None else {},
            response_body=None,
            started=started,
            error=reason,
            note=note,
            decoded=decoded,
        )
        raise BrowserError(f"{method} {url} failed: {reason}", reason) from None
    text = decode_body(body, resp.encoding)
    transcript.record(
        method=method,
        url=url,
        request_headers=dict(prepared.headers),
        request_body=_body_of(prepared),
        status=resp.status_code,
        response_headers=dict(resp.headers),
        response_body=text,
        started=started,
        note=note,
        decoded=decoded,
    )
    return resp, text


def describe_error(exc: requests.RequestException, timeout: float) -> str:
    """What went wrong with a request, in words for the report."""
    if isinstance(exc, requests.ConnectTimeout):
        return f"could not connect within {timeout:g} s (timeout)"
    if isinstance(exc, requests.Timeout):
        # A read timeout and the overall deadline (DeadlineExceeded) read the same: the
        # app did not give its whole answer in time.
        return f"the app took longer than {timeout:g} s to answer (timeout)"
    if isinstance(exc, requests.ConnectionError):
        text = str(exc)
        if "Connection refused" in text:
            return "connection refused (is the server running at that address?)"
        if "reset" in text.lower():
            return "connection reset by the app"
        return "could not connect: " + text.split(":")[-1].strip()[:200]
    if isinstance(exc, requests.TooManyRedirects):
        return "too many redirects"
    return f"{type(exc).__name__}: {str(exc)[:200]}"
