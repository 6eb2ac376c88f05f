"""Redaction at record time: by header and field name, and by value in every encoding."""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import quote, quote_plus

import pytest

from oin_conformance.transcript import REDACTED, JsonTooDeep, Redactor, Transcript, load_json

SECRET = "s3cr3t/value+with=chars"


def record(t: Transcript, **kw: object) -> dict[str, object]:
    args: dict[str, object] = {
        "method": "POST",
        "url": "http://127.0.0.1:1/x",
        "request_headers": {},
        "request_body": "",
        "status": 200,
        "response_headers": {},
        "response_body": "",
        "started": time.perf_counter(),
    }
    args.update(kw)
    return t.record(**args).as_dict()  # type: ignore[arg-type]


def test_secret_headers_are_redacted_by_name() -> None:
    t = Transcript(Redactor())
    ex = record(
        t,
        request_headers={"Authorization": "Bearer abc.def", "Cookie": "sid=1", "Accept": "x"},
        response_headers={"Set-Cookie": "sid=2; HttpOnly"},
    )
    assert ex["request_headers"] == {
        "Authorization": f"Bearer {REDACTED}",
        "Cookie": REDACTED,
        "Accept": "x",
    }
    assert ex["response_headers"] == {"Set-Cookie": REDACTED}


def test_secret_fields_are_redacted_in_form_json_and_query() -> None:
    t = Transcript(Redactor())
    ex = record(
        t,
        url="http://127.0.0.1:1/token?client_secret=abc&code=1",
        request_headers={"Content-Type": "application/x-www-form-urlencoded"},
        request_body="grant_type=authorization_code&client_secret=abc123&code=xyz",
        response_headers={"Content-Type": "application/json"},
        response_body=json.dumps({"access_token": "tok", "nested": [{"password": "pw"}]}),
    )
    assert "abc123" not in str(ex["request_body"]) and "code=xyz" in str(ex["request_body"])
    assert "client_secret=abc" not in str(ex["url"])
    body = json.loads(str(ex["response_body"]))
    assert body == {"access_token": REDACTED, "nested": [{"password": REDACTED}]}


def test_secrets_are_redacted_by_value_in_every_encoding() -> None:
    t = Transcript(Redactor([SECRET]))
    b64 = base64.b64encode(SECRET.encode()).decode()
    basic = base64.b64encode(f"user:{SECRET}".encode()).decode()
    text = f"raw {SECRET} url {quote(SECRET, safe='')} plus {quote_plus(SECRET)} b64 {b64}"
    ex = record(t, response_body=text, note=f"note {SECRET}", error=SECRET)
    dumped = json.dumps(ex)
    assert SECRET not in dumped
    assert quote(SECRET, safe="") not in dumped
    assert b64 not in dumped
    assert str(ex["response_body"]).count(REDACTED) == 4
    # A secret embedded in another encoding needs its own entry: with_secrets adds it.
    t2 = Transcript(Redactor([SECRET]).with_secrets([basic]))
    assert basic not in json.dumps(record(t2, response_body=f"Basic {basic}"))


def test_short_values_are_not_redacted_by_value() -> None:
    assert Redactor(["ab"]).text("abc ab") == "abc ab"


def test_long_bodies_are_clipped() -> None:
    t = Transcript()
    ex = record(t, response_body="x" * 200_000)
    assert len(str(ex["response_body"])) < 70_000
    assert "more characters not recorded" in str(ex["response_body"])


def test_curl_repeats_the_request() -> None:
    t = Transcript()
    record(t, request_headers={"Content-Type": "text/plain"}, request_body="it's")
    curl = t.exchanges[0].curl()
    assert curl.startswith("curl -sS -X POST 'http://127.0.0.1:1/x'")
    assert "-H 'Content-Type: text/plain'" in curl
    assert "--data-raw 'it'\"'\"'s'" in curl


def test_deeply_nested_json_is_recorded_as_text_not_a_recursion_error() -> None:
    t = Transcript(Redactor([SECRET]))
    hostile = "[" * 200_000
    ex = record(t, response_headers={"Content-Type": "application/json"}, response_body=hostile)
    assert str(ex["response_body"]).startswith("[[[[") and "not recorded" in str(
        ex["response_body"]
    )
    # Just past the depth limit: still text, and a secret in it is still redacted by value.
    deep = "[" * 101 + json.dumps({"password": SECRET}) + "]" * 101
    ex = record(t, response_headers={"Content-Type": "application/json"}, response_body=deep)
    assert SECRET not in str(ex["response_body"]) and REDACTED in str(ex["response_body"])
    assert str(ex["response_body"]).startswith("[" * 101)


def test_load_json_refuses_depth_with_a_value_error() -> None:
    assert load_json("[" * 100 + "]" * 100) is not None
    for text in ("[" * 101 + "]" * 101, "[" * 200_000, '{"a":' * 5000 + "1" + "}" * 5000):
        with pytest.raises(JsonTooDeep, match="nested more than 100 levels deep"):
            load_json(text)
    assert issubclass(JsonTooDeep, ValueError)
