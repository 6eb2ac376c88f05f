"""The OIDC suite's helper: a per-check view of the Okta org authorization server that
drives sign-ins through the check's browser and records the back channel."""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import pytest

from oin_conformance.failures import fail
from oin_conformance.roles.browser import Browser, BrowserError, Page
from oin_conformance.roles.oidc_op import (
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


def custom_issuer_problem(issuer: str) -> str | None:
    """Why the configured issuer is not an org authorization server, or None."""
    if not issuer:
        return None
    path = urlsplit(issuer).path.rstrip("/")
    if not path:
        return None
    if path.startswith("/oauth2/"):
        server = path.removeprefix("/oauth2/").split("/")[0]
        which = "the `default` custom" if server == "default" else f"the custom ({server})"
        return f"issuer {issuer!r} names {which} authorization server"
    return f"issuer {issuer!r} has a path ({path}); an Okta org URL has none"


ORG_AS_FIX = (
    "Configure the app with the org authorization server: issuer = the bare Okta org URL "
    "(https://{yourOktaDomain}, no path), discovery at {issuer}/.well-known/openid-configuration, "
    "endpoints under {issuer}/oauth2/v1/. The OIN does not allow custom authorization servers, "
    "including `default`: they exist only in orgs with API Access Management, so the "
    "integration would break in most customer orgs."
)


def excerpt(page: Page) -> str:
    text = " ".join(page.text.split())
    cut = text[:EXCERPT] + (" …" if len(text) > EXCERPT else "")
    return f"HTTP {page.status} at {page.url}\n{cut}"


@dataclass
class OidcCheck:
    """One check's handle on the OP, the browser and the transcript."""

    op: OktaOrgOP
    browser: Browser
    transcript: Transcript
    ctx: RunContext
    target: OidcTarget

    @property
    def probe(self) -> SignedInProbe:
        probe = self.target.signed_in or self.ctx.target.app.signed_in
        if probe is None:
            pytest.skip("no signed-in probe: set [oidc] signed_in or [app] signed_in")
        return probe

    @property
    def user(self) -> OktaUser:
        return self.op.behaviour.user or self.op.default_user

    def url(self, value: str) -> str:
        return self.ctx.url(value)

    def start(self, url: str, note: str) -> Page:
        """Navigate from ``url`` through the OP and back; record the back channel."""
        try:
            page = self.browser.get(url, note=note)
        except BrowserError as exc:
            self.collect()
            raise fail(
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

    def sign_in(self) -> Page:
        """SP-initiated sign-in from the target's login URL."""
        return self.start(self.url(self.target.login_url), "SP-initiated sign-in")

    def initiate(self, iss: str) -> Page:
        assert self.target.initiate_login_uri
        url = self.url(self.target.initiate_login_uri)
        sep = "&" if "?" in url else "?"
        return self.start(url + sep + urlencode({"iss": iss}), "third-party-initiated sign-in")

    def signed_in(self, user: OktaUser | None = None) -> tuple[bool, Page]:
        who = (user or self.user).fields()
        try:
            return signed_in_as(self.browser, self.url, self.probe, who)
        except BrowserError as exc:
            raise fail(
                "The signed-in probe could not be fetched",
                seen=str(exc),
                expected=f"an answer from {self.url(self.probe.url)}",
                fix="Check [app] signed_in / [oidc] signed_in url in the target file.",
            ) from None

    def collect(self) -> None:
        """Move the app's back-channel calls to the OP into the check's transcript."""
        with self.op._lock:  # noqa: SLF001 - the OP's lock guards its lists
            exchanges, self.op.exchanges = self.op.exchanges, []
        for e in exchanges:
            self.transcript.record(
                method=e.method,
                url=e.url,
                request_headers=e.request_headers,
                request_body=e.request_body,
                status=e.status,
                response_headers=e.response_headers,
                response_body=e.response_body,
                started=time.perf_counter() - e.duration,
                note="back channel: app -> Okta",
                decoded=e.decoded,
            )

    def token_observation(self) -> Observation | None:
        return self.op.last("token")

    def flow_summary(self) -> str:
        """What the app did at the OP, for a failure's "seen"."""
        lines = []
        for o in self.op.observations:
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


__all__ = ["ORG_AS_FIX", "OidcCheck", "custom_issuer_problem", "excerpt"]
