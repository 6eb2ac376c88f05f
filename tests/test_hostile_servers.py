"""The hostile-server corpus: loopback servers that misbehave at the byte level.

Each case is a real server on 127.0.0.1 that writes its answer by hand (so it can trickle
it a byte at a time, or send what no well-behaved server would), and the one-line outcome
the harness must end with: a clear error recorded in the transcript, or a page read the
way a browser would — never a hang, a ``LookupError`` or a ``RecursionError``.

Needs only the plugin's runtime dependencies (it is part of the lowest-versions CI step).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from oin_conformance.roles.browser import Browser, BrowserError
from oin_conformance.roles.scim import Auth, ScimClient, check_payload
from oin_conformance.transcript import Transcript

#: The harness timeout every case runs with (seconds).
TIMEOUT = 1
#: One byte every this many seconds: each read gets its byte well within TIMEOUT.
TRICKLE = 0.8

Answer = Callable[["RawServer", socket.socket], None]


class RawServer:
    """An HTTP/1.1 server on 127.0.0.1 that answers every request with ``answer``.

    It counts the bytes a trickling answer managed to send before the client hung up, so a
    test can tell that the harness gave up long before the answer would have ended (without
    asserting on wall-clock time)."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.stopped = threading.Event()
        #: (bytes sent, bytes meant) of every trickled answer
        self.trickles: list[tuple[int, int]] = []
        self.trickled = threading.Event()
        #: the head of every request (request line and headers)
        self.requests: list[bytes] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            head = b""
            try:
                while b"\r\n\r\n" not in head and len(head) < 65536:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    head += chunk
            except OSError:
                return
            request, _, body = head.partition(b"\r\n\r\n")
            self.requests.append(request)
            length = 0
            for line in request.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            try:
                while len(body) < length:  # read the request body, or closing resets
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    body += chunk
            except OSError:
                return
            self.answer(self, conn)

    def trickle(self, conn: socket.socket, data: bytes) -> None:
        """Send ``data`` one byte every TRICKLE seconds, until the client hangs up."""
        sent = 0
        try:
            for byte in data:
                conn.sendall(bytes([byte]))
                sent += 1
                if self.stopped.wait(TRICKLE):
                    break
        except OSError:
            pass  # the client hung up: what we wanted to see
        self.trickles.append((sent, len(data)))
        self.trickled.set()

    def close(self) -> None:
        self.stopped.set()
        self.sock.close()
        self._thread.join(timeout=5)


def head(content_type: str, length: int, status: str = "200 OK") -> bytes:
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()


def whole(content_type: str, body: bytes) -> Answer:
    """An answer sent at once."""

    def answer(server: RawServer, conn: socket.socket) -> None:
        conn.sendall(head(content_type, len(body)) + body)

    return answer


def trickled_head(server: RawServer, conn: socket.socket) -> None:
    """Even the status line arrives a byte at a time."""
    body = b'{"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]}'
    server.trickle(conn, head("application/json", len(body)) + body)


def trickled_body(server: RawServer, conn: socket.socket) -> None:
    """The head at once, then the body a byte at a time (100 bytes: 80 s)."""
    body = b"x" * 100
    conn.sendall(head("text/html", len(body)))
    server.trickle(conn, body)


DEEP = b"[" * 200_000
LIST = json.dumps(
    {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 1,
        "startIndex": 1,
        "itemsPerPage": 1,
        "Resources": [
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "id": "1",
                "userName": "zoë@example.com",
            }
        ],
    },
    ensure_ascii=False,
).encode()


LIST_ANSWER = whole("application/scim+json", LIST)


def token_then(token: Answer) -> Answer:
    """``token`` at the OAuth 2 token endpoint, a SCIM list everywhere else."""

    def answer(server: RawServer, conn: socket.socket) -> None:
        at_token = server.requests[-1].startswith(b"POST /oauth/token ")
        (token if at_token else LIST_ANSWER)(server, conn)

    return answer


@dataclass(frozen=True)
class Case:
    """A hostile server and the one-line outcome the harness must end with."""

    answer: Answer
    outcome: str
    #: whether the server trickles (then the harness must hang up long before it ends)
    trickles: bool = False


