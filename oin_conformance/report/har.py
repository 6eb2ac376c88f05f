"""The run's HTTP exchanges as an HTTP Archive (HAR 1.2), the format browsers' developer
tools and Okta's own OIN Submission Tester record network traffic in.

One *page* per check (its id is the check id), holding that check's exchanges as
*entries* in the order the check made them, so any HAR viewer groups the traffic by check.
``readiness.json`` links each check to its page and entry indices.

Everything here comes from the recorded transcript, which was redacted when it was
recorded: a HAR file holds no secret the transcript does not. Nothing is made up either:

* ``startedDateTime`` is when the harness started the request (``Exchange.started_at``);
* the harness measures each exchange as a whole (``elapsed_ms``), so ``time`` and
  ``timings.wait`` carry it, ``send`` and ``receive`` are 0 and the phases it does not
  measure (``blocked``, ``dns``, ``connect``, ``ssl``) are -1, as HAR 1.2 says for
  "not available";
* bodies are the recorded text (redacted; JSON re-indented; clipped at 64 KiB), so
  ``headersSize`` and ``bodySize`` are -1 (unknown) and ``content.size`` is the size of
  that text.

Fields HAR 1.2 has no place for start with ``_`` as the format allows: ``_decoded`` (the
SAML messages and JWTs decoded), ``_error`` (why there was no response), ``_outcome``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from oin_conformance import __version__
from oin_conformance.transcript import header

HAR_VERSION = "1.2"
#: The whole run's HAR, beside readiness.json.
RUN_HAR = "readiness.har"
CREATOR = "oin-conformance"
#: What the log says about how its fields were filled (also in the module docstring).
LOG_COMMENT = (
    "Recorded by oin-conformance acting as Okta; one page per check. Secrets were redacted "
    "when each exchange was recorded. Timing: the harness measures each exchange as a whole "
    "(time and timings.wait); send and receive are 0, unmeasured phases -1. Bodies are the "
    "recorded text (redacted, JSON re-indented, clipped at 64 KiB): headersSize and "
    "bodySize are -1 (unknown)."
)
#: Every HTTP client the harness drives (requests/urllib3, werkzeug's server) speaks 1.1.
HTTP_VERSION = "HTTP/1.1"


def build(
    checks: Iterable[Mapping[str, Any]], *, started: str, comment: str = LOG_COMMENT
) -> tuple[dict[str, Any], dict[str, list[int]]]:
    """The HAR document of ``checks`` (readiness.json check records) and, per check id
    with exchanges, the indices of its entries in ``log.entries``.

    ``started`` (ISO 8601) dates a page or entry whose start was not recorded.
    """
    pages: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    links: dict[str, list[int]] = {}
    for check in checks:
        transcript = list(check.get("transcript") or [])
        if not transcript:
            continue
        page_id = str(check["id"])
        known = [str(ex["started_at"]) for ex in transcript if ex.get("started_at")]
        page_start = min(known, key=_instant) if known else started
        indices = links.setdefault(page_id, [])
        for ex in transcript:
            indices.append(len(entries))
            entries.append(entry(ex, page_id, page_start))
        pages.append(
            {
                "startedDateTime": page_start,
                "id": page_id,
                "title": f"{page_id}: {check.get('title', '')} ({check.get('outcome', '')})",
                "pageTimings": {"onContentLoad": -1, "onLoad": -1},
                "_outcome": check.get("outcome", ""),
                "_severity": check.get("severity", ""),
            }
        )
    har = {
        "log": {
            "version": HAR_VERSION,
            "creator": {"name": CREATOR, "version": __version__},
            "pages": pages,
            "entries": entries,
            "comment": comment,
        }
    }
    return har, links


def entry(ex: Mapping[str, Any], pageref: str, fallback_start: str) -> dict[str, Any]:
    """One HAR entry from one recorded exchange (see the module docstring for each field)."""
    elapsed = max(float(ex.get("elapsed_ms") or 0.0), 0.0)
    request_headers: Mapping[str, str] = ex.get("request_headers") or {}
    response_headers: Mapping[str, str] = ex.get("response_headers") or {}
    request_body = str(ex.get("request_body") or "")
    response_body = str(ex.get("response_body") or "")
    request: dict[str, Any] = {
        "method": str(ex["method"]),
        "url": str(ex["url"]),
        "httpVersion": HTTP_VERSION,
        "cookies": [],
        "headers": _pairs(request_headers),
        "queryString": [
            {"name": k, "value": v}
            for k, v in parse_qsl(urlsplit(str(ex["url"])).query, keep_blank_values=True)
        ],
        "headersSize": -1,
        "bodySize": -1,
    }
    if request_body:
        request["postData"] = {
            "mimeType": header(request_headers, "Content-Type") or "",
            "text": request_body,
        }
    status = ex.get("status")
    response: dict[str, Any] = {
        "status": int(status) if status is not None else 0,
        "statusText": _reason(status),
        "httpVersion": HTTP_VERSION if status is not None else "",
        "cookies": [],
        "headers": _pairs(response_headers),
        "content": {
            "size": len(response_body.encode()),
            "mimeType": header(response_headers, "Content-Type") or "",
            "text": response_body,
        },
        "redirectURL": header(response_headers, "Location") or "",
        "headersSize": -1,
        "bodySize": -1,
    }
    if ex.get("error"):
        response["_error"] = str(ex["error"])
    started_at = str(ex.get("started_at") or "")
    out: dict[str, Any] = {
        "pageref": pageref,
        "startedDateTime": started_at or fallback_start,
        "time": elapsed,
        "request": request,
        "response": response,
        "cache": {},
        "timings": {
            "blocked": -1,
            "dns": -1,
            "connect": -1,
            "ssl": -1,
            "send": 0,
            "wait": elapsed,
            "receive": 0,
        },
    }
    if not started_at:
        out["_startedDateTime"] = "not recorded: the page's start is shown"
    if ex.get("note"):
        out["comment"] = str(ex["note"])
    if ex.get("decoded"):
        out["_decoded"] = dict(ex["decoded"])
    return out


def write(path: Path, har: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(har, indent=1, ensure_ascii=False) + "\n")


def link(file: str, links: Mapping[str, list[int]], check_id: str) -> dict[str, Any]:
    """A check's link into a HAR file: its page (None when it recorded no exchange) and
    the indices of its entries in ``log.entries``."""
    indices = list(links.get(check_id, []))
    return {"file": file, "pageref": check_id if indices else None, "entries": indices}


def _pairs(headers: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"name": str(k), "value": str(v)} for k, v in headers.items()]


def _reason(status: object) -> str:
    if not isinstance(status, int):
        return ""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _instant(text: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return dt.datetime.max.replace(tzinfo=dt.UTC)
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
