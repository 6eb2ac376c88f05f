"""A record of every HTTP exchange of a check, redacted when it is recorded.

Redaction happens once, at record time, so nothing downstream (report writers, JUnit,
xdist's report shipping) ever holds a secret. Two rules apply together:

* by name: header and form/JSON/query field names that carry credentials;
* by value: every secret resolved from the target file, and its base64 and URL-encoded
  forms, wherever it appears (a key rule misses a secret embedded in a body).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

REDACTED = "[redacted]"
MAX_BODY = 64 * 1024
#: JSON nested deeper than this is not read as JSON (no protocol message comes close; a
#: hostile ``"[" * 200000`` would otherwise exhaust Python's recursion limit).
MAX_JSON_DEPTH = 100

SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key"}
)
SECRET_FIELDS = frozenset(
    {
        "password",
        "client_secret",
        "secret",
        "access_token",
        "refresh_token",
        "code_verifier",
        "token",
        "api_key",
        "apikey",
    }
)


class Redactor:
    """Replaces secrets by name and by value."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if not secret or len(secret) < 4:
                # Too short to redact by value without mangling ordinary text.
                continue
            raw = secret.encode()
            forms.update(
                {
                    secret,
                    quote(secret, safe=""),
                    quote_plus(secret),
                    base64.b64encode(raw).decode(),
                    base64.urlsafe_b64encode(raw).decode().rstrip("="),
                    base64.b64encode(raw).decode().rstrip("="),
                }
            )
        self._values = sorted(forms, key=len, reverse=True)
        self._pattern = (
            re.compile("|".join(re.escape(v) for v in self._values)) if self._values else None
        )

    def with_secrets(self, secrets: Iterable[str]) -> Redactor:
        """A redactor that also hides ``secrets`` (e.g. a basic-auth pair's encoding)."""
        return Redactor([*self._values, *secrets])

    def text(self, value: str) -> str:
        if self._pattern is None or not value:
            return value
        return self._pattern.sub(REDACTED, value)

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, value in headers.items():
            if name.lower() in SECRET_HEADERS:
                scheme = value.split(" ", 1)[0] if " " in value else ""
                out[name] = (
                    f"{scheme} {REDACTED}".strip()
                    if name.lower().endswith("authorization")
                    else REDACTED
                )
            else:
                out[name] = self.text(value)
        return out

    def url(self, url: str) -> str:
        parts = urlsplit(url)
        if parts.query:
            pairs = parse_qsl(parts.query, keep_blank_values=True)
            # Rewrite the query only when it carries a secret field, so the transcript keeps
            # the exact encoding that was sent (Okta sends %20 in SCIM filters, not '+').
            if any(k.lower() in SECRET_FIELDS for k, _ in pairs):
                pairs = [(k, REDACTED if k.lower() in SECRET_FIELDS else v) for k, v in pairs]
                parts = parts._replace(query=urlencode(pairs))
        if parts.password:
            parts = parts._replace(netloc=parts.netloc.replace(parts.password, REDACTED))
        return self.text(urlunsplit(parts))

    def body(self, body: str, content_type: str = "") -> str:
        ctype = content_type.lower()
        if "json" in ctype:
            try:
                data = load_json(body)
                shown = json.dumps(_redact_fields(data), indent=2, ensure_ascii=False)
            except (ValueError, RecursionError):
                return self.text(body)
            return self.text(shown)
        if "x-www-form-urlencoded" in ctype:
            pairs = [
                (k, REDACTED if k.lower() in SECRET_FIELDS else v)
                for k, v in parse_qsl(body, keep_blank_values=True)
            ]
            return self.text(urlencode(pairs))
        return self.text(body)


class JsonTooDeep(ValueError):
    """A JSON document nested deeper than :data:`MAX_JSON_DEPTH` (read as not JSON)."""