# -- the browser (every SAML/OIDC flow, the probes, the reachability check) ---------------

BROWSER_CASES = {
    "trickled_head": Case(
        trickled_head, "failed: the app took longer than 1 s to answer (timeout)", trickles=True
    ),
    "trickled_body": Case(
        trickled_body, "failed: the app took longer than 1 s to answer (timeout)", trickles=True
    ),
    "unknown_charset": Case(
        whole("text/html; charset=x-bogus", "<p>Zoë</p>".encode()), "page: <p>Zoë</p>"
    ),
    "non_text_codec_charset": Case(
        whole("text/html; charset=base64", "<p>Zoë</p>".encode()), "page: <p>Zoë</p>"
    ),
    "deeply_nested_json": Case(
        whole("application/json", DEEP), "page: 200000 bytes, recorded as text"
    ),
}


def browse(url: str) -> tuple[str, Transcript]:
    """What the harness's browser ends with at ``url``, in one line."""
    transcript = Transcript()
    browser = Browser(transcript, timeout=TIMEOUT)
    try:
        page = browser.get(url + "/")
    except BrowserError as exc:
        return "failed: " + str(exc).split(" failed: ", 1)[1], transcript
    finally:
        browser.close()
    if len(page.text) > 1000:
        recorded = transcript.exchanges[-1].response_body
        how = "recorded as text" if recorded.startswith("[[[[") else "recorded as JSON"
        return f"page: {len(page.text)} bytes, {how}", transcript
    return f"page: {page.text}", transcript


@pytest.fixture
def serve() -> Iterator[Callable[[Answer], RawServer]]:
    servers: list[RawServer] = []

    def start(answer: Answer) -> RawServer:
        servers.append(RawServer(answer))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.mark.parametrize("name", BROWSER_CASES)
def test_browser_ends_hostile_answers_clearly(
    name: str, serve: Callable[[Answer], RawServer]
) -> None:
    case = BROWSER_CASES[name]
    server = serve(case.answer)
    outcome, transcript = browse(server.url)
    assert outcome == case.outcome
    exchange = transcript.exchanges[-1]
    if case.trickles:
        # Recorded, with the reason; and the harness hung up long before the app would
        # have finished (a per-read timeout alone would have waited for every byte).
        assert exchange.error == "the app took longer than 1 s to answer (timeout)"
        server.stopped.set()
        assert server.trickled.wait(10)
        sent, meant = server.trickles[0]
        assert sent < meant / 4, (sent, meant)
    else:
        assert exchange.status == 200 and not exchange.error


def test_a_slow_body_is_recorded_with_its_status(serve: Callable[[Answer], RawServer]) -> None:
    server = serve(trickled_body)
    _, transcript = browse(server.url)
    exchange = transcript.exchanges[-1]
    assert exchange.status == 200
    assert exchange.error == "the app took longer than 1 s to answer (timeout)"


# -- the SCIM client (Okta's provisioning requests and the cleanup's reads) ---------------

SCIM_CASES = {
    "trickled_head": Case(
        trickled_head, "error: the app took longer than 1 s to answer (timeout)", trickles=True
    ),
    "trickled_body": Case(
        trickled_body, "error: the app took longer than 1 s to answer (timeout)", trickles=True
    ),
    "unknown_charset": Case(
        whole("application/scim+json; charset=x-bogus", LIST), "read: zoë@example.com"
    ),
    "deeply_nested_json": Case(
        whole("application/scim+json", DEEP),
        "problem: the response body is not JSON a client can read: the JSON is nested more "
        "than 100 levels deep (not read)",
    ),
    "deeply_nested_resources": Case(
        whole(
            "application/scim+json",
            b'{"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], '
            b'"totalResults": 1, "Resources": ' + b"[" * 150 + b"]" * 150 + b"}",
        ),
        "problem: the response body is not JSON a client can read: the JSON is nested more "
        "than 100 levels deep (not read)",
    ),
}


def scim_outcome(client: ScimClient) -> str:
    result = client.list_users(1, 2)
    if result.error:
        return f"error: {result.error}"
    if result.problem:
        return f"problem: {result.problem}"
    return "read: " + ", ".join(str(r.get("userName")) for r in result.resources())


