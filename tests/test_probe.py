"""The signed-in probe (SPEC §10 "Probes"): identities match as whole values, and while a
probe runs the browser never enters the harness's own OP/IdP — a redirect, an auto-posting
form or a meta refresh into it ends the probe as "not signed in". Real loopback servers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from werkzeug.wrappers import Request, Response

from oin_conformance.roles.browser import Browser
from oin_conformance.roles.probe import is_probe_answer, names_user, signed_in_as, whole_value_in
from oin_conformance.roles.serve import ServedApp
from oin_conformance.target import SignedInProbe
from oin_conformance.transcript import Redactor, Transcript

ADA = {
    "username": "ada@example.com",
    "email": "ada@example.com",
    "first_name": "Ada",
    "last_name": "Lovelace",
}


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Signed in as ada@example.com", True),
        ("Signed in as ada@example.com.", True),
        ("Signed in as ada@example.com, welcome", True),
        ("<b>ada@example.com</b>", True),
        ('{"email": "ada@example.com"}', True),
        ("Signed in as ada@example.com.evil.test", False),
        ("Signed in as xada@example.com", False),
        ("Signed in as ada@example.community", False),
        ("Signed in as ada@example.com-evil", False),
        ("Signed in as mallory+ada@example.com", False),
        ("nobody", False),
        ("ada@example.com.evil.test and later ada@example.com.", True),
    ],
)
def test_identity_matches_as_a_whole_value(text: str, found: bool) -> None:
    assert whole_value_in("ada@example.com", text) is found


def test_template_with_markup_around_the_value() -> None:
    probe = SignedInProbe(url="/me", contains="Signed in as <b>{username}</b>")
    assert names_user(probe, "Signed in as <b>ada@example.com</b>", ADA)
    assert not names_user(probe, "Signed in as <b>ada@example.com.evil.test</b>", ADA)


def test_pattern_and_json_pointer_compare_the_whole_identity() -> None:
    by_pattern = SignedInProbe(url="/me", contains="{email}", pattern=r'"user":\s*"([^"]*)"')
    assert names_user(by_pattern, '{"user": "ada@example.com"}', ADA)
    assert not names_user(by_pattern, '{"user": "ada@example.com.evil.test"}', ADA)
    by_pointer = SignedInProbe(url="/me", contains="{email}", json_pointer="/who/email")
    assert names_user(by_pointer, '{"who": {"email": "ada@example.com"}}', ADA)
    assert not names_user(by_pointer, '{"who": {"email": "ada@example.com.evil.test"}}', ADA)
    assert not names_user(by_pointer, '{"who": "ada@example.com"}', ADA)
    assert not names_user(by_pointer, "not json", ADA)


def test_pattern_needs_a_group() -> None:
    with pytest.raises(ValueError, match="group that captures"):
        SignedInProbe(url="/me", pattern="Signed in as .*")


@Request.application
def harness_op(request: Request) -> Response:
    """Stands for the harness's own OP: it would sign anyone in at once."""
    return Response("", status=302, headers={"Location": request.args.get("back", "/")})


@pytest.fixture
def op() -> Iterator[ServedApp]:
    served = ServedApp(harness_op)
    yield served
    served.stop()


def rp(op_url: str) -> object:
    @Request.application
    def app(request: Request) -> Response:
        back = request.host_url.rstrip("/") + "/callback"
        if request.path == "/callback":
            resp = Response("", status=302, headers={"Location": "/me"})
            resp.set_cookie("sid", "ada")
            return resp
        signed_in = request.cookies.get("sid") == "ada"
        if request.path == "/me" and signed_in:
            return Response("Signed in as ada@example.com")
        if request.path == "/me-redirect":
            return Response("", status=302, headers={"Location": f"{op_url}/authorize?back={back}"})
        if request.path == "/me-form":
            return Response(
                "<html><body onload='document.forms[0].submit()'><form method='post' "
                "action='/auth/start'></form></body></html>",
                content_type="text/html",
            )
        if request.path == "/auth/start":
            return Response("", status=302, headers={"Location": f"{op_url}/authorize?back={back}"})
        if request.path == "/me-refresh":
            return Response(
                f"<meta http-equiv='refresh' content='0; url={op_url}/authorize?back={back}'>",
                content_type="text/html",
            )
        return Response("signed out", status=401)

    return app


@pytest.mark.parametrize("page", ["/me-redirect", "/me-form", "/me-refresh"])
def test_probe_never_signs_in_through_the_harness(op: ServedApp, page: str) -> None:
    app = ServedApp(rp(op.url))  # type: ignore[arg-type]
    try:
        transcript = Transcript(Redactor([]))
        browser = Browser(transcript, allowed_origins=[app.url, op.url])
        browser.guard(op.url)
        probe = SignedInProbe(url=page, contains="{username}")
        ok, landed = signed_in_as(browser, lambda p: app.url + p, probe, ADA)
        assert not ok
        assert landed.entered_harness and landed.entered_harness.startswith(op.url)
        assert any("Probe stopped" in n for n in transcript.notes)
        # Outside a probe the same browser follows the flow (the check drives sign-in).
        flow = browser.get(app.url + "/me-redirect")
        assert flow.status == 200 and "ada@example.com" in flow.text
        ok, _ = signed_in_as(
            browser, lambda p: app.url + p, SignedInProbe(url="/me", contains="{username}"), ADA
        )
        assert ok
    finally:
        app.stop()