def load_json(text: str | bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` for what an app sent: never a ``RecursionError``.

    A document nested deeper than ``max_depth`` raises :class:`JsonTooDeep`, a
    ``ValueError`` like any other unreadable JSON, so callers that already treat a
    ``ValueError`` as "not JSON" need nothing else.
    """
    try:
        data = json.loads(text)
    except RecursionError:
        raise JsonTooDeep(
            f"the JSON is nested more than {max_depth} levels deep (not read)"
        ) from None
    if _deeper_than(data, max_depth):
        raise JsonTooDeep(f"the JSON is nested more than {max_depth} levels deep (not read)")
    return data


def _deeper_than(data: Any, limit: int) -> bool:
    """Whether ``data`` nests more than ``limit`` arrays/objects deep (no recursion)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Iterable[Any] = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _redact_fields(data: Any) -> Any:
    if isinstance(data, dict):
        return {
            k: (
                REDACTED if isinstance(k, str) and k.lower() in SECRET_FIELDS else _redact_fields(v)
            )
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [_redact_fields(v) for v in data]
    return data


def _clip_body(body: str) -> str:
    if len(body) <= MAX_BODY:
        return body
    return body[:MAX_BODY] + f"\n… ({len(body) - MAX_BODY} more characters not recorded)"


@dataclass(frozen=True)
class Exchange:
    """One HTTP request and what came back (or the error instead of a response)."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: str
    status: int | None
    response_headers: dict[str, str]
    response_body: str
    elapsed_ms: float
    error: str = ""
    note: str = ""
    decoded: dict[str, str] = field(default_factory=dict)
    #: When the request started (wall clock, ISO 8601 with milliseconds, UTC); "" when
    #: whoever made the exchange did not record it.
    started_at: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def curl(self) -> str:
        """A curl command that repeats the request (redacted values stay redacted)."""
        parts = ["curl", "-sS", "-X", self.method, _shell_quote(self.url)]
        for name, value in self.request_headers.items():
            if name.lower() in {"content-length", "host", "accept-encoding", "connection"}:
                continue
            parts += ["-H", _shell_quote(f"{name}: {value}")]
        if self.request_body:
            parts += ["--data-raw", _shell_quote(self.request_body)]
        return " ".join(parts)


def _shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


class Transcript:
    """The ordered exchanges of one check, each redacted as it is added."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        self.redactor = redactor or Redactor()
        self.exchanges: list[Exchange] = []
        self.notes: list[str] = []

    def record(
        self,
        *,
        method: str,
        url: str,
        request_headers: Mapping[str, str],
        request_body: bytes | str | None,
        status: int | None,
        response_headers: Mapping[str, str],
        response_body: bytes | str | None,
        started: float,
        error: str = "",
        note: str = "",
        decoded: Mapping[str, str] | None = None,
        started_at: str = "",
    ) -> Exchange:
        """``started`` is ``time.perf_counter()`` when the request started; ``started_at``
        its wall-clock time when it was recorded elsewhere first (else it is derived from
        ``started``)."""
        r = self.redactor
        req_ct = _content_type(request_headers)
        resp_ct = _content_type(response_headers)
        exchange = Exchange(
            method=method,
            url=r.url(url),
            request_headers=r.headers(request_headers),
            request_body=_clip_body(r.body(_text(request_body), req_ct)),
            status=status,
            response_headers=r.headers(response_headers),
            response_body=_clip_body(r.body(_text(response_body), resp_ct)),
            elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
            error=r.text(error),
            note=r.text(note),
            decoded={k: _clip_body(r.text(v)) for k, v in (decoded or {}).items()},
            started_at=started_at or wall_clock(started),
        )
        self.exchanges.append(exchange)
        return exchange

    def label_last(self, method: str, url: str, note: str) -> bool:
        """Give the latest ``method url`` exchange (fragment ignored) the note ``note``, if it
        has none yet (an exchange later found to be, e.g., the signed-in probe's answer)."""
        wanted = self.redactor.url(url).split("#", 1)[0]
        for i in range(len(self.exchanges) - 1, -1, -1):
            ex = self.exchanges[i]
            if ex.method == method and ex.url.split("#", 1)[0] == wanted:
                if not ex.note:
                    self.exchanges[i] = replace(ex, note=self.redactor.text(note))
                return True
        return False

    def note(self, text: str) -> None:
        """A free-text line in the transcript (what the harness did and why)."""
        self.notes.append(self.redactor.text(text))

    def as_list(self) -> list[dict[str, Any]]:
        return [e.as_dict() for e in self.exchanges]

    def summary(self, limit: int = 6) -> str:
        """A few lines saying what was exchanged, for a failure's "seen" text."""
        lines = [
            f"{e.method} {e.url} -> {e.status if e.status is not None else e.error}"
            for e in self.exchanges[-limit:]
        ]
        return "\n".join(lines)


def header(headers: Mapping[str, str], name: str) -> str | None:
    """The value of header ``name`` (case-insensitive), or None: the one header lookup."""
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def wall_clock(started: float) -> str:
    """The wall-clock time (ISO 8601, UTC, milliseconds) of ``started``, a
    ``time.perf_counter()`` reading taken earlier in this process."""
    when = time.time() - (time.perf_counter() - started)
    return dt.datetime.fromtimestamp(when, dt.UTC).isoformat(timespec="milliseconds")


def _content_type(headers: Mapping[str, str]) -> str:
    return header(headers, "Content-Type") or ""


def _text(body: bytes | str | None) -> str:
    if body is None:
        return ""
    if isinstance(body, bytes):
        return body.decode("utf-8", errors="replace")
    return body