def scim_client(url: str, auth: Auth | None = None) -> ScimClient:
    return ScimClient(
        url + "/scim/v2",
        auth=auth or Auth("bearer", token="hostile-token-1234"),
        transcript=Transcript(),
        timeout=TIMEOUT,
    )


@pytest.mark.parametrize("name", SCIM_CASES)
def test_scim_client_ends_hostile_answers_clearly(
    name: str, serve: Callable[[Answer], RawServer]
) -> None:
    case = SCIM_CASES[name]
    server = serve(case.answer)
    client = scim_client(server.url)
    try:
        assert scim_outcome(client) == case.outcome
    finally:
        client.close()
    recorded = client.transcript.exchanges[-1]
    if case.trickles:
        assert recorded.error == "the app took longer than 1 s to answer (timeout)"
    else:
        assert recorded.status == 200 and not recorded.error


TOKEN_CASES = {
    "trickled_token": Case(
        token_then(trickled_body),
        "error: token endpoint unreachable: the app took longer than 1 s to answer (timeout)",
        trickles=True,
    ),
    "deeply_nested_token": Case(
        token_then(whole("application/json", DEEP)),
        "error: the token endpoint answered HTTP 200 without an access_token",
    ),
    "unknown_charset_token": Case(
        token_then(
            whole(
                "application/json; charset=x-bogus",
                b'{"access_token": "t0k3n-from-a-bogus-charset", "expires_in": 3600}',
            )
        ),
        "read: zoë@example.com",
    ),
}


@pytest.mark.parametrize("name", TOKEN_CASES)
def test_oauth_token_endpoint_ends_hostile_answers_clearly(
    name: str, serve: Callable[[Answer], RawServer]
) -> None:
    case = TOKEN_CASES[name]
    server = serve(case.answer)
    auth = Auth(
        "oauth2",
        token_url=server.url + "/oauth/token",
        client_id="okta",
        client_secret="hostile-secret-5678",
    )
    client = scim_client(server.url, auth)
    try:
        assert scim_outcome(client) == case.outcome
    finally:
        client.close()
    token_exchange = client.transcript.exchanges[0]
    assert token_exchange.note == "OAuth 2 token request"
    assert "hostile-secret-5678" not in json.dumps(client.transcript.as_list())
    if name == "unknown_charset_token":
        # The token was read despite the charset, used, and redacted by value.
        assert b"Authorization: Bearer t0k3n-from-a-bogus-charset" in server.requests[-1]
        assert "t0k3n-from-a-bogus-charset" not in json.dumps(client.transcript.as_list())


def test_deep_json_never_reaches_scim2_models() -> None:
    """The checking layer itself survives a payload nested as deep as Python allows."""
    nested: object = []
    for _ in range(90):
        nested = [nested]
    payload = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "1",
               "userName": "u", "emails": nested}  # fmt: skip
    model, problem = check_payload(payload, 200, {}, "user", "GET", "2.0")
    assert model is None and problem


def test_a_short_deadline_is_kept_while_a_long_one_runs(
    serve: Callable[[Answer], RawServer],
) -> None:
    """The watchdog sleeping until a long deadline (another thread's exchange) still cuts
    off a shorter one on time."""
    slow = serve(trickled_body)
    long_outcome: list[str] = []

    def long_exchange() -> None:
        browser = Browser(Transcript(), timeout=60)
        try:
            browser.get(slow.url + "/")
            long_outcome.append("answered")
        except BrowserError as exc:
            long_outcome.append(str(exc))
        finally:
            browser.close()

    thread = threading.Thread(target=long_exchange, daemon=True)
    thread.start()
    try:
        server = serve(trickled_head)
        outcome, _ = browse(server.url)
        assert outcome == "failed: the app took longer than 1 s to answer (timeout)"
        assert not long_outcome, "the long exchange is still within its 60 s"
        server.stopped.set()
        assert server.trickled.wait(10)
        sent, meant = server.trickles[0]
        assert sent < meant / 4, "cut off on time, not when the long deadline woke the watchdog"
    finally:
        slow.stopped.set()  # ends the trickle: the long exchange ends as an incomplete answer
        thread.join(timeout=30)
    assert long_outcome and "took longer" not in long_outcome[0]