def test_a_hostile_flow_enters_the_harness_once(op: ServedApp) -> None:
    """After the flow the check drives, an app that restarts sign-in (e.g. after refusing a
    forged callback) is not signed in again by the harness within the same navigation."""

    @Request.application
    def restarting_rp(request: Request) -> Response:
        back = request.host_url.rstrip("/") + "/callback"
        if request.path == "/login":
            return Response("", status=302, headers={"Location": f"{op.url}/a?back={back}"})
        if request.path == "/callback":
            # Refuses (say, a forged state) and starts over, as mod_auth_openidc does.
            return Response("", status=302, headers={"Location": "/login"})
        return Response("?", status=404)

    app = ServedApp(restarting_rp)
    try:
        transcript = Transcript(Redactor([]))
        browser = Browser(transcript, allowed_origins=[app.url, op.url])
        browser.guard(op.url)
        with browser.one_sign_in():
            page = browser.get(app.url + "/login")
        assert page.entered_harness and page.entered_harness.startswith(op.url)
        assert sum(e.url.startswith(op.url) for e in transcript.exchanges) == 1
        assert any("second sign-in" in n for n in transcript.notes)
    finally:
        app.stop()


def _landing_app(op_url: str) -> object:
    """An app whose sign-in ends on a page of its choosing (``/signin?to=...``)."""

    @Request.application
    def app(request: Request) -> Response:
        if request.path == "/signin":
            resp = Response("", status=302, headers={"Location": request.args["to"]})
            resp.set_cookie("sid", "ada")
            return resp
        if request.path == "/signin-post":
            return Response("", status=307, headers={"Location": "/me"})
        signed_in = request.cookies.get("sid") == "ada"
        if request.path == "/me" and signed_in:
            return Response("Signed in as ada@example.com")
        if request.path == "/welcome" and signed_in:
            return Response("Welcome ada@example.com")
        if request.path == "/me-refresh" and signed_in:
            return Response(
                "Signed in as ada@example.com<meta http-equiv='refresh' "
                f"content='0; url={op_url}/authorize'>",
                content_type="text/html",
            )
        return Response("signed out", status=401)

    return app


@pytest.mark.parametrize(
    ("landing_path", "probe_path", "reused"),
    [
        ("/me", "/me", True),  # the sign-in ended on the probe URL: no second request
        ("/me#top", "/me", True),  # a fragment is never sent
        ("/welcome", "/me", False),  # another page: the probe asks
        ("/me?x=1", "/me", False),  # another URL
        ("/me-refresh", "/me-refresh", False),  # a refresh a probe would stop at
    ],
)
def test_the_sign_in_landing_page_is_read_as_the_probe_only_when_it_is_one(
    op: ServedApp, landing_path: str, probe_path: str, reused: bool
) -> None:
    app = ServedApp(_landing_app(op.url))  # type: ignore[arg-type]
    try:
        transcript = Transcript(Redactor([]))
        browser = Browser(transcript, allowed_origins=[app.url, op.url])
        browser.guard(op.url)
        landing = browser.get(f"{app.url}/signin?to={landing_path.replace('#', '%23')}")
        before = len(transcript.exchanges)
        probe = SignedInProbe(url=probe_path, contains="{username}")
        ok, page = signed_in_as(browser, lambda p: app.url + p, probe, ADA, landing)
        assert (len(transcript.exchanges) == before) is reused
        assert (page is landing) is reused
        if reused:
            assert ok
            assert transcript.exchanges[-1].note.startswith("signed-in probe")
            assert any("read without a second request" in n for n in transcript.notes)
        else:
            assert transcript.exchanges[-1].note == "signed-in probe"
        if landing_path == "/me-refresh":
            assert not ok and page.entered_harness  # the probe stopped at the refresh
    finally:
        app.stop()


def test_a_landing_page_that_is_not_a_final_get_is_never_the_probe() -> None:
    """A POST answer, a redirect, a blocked or harness-bound hop, or an auto-posting form is
    not what a GET probe would read: the probe asks."""
    from oin_conformance.roles.browser import Page

    url = "http://127.0.0.1:1/me"
    final = Page(url=url, status=200, headers={}, text="Signed in as ada@example.com")
    assert is_probe_answer(final, url)
    assert not is_probe_answer(None, url)
    assert not is_probe_answer(Page(url=url, status=200, headers={}, text="", method="POST"), url)
    assert not is_probe_answer(Page(url=url, status=302, headers={}, text=""), url)
    assert not is_probe_answer(
        Page(url=url, status=200, headers={}, text="", blocked_redirect="https://x.test/"), url
    )
    assert not is_probe_answer(
        Page(url=url, status=200, headers={}, text="", entered_harness="http://127.0.0.1:2/"), url
    )
    form = "<body onload='document.forms[0].submit()'><form method='post' action='/x'></form>"
    assert not is_probe_answer(Page(url=url, status=200, headers={}, text=form), url)
