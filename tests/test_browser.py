"""The browser against a real loopback server: redirects, auto-posted forms, cookies,
off-site redirects, timeouts, unreachable hosts and huge bodies."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from werkzeug.wrappers import Request, Response

from oin_conformance.roles.browser import Browser, BrowserError, find_autopost_form
from oin_conformance.roles.serve import ServedApp
from oin_conformance.transcript import Transcript


@Request.application
def site(request: Request) -> Response:
    path = request.path
    if path == "/start":
        return Response("", status=302, headers={"Location": "/form"})
    if path == "/form":
        return Response(
            "<html><body onload='document.forms[0].submit()'>"
            "<form method='post' action='/acs'><input type='hidden' name='SAMLResponse' "
            "value='PHNhbWw+'><input type='hidden' name='RelayState' value='/home'>"
            "<noscript><input type='submit' value='Go'></noscript></form></body></html>",
            content_type="text/html",
        )
    if path == "/acs":
        resp = Response("", status=303, headers={"Location": request.form["RelayState"]})
        resp.set_cookie("sid", request.form["SAMLResponse"])
        return resp
    if path == "/home":
        return Response(f"cookie={request.cookies.get('sid')}")
    if path == "/offsite":
        return Response("", status=302, headers={"Location": "https://evil.example.net/x"})
    if path == "/loop":
        return Response("", status=302, headers={"Location": "/loop"})
    if path == "/slow":
        time.sleep(1.5)
        return Response("late")
    if path == "/huge":
        return Response(b"x" * (3 * 1024 * 1024))
    return Response("not found", status=404)


@pytest.fixture(scope="module")
def server() -> Iterator[ServedApp]:
    served = ServedApp(site)
    yield served
    served.stop()


def make_browser(server: ServedApp, **kw: float) -> Browser:
    return Browser(Transcript(), allowed_origins=[server.url], **kw)  # type: ignore[arg-type]


def test_follows_redirects_and_auto_posts_the_saml_form(server: ServedApp) -> None:
    browser = make_browser(server)
    page = browser.get(server.url + "/start")
    assert page.status == 200
    assert page.text == "cookie=PHNhbWw+"
    methods = [(e.method, e.url.rsplit("/", 1)[1], e.status) for e in browser.transcript.exchanges]
    assert methods == [
        ("GET", "start", 302),
        ("GET", "form", 200),
        ("POST", "acs", 303),
        ("GET", "home", 200),
    ]


def test_each_browser_has_its_own_cookie_jar(server: ServedApp) -> None:
    first = make_browser(server)
    first.get(server.url + "/start")
    second = make_browser(server)
    assert second.get(server.url + "/home").text == "cookie=None"


def test_off_site_redirect_is_recorded_not_followed(server: ServedApp) -> None:
    browser = make_browser(server)
    page = browser.get(server.url + "/offsite")
    assert page.status == 302
    assert page.blocked_redirect == "https://evil.example.net/x"
    assert len(browser.transcript.exchanges) == 1
    assert "off-site" in browser.transcript.notes[0]


def test_redirect_loop_ends_with_a_clear_error(server: ServedApp) -> None:
    with pytest.raises(BrowserError, match="more than 12 redirects"):
        make_browser(server).get(server.url + "/loop")


def test_timeout_is_applied_and_recorded(server: ServedApp) -> None:
    browser = make_browser(server, timeout=0.3)
    with pytest.raises(BrowserError, match="took longer than 0.3 s to answer"):
        browser.get(server.url + "/slow")
    assert browser.transcript.exchanges[0].status is None
    assert "timeout" in browser.transcript.exchanges[0].error


def test_unreachable_app_says_so() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    browser = Browser(Transcript(), timeout=2)
    with pytest.raises(BrowserError, match="connection refused"):
        browser.get(f"http://127.0.0.1:{port}/")


def test_huge_bodies_are_capped(server: ServedApp) -> None:
    browser = make_browser(server, max_body=1024 * 1024)
    page = browser.get(server.url + "/huge")
    assert len(page.text) < 1024 * 1024 + 100
    assert page.text.endswith("body cut at 1048576 bytes]")


def test_autopost_detection() -> None:
    scripted = (
        "<body onload='document.forms[0].submit()'><form action='/x' method='post'>"
        "<input name='a' value='1'></form></body>"
    )
    form = find_autopost_form(scripted, "http://127.0.0.1:1/page")
    assert form is not None and form.action == "http://127.0.0.1:1/x" and form.fields == {"a": "1"}
    plain_login = "<form action='/login' method='post'><input name='user'></form>"
    assert find_autopost_form(plain_login, "http://127.0.0.1:1/") is None
    two_forms = "<form><input name='SAMLResponse'></form><form></form>"
    assert find_autopost_form(two_forms, "http://127.0.0.1:1/") is None
