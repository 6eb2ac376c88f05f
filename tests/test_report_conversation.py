"""Transcripts read as a conversation (issue 15, item 2): who sent each request is what the
harness's own roles recorded, the app's back-channel calls sit under the browser request
they served, SAML in a redirect is decoded, and every field the app or a check controls is
rendered inert."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import time
import zlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from oin_conformance.report import conversation as conv
from oin_conformance.report.html import check_entry, summary_html
from oin_conformance.roles.browser import USER_AGENT
from oin_conformance.roles.oidc.adapter import BACK_CHANNEL
from oin_conformance.roles.scim.common import OKTA_USER_AGENT
from oin_conformance.transcript import Redactor, Transcript
from tests.test_report_rendering import CHROMIUM, FLAGS, needs_chromium

APP = "http://127.0.0.1:5000"
OP = "http://127.0.0.1:6000"


def test_the_speakers_are_the_ones_the_roles_record() -> None:
    """The report recognises the roles by what they actually send and note."""
    assert conv.BACK_CHANNEL_NOTE == BACK_CHANNEL
    assert USER_AGENT.startswith(conv.BROWSER_USER_AGENT)
    assert not OKTA_USER_AGENT.startswith(conv.BROWSER_USER_AGENT)


def record(
    t: Transcript,
    method: str,
    url: str,
    *,
    agent: str = USER_AGENT,
    status: int | None = 200,
    body: str = "",
    location: str = "",
    note: str = "",
    decoded: dict[str, str] | None = None,
    error: str = "",
    started_at: str = "",
    elapsed_ms: float | None = None,
) -> None:
    headers = {"User-Agent": agent}
    if body:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    t.record(
        method=method,
        url=url,
        request_headers=headers,
        request_body=body,
        status=status,
        response_headers={"Location": location} if location else {},
        response_body="",
        started=time.perf_counter(),
        note=note,
        decoded=decoded,
        error=error,
        started_at=started_at,
    )
    if elapsed_ms is not None:
        t.exchanges[-1] = replace(t.exchanges[-1], elapsed_ms=elapsed_ms)


def redirect_binding(xml: str) -> str:
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    raw = deflate.compress(xml.encode()) + deflate.flush()
    return base64.b64encode(raw).decode()


def untimed(t: Transcript) -> list[dict[str, Any]]:
    """The exchanges without their start times (as whoever made them may not record them)."""
    return [{**e, "started_at": ""} for e in t.as_list()]


def test_a_sign_in_reads_as_browser_app_and_okta_in_order() -> None:
    t = Transcript(Redactor(["s3cr3t-value"]))
    record(t, "GET", f"{APP}/oidc/login", status=302,
           location=f"{OP}/oauth2/v1/authorize?client_id=x")  # fmt: skip
    record(t, "GET", f"{OP}/oauth2/v1/authorize?client_id=x", status=302,
           location=f"{APP}/oidc/callback?code=C1&state=s")  # fmt: skip
    record(t, "GET", f"{APP}/oidc/callback?code=C1&state=s", status=302, location="/me")
    record(t, "GET", f"{APP}/me", note="signed-in probe")
    # What the app sent Okta is collected after the browser flow, as the OP hands it over.
    record(t, "GET", f"{OP}/oauth2/v1/keys", agent="Authlib/1", note=BACK_CHANNEL)
    record(t, "POST", f"{OP}/oauth2/v1/token", agent="Authlib/1", note=BACK_CHANNEL,
           body="grant_type=authorization_code&code=C1&redirect_uri=x",
           decoded={"id_token": '{"claims": {}}'})  # fmt: skip
    record(t, "GET", f"{OP}/oauth2/v1/userinfo", agent="Authlib/1", note=BACK_CHANNEL)
    turns = conv.conversation(untimed(t))
    assert [(x.number, x.sender, x.receiver) for x in turns] == [
        ("1", "Browser", "App"),
        ("2", "Browser", "Okta"),
        ("3", "Browser", "App"),
        ("4", "Browser", "App"),
    ]
    callback = turns[2]
    assert [(s.number, s.exchange["url"].rsplit("/", 1)[1]) for s in callback.side] == [
        ("3.1", "keys"),
        ("3.2", "token"),
        ("3.3", "userinfo"),
    ]
    assert all(s.sender == "App" and s.receiver == "Okta" for s in callback.side)
    assert callback.side[1].messages == {"id_token": '{"claims": {}}'}
    assert turns[0].redirect == (f"{OP}/oauth2/v1/authorize?client_id=x", "Okta")
    assert turns[1].redirect == (f"{APP}/oidc/callback?code=C1&state=s", "App")


def test_back_channel_calls_go_under_the_browser_request_they_happened_during() -> None:
    """With recorded start times, any back-channel call (keys, userinfo, no code at all) is
    placed by time; one that started after the browser's request ended stays on its own."""
    t = Transcript()
    at = "2026-12-04T10:00:00.{:03d}+00:00".format
    record(t, "GET", f"{APP}/start", started_at=at(0), elapsed_ms=5)
    record(t, "GET", f"{APP}/oidc/callback?state=s", started_at=at(10), elapsed_ms=50)
    record(t, "GET", f"{OP}/oauth2/v1/userinfo", agent="Authlib/1", note=BACK_CHANNEL,
           started_at=at(40), elapsed_ms=1)  # fmt: skip
    record(t, "GET", f"{OP}/oauth2/v1/keys", agent="Authlib/1", note=BACK_CHANNEL,
           started_at=at(20), elapsed_ms=1)  # fmt: skip
    record(t, "GET", f"{OP}/oauth2/v1/keys", agent="Authlib/1", note=BACK_CHANNEL,
           started_at=at(200), elapsed_ms=1)  # fmt: skip
    turns = conv.conversation(t.as_list())
    assert [(x.number, x.exchange["url"].rsplit("/", 1)[1]) for x in turns] == [
        ("1", "start"),
        ("2", "callback?state=s"),
        ("3", "keys"),
    ]
    assert [(s.number, s.exchange["url"].rsplit("/", 1)[1]) for s in turns[1].side] == [
        ("2.1", "keys"),
        ("2.2", "userinfo"),
    ]


