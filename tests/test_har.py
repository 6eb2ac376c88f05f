"""The evidence export: every recorded exchange in a HAR 1.2 file (one page per check) that
validates against the HAR 1.2 structure, opens in a HAR parser from another project
(haralyzer), holds no secret, carries the recorded timings and nothing made up, and is
linked check by check from readiness.json."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from haralyzer import HarPage, HarParser

from oin_conformance.report import har
from tests.conftest import REFERENCE_TARGET, PluginRun, once_per_session, run_plugin

#: Checks whose exchanges cover the three roles: the browser (SAML SP-initiated sign-in),
#: the app's back channel to the OP (OIDC code flow), a SCIM client with a bearer token;
#: and a check that records no exchange at all.
CHECKS = (
    "saml.signs_in_with_sp_initiated_sso",
    "oidc.sp_initiated_sign_in",
    "scim.answers_okta_connection_test",
    "submission.display_name_has_1_to_64_characters",
)
SECRETS = (
    "reference-oidc-client-secret-value",
    "reference-scim-token-7f3a9c",
    "reference-test-password",
)

_DATE = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$"
_PAIR = {
    "type": "object",
    "required": ["name", "value"],
    "properties": {"name": {"type": "string"}, "value": {"type": "string"},
                   "comment": {"type": "string"}},
    "additionalProperties": False,
}  # fmt: skip


def _obj(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    """An object of HAR 1.2: these fields, ``comment``, and custom fields starting with _."""
    return {
        "type": "object",
        "required": required,
        "properties": {**properties, "comment": {"type": "string"}},
        "patternProperties": {"^_": {}},
        "additionalProperties": False,
    }


#: The HAR 1.2 structure (http://www.softwareishard.com/blog/har-12-spec/, W3C's "HTTP
#: Archive (HAR) format" draft): every object, its required fields and their types.
HAR_1_2: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    **_obj(["log"], {"log": {"$ref": "#/$defs/log"}}),
    "$defs": {
        "log": _obj(
            ["version", "creator", "entries"],
            {
                "version": {"const": "1.2"},
                "creator": {"$ref": "#/$defs/creator"},
                "browser": {"$ref": "#/$defs/creator"},
                "pages": {"type": "array", "items": {"$ref": "#/$defs/page"}},
                "entries": {"type": "array", "items": {"$ref": "#/$defs/entry"}},
            },
        ),
        "creator": _obj(
            ["name", "version"], {"name": {"type": "string"}, "version": {"type": "string"}}
        ),
        "page": _obj(
            ["startedDateTime", "id", "title", "pageTimings"],
            {
                "startedDateTime": {"type": "string", "pattern": _DATE},
                "id": {"type": "string"},
                "title": {"type": "string"},
                "pageTimings": _obj(
                    [], {"onContentLoad": {"type": "number"}, "onLoad": {"type": "number"}}
                ),
            },
        ),
        "entry": _obj(
            ["startedDateTime", "time", "request", "response", "cache", "timings"],
            {
                "pageref": {"type": "string"},
                "startedDateTime": {"type": "string", "pattern": _DATE},
                "time": {"type": "number", "minimum": 0},
                "request": {"$ref": "#/$defs/request"},
                "response": {"$ref": "#/$defs/response"},
                "cache": _obj([], {"beforeRequest": {}, "afterRequest": {}}),
                "timings": {"$ref": "#/$defs/timings"},
                "serverIPAddress": {"type": "string"},
                "connection": {"type": "string"},
            },
        ),
        "request": _obj(
            ["method", "url", "httpVersion", "cookies", "headers", "queryString",
             "headersSize", "bodySize"],
            {
                "method": {"type": "string"},
                "url": {"type": "string"},
                "httpVersion": {"type": "string"},
                "cookies": {"type": "array", "items": {"$ref": "#/$defs/cookie"}},
                "headers": {"type": "array", "items": _PAIR},
                "queryString": {"type": "array", "items": _PAIR},
                "postData": _obj(
                    ["mimeType"],
                    {"mimeType": {"type": "string"}, "text": {"type": "string"},
                     "params": {"type": "array"}},
                ),
                "headersSize": {"type": "integer"},
                "bodySize": {"type": "integer"},
            },
        ),
        "response": _obj(
            ["status", "statusText", "httpVersion", "cookies", "headers", "content",
             "redirectURL", "headersSize", "bodySize"],
            {
                "status": {"type": "integer"},
                "statusText": {"type": "string"},
                "httpVersion": {"type": "string"},
                "cookies": {"type": "array", "items": {"$ref": "#/$defs/cookie"}},
                "headers": {"type": "array", "items": _PAIR},
                "content": _obj(
                    ["size", "mimeType"],
                    {"size": {"type": "integer"}, "compression": {"type": "integer"},
                     "mimeType": {"type": "string"}, "text": {"type": "string"},
                     "encoding": {"type": "string"}},
                ),
                "redirectURL": {"type": "string"},
                "headersSize": {"type": "integer"},
                "bodySize": {"type": "integer"},
            },
        ),
        "cookie": _obj(
            ["name", "value"], {"name": {"type": "string"}, "value": {"type": "string"}}
        ),
        # send, wait and receive are required and never negative; the others -1 when unknown.
        "timings": _obj(
            ["send", "wait", "receive"],
            {
                "blocked": {"type": "number", "minimum": -1},
                "dns": {"type": "number", "minimum": -1},
                "connect": {"type": "number", "minimum": -1},
                "send": {"type": "number", "minimum": 0},
                "wait": {"type": "number", "minimum": 0},
                "receive": {"type": "number", "minimum": 0},
                "ssl": {"type": "number", "minimum": -1},
            },
        ),
    },
}  # fmt: skip


def _run(folder: Path) -> PluginRun:
    args = [f"--oin-check={c}" for c in CHECKS]
    result = run_plugin(f"--oin-target={REFERENCE_TARGET}", *args, cwd=folder)
    assert result.returncode == 0, result.stdout[-3000:]
    return result


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> PluginRun:
    return once_per_session(tmp_path_factory, "har-run", _run)


def load_har(run: PluginRun) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run.report_dir / har.RUN_HAR).read_text())
    return data


def when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_the_har_file_has_the_har_1_2_structure(run: PluginRun) -> None:
    data = load_har(run)
    jsonschema.Draft202012Validator(HAR_1_2).validate(data)
    assert data["log"]["creator"]["name"] == "oin-conformance"
    # Every entry's time is the sum of its non-negative timings (HAR 1.2 "entries").
    for entry in data["log"]["entries"]:
        spent = sum(v for k, v in entry["timings"].items() if k != "comment" and v >= 0)
        assert entry["time"] == pytest.approx(spent)
    # The structure check can fail: a required timing or an unknown field is caught.
    broken = copy.deepcopy(data)
    del broken["log"]["entries"][0]["timings"]["send"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(HAR_1_2).validate(broken)
    broken = copy.deepcopy(data)
    broken["log"]["entries"][0]["request"]["body"] = "not a HAR field"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(HAR_1_2).validate(broken)


def test_a_har_parser_from_pypi_opens_it_page_by_page(run: PluginRun) -> None:
    parser = HarParser.from_file(run.report_dir / har.RUN_HAR)
    checks = {c["id"]: c for c in run.readiness["checks"]}
    with_traffic = [cid for cid in CHECKS if checks[cid]["transcript"]]
    assert {p.page_id for p in parser.pages} == set(with_traffic)
    for cid in with_traffic:
        page = HarPage(cid, har_parser=parser)
        transcript = checks[cid]["transcript"]
        # The parser lists a page's entries by start time (the back channel interleaves
        # with the browser's requests there); the same exchanges, each once.
        seen = [(e.startTime, e.request.method, e.url, e.status) for e in page.entries]
        assert seen == sorted(seen, key=lambda s: s[0])
        recorded = [
            (when(ex["started_at"]), ex["method"], ex["url"], ex["status"] or 0)
            for ex in transcript
        ]
        assert sorted(seen) == sorted(recorded)
    sp_flow = HarPage("saml.signs_in_with_sp_initiated_sso", har_parser=parser)
    posts = [e for e in sp_flow.entries if e.request.method == "POST"]
    assert posts and "SAMLResponse=" in posts[0].request.text
    assert "<saml2p:Response" in posts[0].raw_entry["_decoded"]["SAML Response"]


def test_readiness_json_links_each_check_to_its_entries(run: PluginRun) -> None:
    entries = load_har(run)["log"]["entries"]
    for check in run.readiness["checks"]:
        link = check["har"]
        assert link["file"] == har.RUN_HAR
        assert len(link["entries"]) == len(check["transcript"])
        if not check["transcript"]:
            assert link["pageref"] is None
            continue
        assert link["pageref"] == check["id"]
        for index, ex in zip(link["entries"], check["transcript"], strict=True):
            entry = entries[index]
            assert entry["pageref"] == check["id"]
            assert (entry["request"]["method"], entry["request"]["url"]) == (
                ex["method"],
                ex["url"],
            )
            # Timings are what the harness measured, nothing else.
            assert entry["time"] == ex["elapsed_ms"] == entry["timings"]["wait"]
            assert entry["timings"]["send"] == entry["timings"]["receive"] == 0
            assert entry["timings"]["dns"] == entry["timings"]["connect"] == -1
            assert entry["startedDateTime"] == ex["started_at"]
            assert entry.get("comment", "") == ex["note"]
    linked = sorted(i for c in run.readiness["checks"] for i in c["har"]["entries"])
    assert linked == list(range(len(entries)))
    assert "submission.display_name_has_1_to_64_characters" in {
        c["id"] for c in run.readiness["checks"] if not c["transcript"]
    }


def test_back_channel_exchanges_keep_their_own_start_time(run: PluginRun) -> None:
    """The app's token request reaches Okta while the browser's callback is being answered:
    its recorded start lies inside the callback's exchange, not where the transcript
    collected it (after the flow)."""
    check = run.check("oidc.sp_initiated_sign_in")
    transcript = check["transcript"]
    callback = next(e for e in transcript if "/oidc/callback" in e["url"])
    token = next(e for e in transcript if e["url"].endswith("/oauth2/v1/token"))
    assert transcript.index(token) > transcript.index(callback)  # collected afterwards
    start = when(callback["started_at"])
    end = start + dt.timedelta(milliseconds=callback["elapsed_ms"])
    slack = dt.timedelta(milliseconds=5)  # millisecond stamps, two clocks read apart
    assert start - slack <= when(token["started_at"]) <= end + slack


def test_no_secret_reaches_the_har_file(run: PluginRun) -> None:
    text = (run.report_dir / har.RUN_HAR).read_text()
    for secret in SECRETS:
        assert secret not in text
    scim = run.check("scim.answers_okta_connection_test")
    assert scim["transcript"], "the SCIM check recorded no exchange"
    entries = load_har(run)["log"]["entries"]
    auth = [
        h["value"]
        for i in scim["har"]["entries"]
        for h in entries[i]["request"]["headers"]
        if h["name"].lower() == "authorization"
    ]
    assert auth and set(auth) == {"Bearer [redacted]"}


def test_an_exchange_without_a_recorded_start_says_so() -> None:
    """An exchange recorded without its start (an older transcript) gets the page's start,
    marked as such, never a time made up for it."""
    ex: dict[str, Any] = {
        "method": "GET",
        "url": "http://127.0.0.1:9/x?a=1&b=",
        "request_headers": {},
        "request_body": "",
        "status": None,
        "response_headers": {},
        "response_body": "",
        "elapsed_ms": 1.5,
        "error": "connection refused",
        "note": "",
        "started_at": "",
    }
    check = {"id": "general.x", "title": "X", "outcome": "inconclusive", "transcript": [ex]}
    data, links = har.build([check], started="2026-01-02T03:04:05+00:00")
    jsonschema.Draft202012Validator(HAR_1_2).validate(data)
    (entry,) = data["log"]["entries"]
    assert entry["startedDateTime"] == "2026-01-02T03:04:05+00:00"
    assert entry["_startedDateTime"].startswith("not recorded")
    assert entry["response"]["status"] == 0 and entry["response"]["_error"] == "connection refused"
    assert entry["request"]["queryString"] == [
        {"name": "a", "value": "1"},
        {"name": "b", "value": ""},
    ]
    assert links == {"general.x": [0]}
    assert HarParser(data).pages[0].page_id == "general.x"


def test_the_har_file_is_written_where_the_report_is(run: PluginRun) -> None:
    assert Path(run.report_dir / har.RUN_HAR).is_file()
    assert f"evidence: {run.report_dir / har.RUN_HAR}" in run.stdout
