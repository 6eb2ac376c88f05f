"""A check's transcript read as a conversation: who spoke to whom, in order.

The transcript (:class:`oin_conformance.transcript.Exchange` records, as JSON) says what was
sent; this module says who sent it. Three speakers take part: the harness acting as the
user's **browser**, the **app** under test, and the harness acting as **Okta** (the IdP, the
org authorization server, the SCIM provisioning client). The sender of an exchange is read
from how the harness recorded it:

* the OIDC provider records what the app sent it with the note :data:`BACK_CHANNEL_NOTE`
  (app → Okta, the back channel);
* the harness's browser sends every request with :data:`BROWSER_USER_AGENT` (browser → app,
  or browser → Okta for the legs of a sign-in at Okta's authorize and logout endpoints);
* every other request is the harness calling the app as Okta's servers do (Okta → app): the
  SCIM client (``Okta SCIM Client``) and Okta's SCIM test (``OKTA SCIM Integration``).

The app's back-channel calls are recorded after the browser flow (the provider hands them
over when the check collects them), but they happened while the app answered one of the
browser's requests: each is placed under the browser request whose recorded span (its
``started_at`` and duration) contains its start. Without recorded times, a token request
that redeems ``code=X`` goes under the browser request that delivered ``code=X``, with the
calls that follow it.

Nothing here renders HTML; :mod:`oin_conformance.report.html` does, escaping everything.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urljoin, urlsplit

from oin_conformance.transcript import header

#: How the OIDC provider notes what the app sent it (``roles/oidc/adapter.BACK_CHANNEL``).
BACK_CHANNEL_NOTE = "back channel: app -> Okta"
#: The start of the harness browser's User-Agent (``roles/browser.USER_AGENT``).
BROWSER_USER_AGENT = "Mozilla/5.0 (compatible; oin-conformance"
#: Okta endpoints the browser visits during a sign-in (org or custom authorization server).
OKTA_BROWSER_PATH = re.compile(r"^/oauth2/(?:[^/]+/)?v1/(?:authorize|logout)\b")
#: The largest decoded SAML message shown (a hostile deflate stream stops here).
MAX_DECODED = 64 * 1024
#: Start times are recorded to the millisecond: a span is widened by this much each way.
SLACK_S = 0.002

BROWSER, APP, OKTA = "Browser", "App", "Okta"


@dataclass
class Turn:
    """One exchange as a turn of the conversation."""

    number: str
    exchange: dict[str, Any]
    sender: str
    receiver: str
    #: Decoded messages this turn carries (label -> text), the recorded ones first.
    messages: dict[str, str] = field(default_factory=dict)
    #: Where a redirect sends the browser, and who is there (for the response line).
    redirect: tuple[str, str] | None = None
    #: Calls the receiver made to someone else while it answered (the app's back channel).
    side: list[Turn] = field(default_factory=list)

    @property
    def back_channel(self) -> bool:
        return self.sender == APP and self.receiver == OKTA


def sender_of(exchange: dict[str, Any]) -> str:
    """Who sent the request: the app (back channel), the browser, else Okta's servers."""
    if str(exchange.get("note", "")).startswith(BACK_CHANNEL_NOTE):
        return APP
    agent = header(exchange.get("request_headers") or {}, "User-Agent") or ""
    if agent.startswith(BROWSER_USER_AGENT):
        return BROWSER
    return OKTA