def test_back_channel_calls_that_redeem_no_code_of_the_browser_stay_where_they_were() -> None:
    t = Transcript()
    record(t, "GET", f"{APP}/oidc/callback?code=MINE", status=200)
    record(t, "POST", f"{OP}/oauth2/v1/token", agent="Authlib/1", note=BACK_CHANNEL,
           body="grant_type=authorization_code&code=SOMEONE-ELSES")  # fmt: skip
    turns = conv.conversation(untimed(t))
    assert [(x.sender, x.receiver, x.side) for x in turns] == [
        ("Browser", "App", []),
        ("App", "Okta", []),
    ]


def test_scim_requests_are_okta_speaking_to_the_app() -> None:
    t = Transcript()
    record(t, "POST", f"{APP}/scim/v2/Users", agent=OKTA_USER_AGENT, status=201)
    record(t, "GET", f"{APP}/scim/v2/Users", agent="OKTA SCIM Integration", status=None,
           error="refused")  # fmt: skip
    turns = conv.conversation(t.as_list())
    assert [(x.sender, x.receiver) for x in turns] == [("Okta", "App"), ("Okta", "App")]


def test_a_saml_authnrequest_in_a_redirect_is_decoded_and_redacted() -> None:
    xml = '<samlp:AuthnRequest ID="_1"><Issuer>s3cr3t-value</Issuer></samlp:AuthnRequest>'
    sso = "https://idp.okta.invalid/sso/saml?SAMLRequest=" + redirect_binding(xml)
    t = Transcript()
    from urllib.parse import quote

    sso = sso.split("=", 1)[0] + "=" + quote(sso.split("=", 1)[1], safe="")
    record(t, "GET", f"{APP}/saml/login", status=302, location=sso)
    (turn,) = conv.conversation(t.as_list(), Redactor(["s3cr3t-value"]).text)
    assert turn.redirect is not None and turn.redirect[1] == "Okta"
    (label,) = turn.messages
    assert label == "SAML AuthnRequest (HTTP-Redirect binding)"
    assert turn.messages[label] == xml.replace("s3cr3t-value", "[redacted]")


def test_a_hostile_deflate_stream_is_cut_not_inflated_whole() -> None:
    bomb = redirect_binding("A" * (conv.MAX_DECODED * 20))
    text = conv.inflate_saml(bomb)
    assert len(text) < conv.MAX_DECODED + 100 and text.endswith("KiB)")
    assert conv.inflate_saml("!!!not base64").startswith("(not")
    assert conv.inflate_saml(base64.b64encode(b"plain").decode()).startswith("(not a DEFLATE")


HOSTILE = (
    '<h1 id="pwned">owned</h1><script>document.title="pwned"</script>'
    '<img src=x onerror="document.body.dataset.pwned=1">'
    '<a href="javascript:document.body.dataset.pwned=1" id="pwned">x</a>'
)


def hostile_check() -> dict[str, Any]:
    """A check whose every field the app or a check could influence is hostile markup."""
    t = Transcript()
    sso = "https://x.okta.invalid/sso?SAMLRequest=" + redirect_binding(HOSTILE).replace("+", "%2B")
    record(t, "GET", f"{APP}/{HOSTILE}", status=302, location=sso, note=HOSTILE,
           decoded={HOSTILE: HOSTILE})  # fmt: skip
    record(t, "POST", f"{OP}/oauth2/v1/token", agent=HOSTILE, note=BACK_CHANNEL,
           body=HOSTILE, status=None, error=HOSTILE)  # fmt: skip
    return {
        "id": "saml.refuses_hostile_response[x]",
        "title": HOSTILE,
        "description": f"{HOSTILE}\n{HOSTILE}",
        "protocol": "saml",
        "requirement": "SAML-XML",
        "requirement_title": HOSTILE,
        "requirement_url": "javascript:document.body.dataset.pwned=1",
        "references": [{"id": HOSTILE, "url": "javascript:document.body.dataset.pwned=1"}],
        "severity": "blocking",
        "outcome": "failed",
        "failure": dict.fromkeys(("title", "seen", "expected", "fix"), HOSTILE),
        "seen": HOSTILE,
        "expected": HOSTILE,
        "fix": HOSTILE,
        "message": HOSTILE,
        "skip_reason": HOSTILE,
        "rerun": HOSTILE,
        "transcript": t.as_list(),
        "notes": [HOSTILE],
        "captured": [(HOSTILE, HOSTILE)],
        "duration_s": 0.1,
    }


