"""The OIDC suite's helper: a per-check view of the Okta org authorization server that
drives sign-ins through the check's browser and records the back channel.

Verdict integrity (SPEC §10): a check that expects a refusal first needs the *control* — a
genuine SP-initiated sign-in on a fresh browser signs the test user in (run once per process
and cached) — and evidence that the hostile input was delivered (the app fetched the forged
token, the browser delivered the forged callback). Without either it is inconclusive.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from oin_conformance.failures import excerpt, fail, inconclusive
from oin_conformance.requirements.rules import ORG_AS_FIX, custom_issuer_problem
from oin_conformance.roles.browser import Browser, BrowserError, Page
from oin_conformance.roles.oidc import (
    Observation,
    OktaOrgOP,
    OktaUser,
    OPError,
    describe_token,
)
from oin_conformance.roles.probe import signed_in_as
from oin_conformance.runtime import RunContext
from oin_conformance.target import OidcTarget, SignedInProbe
from oin_conformance.transcript import Transcript

EXCERPT = 600


def page_excerpt(page: Page) -> str:
    """Where the browser ended and the start of what it showed (whitespace collapsed)."""
    return f"HTTP {page.status} at {page.url}\n{excerpt(' '.join(page.text.split()), EXCERPT)}"


@dataclass(frozen=True)
class Control:
    """Did a genuine SP-initiated sign-in sign the test user in?"""

    ok: bool
    detail: str


@dataclass
class Controls:
    """The controls, each run once in this process: a genuine SP-initiated sign-in, and a
    genuine sign-in started at the initiate login URI (the dashboard's path)."""

    result: Control | None = None
    initiated: Control | None = None


@dataclass
class KeyRefetch:
    """How the app fetched Okta's keys again after a rotation, once the key-rotation check
    found out (per process): ``at_once``, ``after_cooldown`` or ``never``; None = not
    known yet. Later checks that need a refetch wait for a cooldown only when it helps."""

    seen: str | None = None


@dataclass
class OidcCheck:
    """One check's handle on the OP, the browser and the transcript."""

    op: OktaOrgOP
    browser: Browser
    transcript: Transcript
    ctx: RunContext
    target: OidcTarget
    controls: Controls = field(default_factory=Controls)

    @property
    def probe(self) -> SignedInProbe:
        probe = self.target.signed_in or self.ctx.target.app.signed_in
        if probe is None:
            pytest.skip("no signed-in probe: set [oidc] signed_in or [app] signed_in")
        return probe

    @property
    def user(self) -> OktaUser:
        return self.op.current_user()

    def url(self, value: str) -> str:
        return self.ctx.url(value)

    def new_browser(self) -> Browser:
        """A browser with a fresh cookie jar, recording into this check's transcript."""
        b = Browser(
            self.transcript,
            allowed_origins=[self.ctx.app_url, self.op.url],
            timeout=self.ctx.timeout,
        )
        b.guard(self.op.url)
        self.ctx.on_close(b.close)
        return b

    def start(
        self, url: str, note: str, *, browser: Browser | None = None, hostile: bool = False
    ) -> Page:
        """Navigate from ``url`` through the OP and back; record the back channel.

        ``hostile``: the flow carries a forgery, so a sign-in that cannot complete proves
        nothing (inconclusive) rather than failing the check."""
        b = browser or self.browser
        try:
            if hostile:
                with b.one_sign_in():
                    page = b.get(url, note=note)
            else:
                page = b.get(url, note=note)
        except BrowserError as exc:
            self.collect()
            build = inconclusive if hostile else fail
            raise build(
                "The sign-in could not complete",
                seen=f"{exc}\n\n{self.transcript.summary()}",
                expected="the app redirects to the Okta authorize endpoint and, after the "
                "callback, answers",
                fix="Make sure the app is running and reachable at the configured URLs.",
            ) from None
        self.collect()
        self.transcript.note(f"{note}: requests the app made to Okta:\n{self.flow_summary()}")
        try:
            self.op.check()
        except OPError as exc:
            raise fail(
                "The harness's Okta server failed while serving the app",
                seen=str(exc),
                expected="no error inside the harness",
                fix="This is a harness problem; please report it with this transcript.",
            ) from None
        return page

    def sign_in(self, *, hostile: bool = False) -> Page:
        """SP-initiated sign-in from the target's login URL."""
        return self.start(self.url(self.target.login_url), "SP-initiated sign-in", hostile=hostile)

    def control(self) -> Control:
        """Does a genuine SP-initiated sign-in sign the test user in? (cached per process)"""
        if self.controls.result is not None:
            self.transcript.note(f"Control, run earlier: {self.controls.result.detail}")
            return self.controls.result
        self.transcript.note("Control: a genuine SP-initiated sign-in on a fresh browser")
        b = self.new_browser()
        try:
            page = self.start(
                self.url(self.target.login_url), "control: genuine sign-in", browser=b
            )
            ok, probe = signed_in_as(b, self.url, self.probe, self.user.fields(), page)
            detail = (
                "a genuine sign-in signed the test user in"
                if ok
                else f"a genuine sign-in did NOT sign the test user in; the callback ended "
                f"with {page_excerpt(page)}\nSigned-in probe: {page_excerpt(probe)}\n"
                f"Requests the app made to Okta:\n{self.flow_summary()}"
            )
        except (BrowserError, AssertionError) as exc:
            ok, detail = False, f"the genuine sign-in could not run: {str(exc).splitlines()[0]}"
        self.controls.result = Control(ok, detail)
        self.transcript.note(f"Control: {detail}")
        return self.controls.result

    def require_control(self) -> None:
        """Inconclusive unless a genuine sign-in works: a refusal would prove nothing."""
        control = self.control()
        if not control.ok:
            raise inconclusive(
                "A genuine sign-in does not work, so a refusal proves nothing",
                seen=control.detail,
                expected="a genuine SP-initiated sign-in signs the test user in (the control)",
                fix="Make oidc.sp_initiated_sign_in pass first; then run this check again.",
            )

    def initiate_control(self) -> Control:
        """Does a genuine sign-in started at the initiate login URI (only ``iss``, as Okta's
        dashboard sends) sign the test user in? (cached per process)"""
        if self.controls.initiated is not None:
            self.transcript.note(
                f"Dashboard control, run earlier: {self.controls.initiated.detail}"
            )
            return self.controls.initiated
        self.transcript.note("Dashboard control: a genuine sign-in from the initiate login URI")
        b = self.new_browser()
        try:
            page = self.initiate(self.op.issuer, browser=b, note="control: dashboard sign-in")
            ok, probe = signed_in_as(b, self.url, self.probe, self.user.fields(), page)
            detail = (
                "a genuine dashboard sign-in signed the test user in"
                if ok
                else f"a genuine dashboard sign-in did NOT sign the test user in; it ended "
                f"with {page_excerpt(page)}\nSigned-in probe: {page_excerpt(probe)}"
            )
        except (BrowserError, AssertionError) as exc:
            ok, detail = False, f"the dashboard sign-in could not run: {str(exc).splitlines()[0]}"
        self.controls.initiated = Control(ok, detail)
        self.transcript.note(f"Dashboard control: {detail}")
        return self.controls.initiated

    def callback_delivered(self, state: str) -> bool:
        """Whether the browser delivered a callback carrying ``state`` and got an answer."""
        registered = {urlsplit(u).path.rstrip("/") for u in self.op.redirect_uris()}
        for ex in self.transcript.exchanges:
            parts = urlsplit(ex.url)
            params = dict(parse_qsl(parts.query)) | dict(parse_qsl(ex.request_body))
            if (
                parts.path.rstrip("/") in registered
                and params.get("state") == state
                and ex.status is not None
            ):
                return True
        return False

    def initiate_url(self, iss: str, **extra: str) -> str:
        """The initiate login URI with ``iss`` (and ``extra`` parameters), as Okta opens it."""
        assert self.target.initiate_login_uri
        url = self.url(self.target.initiate_login_uri)
        sep = "&" if "?" in url else "?"
        return url + sep + urlencode({"iss": iss, **extra})

    def initiate(
        self,
        iss: str,
        *,
        browser: Browser | None = None,
        note: str = "third-party-initiated sign-in",
        hostile: bool = False,
        **extra: str,
    ) -> Page:
        """Third-party-initiated sign-in: open the initiate login URI with ``iss``."""
        url = self.initiate_url(iss, **extra)
        return self.start(url, note, browser=browser, hostile=hostile)

    def signed_in(
        self, user: OktaUser | None = None, *, hostile: bool = False, landing: Page | None = None
    ) -> tuple[bool, Page]:
        """Who is signed in (the probe); ``landing``: the page the sign-in just ended on,
        read as the probe when it is the probe URL (see :func:`signed_in_as`)."""
        who = (user or self.user).fields()
        try:
            return signed_in_as(self.browser, self.url, self.probe, who, landing)
        except BrowserError as exc:
            raise (inconclusive if hostile else fail)(
                "The signed-in probe could not be fetched",
                seen=str(exc),
                expected=f"an answer from {self.url(self.probe.url)}",
                fix="Check [app] signed_in / [oidc] signed_in url in the target file.",
            ) from None

    def collect(self) -> None:
        """Move the app's back-channel calls to the OP into the check's transcript (which
        redacts them as it records them)."""
        for e in self.op.take_exchanges():
            self.transcript.record(
                method=e.method,
                url=e.url,
                request_headers=e.request_headers,
                request_body=e.request_body,
                status=e.status,
                response_headers=e.response_headers,
                response_body=e.response_body,
                started=time.perf_counter() - e.elapsed_ms / 1000,
                error=e.error,
                note=e.note,
                decoded=e.decoded,
                started_at=e.started_at,
            )

    def token_observation(self) -> Observation | None:
        return self.op.last("token")

    def flow_summary(self) -> str:
        """What the app did at the OP, for a failure's "seen"."""
        lines = []
        for o in self.op.seen():
            detail = ""
            if o.kind == "authorize":
                detail = f" -> {o.details.get('outcome', '')}"
            if o.kind == "token":
                detail = f" client_auth={o.details.get('client_auth')}"
                if o.details.get("error"):
                    detail += f" -> {o.details['error']}"
            lines.append(f"{o.method} {o.path}{detail}")
        return "\n".join(lines) or "(the app made no request to the Okta server)"

    def issued_token(self) -> str:
        obs = self.token_observation()
        token = obs.details.get("id_token") if obs else None
        return describe_token(token) if isinstance(token, str) else "(no ID token issued)"


__all__ = [
    "ORG_AS_FIX",
    "Control",
    "Controls",
    "KeyRefetch",
    "OidcCheck",
    "custom_issuer_problem",
    "page_excerpt",
]