def is_okta_url(url: str, okta_origins: set[str]) -> bool:
    """Whether ``url`` is the harness's Okta (a known provider origin, an authorize or
    logout leg, or the IdP's never-fetched ``.invalid`` SSO host)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return (
        f"{parts.scheme}://{parts.netloc}" in okta_origins
        or host.endswith(".invalid")
        or bool(OKTA_BROWSER_PATH.match(parts.path))
    )


def conversation(exchanges: list[dict[str, Any]], redact: Callable[[str], str] = str) -> list[Turn]:
    """The exchanges as turns, the app's back-channel calls under the request they served.

    ``redact`` is applied to what this module decodes itself (a SAML message in a redirect),
    which the transcript could not redact when it was recorded.
    """
    okta_origins = {_origin(str(ex.get("url", ""))) for ex in exchanges if sender_of(ex) == APP}
    turns: list[Turn] = []
    for ex in exchanges:
        sender = sender_of(ex)
        url = str(ex.get("url", ""))
        if sender == APP:
            receiver = OKTA
        elif sender == OKTA:
            receiver = APP
        else:
            receiver = OKTA if is_okta_url(url, okta_origins) else APP
        turn = Turn(number="", exchange=ex, sender=sender, receiver=receiver)
        turn.messages.update({str(k): str(v) for k, v in (ex.get("decoded") or {}).items()})
        location = header(ex.get("response_headers") or {}, "Location")
        status = ex.get("status")
        if location and isinstance(status, int) and 300 <= status < 400:
            target = urljoin(url, location)
            who = OKTA if is_okta_url(target, okta_origins) else APP
            turn.redirect = (target, who)
            for label, text in saml_in_url(target).items():
                turn.messages.setdefault(label, redact(text))
        turns.append(turn)
    placed = _place_back_channel(turns)
    for i, turn in enumerate(placed, 1):
        turn.number = str(i)
        for j, side in enumerate(turn.side, 1):
            side.number = f"{i}.{j}"
    return placed


def _place_back_channel(turns: list[Turn]) -> list[Turn]:
    """Move back-channel turns under the browser request they happened during (by recorded
    time), else under the one whose ``code`` they redeemed."""
    hosts = [t for t in turns if t.sender == BROWSER and t.receiver == APP]
    moved: set[int] = set()
    unplaced: list[Turn] = []
    for turn in turns:
        if not turn.back_channel:
            continue
        host = _during(turn, hosts)
        if host is None:
            unplaced.append(turn)
        else:
            host.side.append(turn)
            moved.add(id(turn))
    by_code: dict[str, Turn] = {}
    for turn in hosts:
        for code in parse_qs(urlsplit(str(turn.exchange.get("url", ""))).query).get("code", []):
            by_code.setdefault(code, turn)
    anchor: Turn | None = None
    pending: list[Turn] = []
    for turn in unplaced:
        redeemed = _redeemed_code(turn.exchange)
        if redeemed is not None:
            anchor = by_code.get(redeemed)
            if anchor is not None:
                # Calls before the first token request (keys, discovery) belong to it too.
                anchor.side.extend(pending)
                moved.update(id(t) for t in pending)
                pending = []
        if anchor is None:
            pending.append(turn)
            continue
        anchor.side.append(turn)
        moved.add(id(turn))
    for host in hosts:
        if all(_started(t.exchange) is not None for t in host.side):
            host.side.sort(key=lambda t: _started(t.exchange) or 0.0)
    return [t for t in turns if id(t) not in moved]


def _started(exchange: dict[str, Any]) -> float | None:
    """When the exchange started (seconds since the epoch), if it was recorded."""
    try:
        return dt.datetime.fromisoformat(str(exchange.get("started_at") or "")).timestamp()
    except ValueError:
        return None


def _during(turn: Turn, hosts: list[Turn]) -> Turn | None:
    """The last of ``hosts`` whose recorded span contains the start of ``turn``."""
    start = _started(turn.exchange)
    if start is None:
        return None
    found = None
    for host in hosts:
        begun = _started(host.exchange)
        if begun is None:
            continue
        ended = begun + float(host.exchange.get("elapsed_ms") or 0) / 1000
        if begun - SLACK_S <= start <= ended + SLACK_S:
            found = host
    return found


def _redeemed_code(exchange: dict[str, Any]) -> str | None:
    """The authorization code a token request redeems, if it is one."""
    if str(exchange.get("method", "")).upper() != "POST":
        return None
    fields = dict(parse_qsl(str(exchange.get("request_body", "")), keep_blank_values=True))
    if fields.get("grant_type") != "authorization_code":
        return None
    return fields.get("code") or None


def saml_in_url(url: str) -> dict[str, str]:
    """A SAML message carried in a URL (HTTP-Redirect binding: base64 of raw DEFLATE),
    decoded, or {} when there is none or it does not decode."""
    out: dict[str, str] = {}
    for name, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if name not in ("SAMLRequest", "SAMLResponse"):
            continue
        label = "SAML AuthnRequest" if name == "SAMLRequest" else "SAML Response"
        out[f"{label} (HTTP-Redirect binding)"] = inflate_saml(value)
    return out


def inflate_saml(value: str) -> str:
    """Decode one HTTP-Redirect SAML parameter, never more than :data:`MAX_DECODED`."""
    try:
        raw = base64.b64decode(value, validate=False)
    except (binascii.Error, ValueError):
        return "(not base64: shown as sent in the URL)"
    inflater = zlib.decompressobj(-15)
    try:
        data = inflater.decompress(raw, MAX_DECODED)
    except zlib.error:
        return "(not a DEFLATE stream: shown as sent in the URL)"
    text = data.decode("utf-8", "replace")
    if inflater.unconsumed_tail:
        text += f"\n… (cut at {MAX_DECODED // 1024} KiB)"
    return text


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