PASSED_ID = "saml.signs_in_with_idp_initiated_sso"


def hostile_payload() -> dict[str, Any]:
    check = hostile_check()
    passed = {**check, "id": PASSED_ID, "outcome": "passed", "failure": None}
    verdict = {
        "status": "not_ready", "configured": True, "reason": HOSTILE, "positive_flow": [],
        "passed": 0, "failed": 1, "skipped": 0, "blocking_failures": [check["id"]],
        "inconclusive": [], "advisories": [], "not_run": [],
    }  # fmt: skip
    return {
        "app_name": HOSTILE, "verdict": "not_ready", "protocols": {"saml": verdict},
        "blocking_failures": [check["id"]], "inconclusive": [], "advisories": [],
        "not_run": [], "checks": [check, passed], "duration_s": 1.0, "harness_version": HOSTILE,
        "seed": 1, "started": HOSTILE, "python": HOSTILE, "platform": HOSTILE,
        "libraries": {HOSTILE: HOSTILE}, "target_path": HOSTILE, "target_sha256": HOSTILE,
    }  # fmt: skip


def test_hostile_fields_are_escaped_and_no_link_is_made_from_them() -> None:
    page = summary_html(
        hostile_payload(),
        {"saml": [{"id": "SAML-XML", "title": HOSTILE, "url": "javascript:x"}]},
    )
    assert "<script>document" not in page and '<h1 id="pwned"' not in page
    assert 'href="javascript:' not in page
    assert "onerror=" not in page.replace("onerror=&quot;", "")
    entry = check_entry(hostile_check())
    assert entry.count("<details") == entry.count("</details>")


@needs_chromium
def test_hostile_fields_stay_inert_in_chromium_and_links_open_their_check(tmp_path: Path) -> None:
    assert CHROMIUM is not None
    body = summary_html(
        hostile_payload(),
        {"saml": [{"id": "SAML-XML", "title": HOSTILE, "url": "javascript:x"}]},
    )
    probe = """<script>window.addEventListener("load", () => setTimeout(() => {
      // A link to a (closed) check opens it: what the first screen's links and
      // pytest-html's rows rely on.
      const passed = document.getElementById("check-PASSED");
      const closed = !passed.open;
      location.hash = "#check-PASSED";
      setTimeout(() => {
        const opened = passed.open;
        history.replaceState(null, "", location.pathname);  // back to the top for the
        window.scrollTo(0, 0);                              // screenshot
        document.querySelectorAll("details").forEach((d) => { d.open = true; });
        const out = document.createElement("pre"); out.id = "probe";
        out.textContent = JSON.stringify({
          pwned: document.querySelectorAll("#pwned, [onerror], h1").length,
          attr: document.body.dataset.pwned || null, title: document.title,
          scripts: document.querySelectorAll("script").length,
          links: [...document.querySelectorAll("a[href]")].map((a) => a.getAttribute("href")),
          shown: document.body.innerText.includes('<h1 id="pwned">owned</h1>'),
          closed, opened});
        document.body.appendChild(out); }, 200); }, 300));</script>""".replace("PASSED", PASSED_ID)
    page = tmp_path / "hostile.html"
    page.write_text(f"<!doctype html><html><head><title>safe</title></head><body>{body}"
                    f"{probe}</body></html>")  # fmt: skip
    dom = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'chrome'}", "--window-size=1280,900",
         f"--screenshot={tmp_path / 'hostile.png'}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    match = re.search(r'<pre id="probe">(.*?)</pre>', dom.stdout, re.S)
    assert match, dom.stderr[-2000:]
    found = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&")
                       .replace("&lt;", "<").replace("&gt;", ">"))  # fmt: skip
    assert found["pwned"] == 0 and found["attr"] is None and found["title"] == "safe"
    assert found["scripts"] == 2, "the report's own script and the probe, nothing else"
    assert not [h for h in found["links"] if not h.startswith(("#", "https://"))], found
    assert found["shown"], "the hostile markup is shown as text"
    assert found["closed"] and found["opened"], found
    with Image.open(tmp_path / "hostile.png") as image:
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000) or []
        assert len(colours) > 50, "the screenshot is blank"


@pytest.mark.parametrize("status", [200, 302, None])
def test_every_turn_says_what_came_back(status: int | None) -> None:
    t = Transcript()
    record(t, "GET", f"{APP}/x", status=status, location="/y" if status == 302 else "",
           error="connection refused" if status is None else "")  # fmt: skip
    html = check_entry({**hostile_check(), "transcript": t.as_list(), "title": "t"})
    expected = {200: "200 OK", 302: "redirects the browser to the app", None: "no answer"}
    assert expected[status] in html
