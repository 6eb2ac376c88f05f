"""What every Universal Logout check does: sign the test user in (through the SAML or OIDC
flows of those suites), send Okta's logout request to the app's endpoint, and ask the app
who is signed in.

Verdict integrity (SPEC §10):

* **Control.** Before a request, the signed-in probe shows the test user signed in on a
  browser of their own (else there is no session whose end could be observed). A check that
  expects a request to be refused also needs Okta's *genuine* request, from the same org to
  the same endpoint, to be accepted (HTTP 204): run once per process and sign-in protocol,
  and cached; refusals are tested through the first protocol (OIDC, then SAML) whose
  control worked. Without one a refusal proves nothing: inconclusive. A refusal that leaves
  the test user signed in keeps that session for the process's next refusal, which proves
  it again with a fresh probe before sending its own request (a sign-in saved, never a
  probe).
* **Delivery.** The app answered the request (its status is seen and recorded); a request
  that got no answer is inconclusive.
* **Identity.** The probe names the test user as a whole value (``roles.probe``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from oin_conformance.attacks.universal_logout import LogoutAttack
from oin_conformance.failures import CheckFailure, excerpt, fail, inconclusive
from oin_conformance.roles.browser import Browser, BrowserError, Page
from oin_conformance.roles.probe import signed_in_as
from oin_conformance.roles.universal_logout import (
    Answer,
    RevocationRequest,
    Signer,
    SubjectFormat,
    Via,
    okta_request,
    send,
    subject,
    token_parts,
)
from oin_conformance.runtime import RunContext
from oin_conformance.target import SignedInProbe, UniversalLogoutTarget
from oin_conformance.transcript import Transcript
from oin_conformance.wiring.universal_logout import signer, vias

from ..oidc.flow import OidcCheck, page_excerpt
from ..saml.flow import SamlCheck

VIA_TITLES: dict[str, str] = {
    "oidc": "OIDC (SP-initiated sign-in through Okta's org authorization server)",
    "saml": "SAML (a signed Okta response to the ACS)",
}
PATH_NAMES = {"idp": "IdP", "sp": "SP"}
#: The statuses that mean "refused" in Okta's reading, for an authentication failure.
AUTH_STATUSES = (401, 403)


@dataclass(frozen=True)
class Control:
    """Was Okta's genuine logout request accepted (204) for this sign-in protocol's app?"""

    via: Via
    ok: bool
    detail: str
    #: False when the protocol cannot sign anyone in here at all (a skip: not configured
    #: for it, no signed-in probe), rather than a control that ran and failed.
    available: bool = True


@dataclass
class Controls:
    """The controls run so far in this process (one per sign-in protocol)."""

    results: dict[str, Control] = field(default_factory=dict)
    #: The session the last refusal left signed in, by sign-in protocol: the next refusal
    #: starts from it (after a fresh probe) instead of signing in again.
    kept: dict[str, Session] = field(default_factory=dict)


@dataclass
class Session:
    """The test user, signed in through one protocol in a browser of their own."""

    via: Via
    browser: Browser
    probe: SignedInProbe
    how: str


@dataclass(frozen=True)
class Attempt:
    """A request sent while the test user was signed in, and what followed."""

    via: Via
    request: RevocationRequest
    answer: Answer
    #: Whether the test user is still signed in afterwards, and the probe page.
    signed_in: bool
    probe: Page


@dataclass
class LogoutCheck:
    """One check's view: the target's [universal_logout], the sign-in flows, the transcript."""

    ctx: RunContext
    target: UniversalLogoutTarget
    transcript: Transcript
    controls: Controls
    oidc: OidcCheck | None = None
    saml: SamlCheck | None = None
    #: Why SAML cannot sign anyone in here (no probe), when it is configured.
    saml_unavailable: str = ""

    # -- what the target claims ------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return self.ctx.url(self.target.endpoint)

    @property
    def formats(self) -> list[SubjectFormat]:
        return list(self.target.subject_formats)

    def vias(self) -> list[Via]:
        return vias(self.ctx.target)

    def primary(self) -> Via:
        """The first sign-in protocol the target configures (OIDC first, then SAML)."""
        via = self.vias()[0]
        self.require(via)
        return via

    def require(self, via: Via, fmt: SubjectFormat | None = None) -> None:
        """Skip unless the target configures ``via`` (and claims ``fmt``)."""
        if via not in self.vias():
            pytest.skip(
                f"{via.upper()} not configured: the target has no [{via}] section, so no "
                f"user signs in through it"
            )
        if via == "saml" and self.saml_unavailable:
            pytest.skip(self.saml_unavailable)
        if fmt is not None and fmt not in self.formats:
            pytest.skip(
                f"subject format {fmt!r} not claimed: [universal_logout] subject_formats = "
                f"{self.formats}"
            )

    # -- Okta's request --------------------------------------------------------------------

    def signer(self, via: Via) -> Signer:
        return signer(self.ctx, via)

    def user(self) -> dict[str, str]:
        return self.ctx.user

    def sub_id(self, via: Via, fmt: SubjectFormat) -> dict[str, str]:
        """How Okta names the test user in ``fmt``."""
        user = self.user()
        if fmt == "email":
            return subject("email", email=user["email"])
        return subject(
            "iss_sub", iss=self.signer(via).issuer, sub=self.target.user_id.format_map(user)
        )

    def unknown_sub_id(self, via: Via, fmt: SubjectFormat) -> dict[str, str]:
        """A subject naming a user the app has never seen (same e-mail domain)."""
        domain = self.user()["email"].partition("@")[2] or "example.com"
        local = f"nobody.{self.ctx.run_id}.{self.ctx.rng('ul-unknown').randrange(10**6)}"
        if fmt == "email":
            return subject("email", email=f"{local}@{domain}")
        return subject("iss_sub", iss=self.signer(via).issuer, sub=local)

    def genuine(
        self,
        via: Via,
        fmt: SubjectFormat,
        *,
        sub_id: dict[str, str] | None = None,
        body: str | None = None,
        label: str = "Okta's Universal Logout request",
    ) -> RevocationRequest:
        """Okta's request naming ``sub_id`` (default: the test user in ``fmt``), or carrying
        exactly ``body``, signed by the org."""
        s = self.signer(via)
        token = token_parts(s, self.endpoint).sign()
        self.transcript.note(
            f"{label}: iss {s.issuer}, sub {s.app_id} (the {via.upper()} app), aud "
            f"{self.endpoint}; the org's keys: {s.jwks_uri}"
        )
        if body is None and sub_id is None:
            sub_id = self.sub_id(via, fmt)
        return okta_request(self.endpoint, token, sub_id, body=body, label=label)

    def hostile(self, via: Via, fmt: SubjectFormat, attack: LogoutAttack) -> RevocationRequest:
        """Okta's request for the test user, its JWT replaced by ``attack``'s forgery."""
        parts = token_parts(self.signer(via), self.endpoint)
        self.transcript.note(f"Attack: {attack.title}. Risk if accepted: {attack.risk}.")
        return okta_request(
            self.endpoint,
            attack.forge(parts),
            self.sub_id(via, fmt),
            label=f"hostile logout request: {attack.title}",
        )

    def send(self, request: RevocationRequest) -> Answer:
        """POST the request to the endpoint; no answer is inconclusive (not delivered)."""
        try:
            return send(request, self.transcript, timeout=self.ctx.timeout)
        except BrowserError as exc:
            raise inconclusive(
                "The Universal Logout endpoint did not answer",
                seen=str(exc),
                expected=f"an HTTP answer from {self.endpoint}",
                fix="Make sure the app is running and [universal_logout] endpoint is its "
                "Global Token Revocation URL; then run this check again.",
            ) from None

    def logout(self, via: Via, fmt: SubjectFormat) -> tuple[RevocationRequest, Answer]:
        """Send Okta's genuine request for the test user; anything but 204 fails the check
        (the app refuses what Okta really sends)."""
        request = self.genuine(via, fmt)
        answer = self.send(request)
        if answer.status != 204:
            raise fail(
                "The app refuses Okta's genuine logout request",
                seen=self.seen(request, answer, None),
                expected=f"HTTP 204 from {self.endpoint} (the user is logged out)",
                fix=self.genuine_fix(answer, via),
            )
        return request, answer

    def attempt(self, make: Callable[[Via], RevocationRequest]) -> Attempt:
        """Sign the test user in through the protocol refusals are tested through (see
        :meth:`refusal_via`), send the request ``make`` builds for it, ask who is signed in."""
        via = self.refusal_via()
        session = self.resume(via) or self.sign_in(via)
        request = make(via)
        answer = self.send(request)
        ok, probe = self.still_signed_in(session)
        if ok:
            self.controls.kept[via] = session
        return Attempt(via, request, answer, ok, probe)

    def resume(self, via: Via) -> Session | None:
        """The session an earlier refusal in this process left signed in, if the probe
        (asked now, on this check's transcript) still names the test user; else None."""
        session = self.controls.kept.pop(via, None)
        if session is None:
            return None
        session.browser.transcript = self.transcript
        try:
            ok, _ = signed_in_as(
                session.browser, self.ctx.url, session.probe, self.user_of(session)
            )
        except BrowserError as exc:
            ok = False
            self.transcript.note(f"The kept session's probe failed: {exc}")
        if not ok:
            self.transcript.note(
                f"The session an earlier check left ({session.how}) is no longer signed in: "
                "signing in again"
            )
            return None
        self.transcript.note(
            f"Signed in through {session.how}: the session an earlier refusal left; the "
            "probe, asked now, names the user"
        )
        return session

    # -- sessions ----------------------------------------------------------------------------

    def sign_in(self, via: Via) -> Session:
        """The test user signed in through ``via`` in a fresh browser, proven by the probe
        (the control that a session exists); otherwise the check is inconclusive."""
        self.require(via)
        attempts = self._sign_in_saml() if via == "saml" else self._sign_in_oidc()
        last = "no sign-in path was available"
        for session, ok, detail in attempts:
            if ok and session is not None:
                self.transcript.note(f"Signed in through {session.how}: the probe names the user")
                return session
            self.transcript.note(f"Sign-in through {VIA_TITLES[via]} did not work: {detail}")
            last = detail
        raise inconclusive(
            f"The test user could not be signed in through {via.upper()}, so no logout can "
            "be observed",
            seen=last,
            expected=f"a genuine sign-in through {VIA_TITLES[via]} signs the test user in "
            "(the probe names them) before Okta's logout request is sent",
            fix=f"Make the {via.upper()} sign-in checks pass first; then run this check again.",
        )

    def _sign_in_oidc(self) -> list[tuple[Session | None, bool, str]]:
        oidc = self.oidc
        assert oidc is not None
        b = oidc.new_browser()
        try:
            page = oidc.start(oidc.url(oidc.target.login_url), "sign-in for the logout", browser=b)
            ok, probe = signed_in_as(b, oidc.url, oidc.probe, oidc.user.fields(), page)
        except (CheckFailure, BrowserError) as exc:
            return [(None, False, str(exc).splitlines()[0])]
        detail = f"the sign-in ended with {page_excerpt(page)}\nprobe: {page_excerpt(probe)}"
        return [(Session("oidc", b, oidc.probe, "OIDC SP-initiated sign-in"), ok, detail)]

    def _sign_in_saml(self) -> list[tuple[Session | None, bool, str]]:
        saml = self.saml
        assert saml is not None
        tried: list[tuple[Session | None, bool, str]] = []
        for path in saml.paths():
            b = saml.new_browser()
            try:
                prepared = saml.prepare(path, b)
                xml = saml.idp.sign(saml.spec(in_response_to=prepared.in_response_to))
                page = saml.post(xml, prepared.relay_state, browser=b, note="genuine response")
                ok, probe = saml.signed_in(browser=b, landing=page)
            except (CheckFailure, BrowserError) as exc:
                tried.append((None, False, f"{path}-initiated: {str(exc).splitlines()[0]}"))
                continue
            detail = f"{path}-initiated: {saml.seen(page, xml, probe).splitlines()[0]}"
            session = Session("saml", b, saml.probe, f"SAML {PATH_NAMES[path]}-initiated sign-in")
            tried.append((session, ok, detail))
            if ok:
                break
        return tried

    def user_of(self, session: Session) -> dict[str, str]:
        """The test user as the session's sign-in protocol names them."""
        return self.oidc.user.fields() if session.via == "oidc" and self.oidc else self.user()

    def still_signed_in(self, session: Session) -> tuple[bool, Page]:
        """Who is signed in on the session's browser; an unreachable probe is inconclusive."""
        try:
            return signed_in_as(session.browser, self.ctx.url, session.probe, self.user_of(session))
        except BrowserError as exc:
            raise inconclusive(
                "The signed-in probe could not be read",
                seen=str(exc),
                expected=f"an answer from {self.ctx.url(session.probe.url)}",
                fix="Make sure the app is running and the probe URL answers; then run again.",
            ) from None

    # -- the control for refusals ------------------------------------------------------------

    def control(self, via: Via) -> Control:
        """Is Okta's genuine request (the first claimed subject format) accepted? (cached)"""
        known = self.controls.results.get(via)
        if known is not None:
            self.transcript.note(f"Control ({via.upper()}), run earlier: {known.detail}")
            return known
        self.transcript.note(
            f"Control: Okta's genuine logout request for the test user ({via.upper()} app)"
        )
        available = True
        try:
            self.sign_in(via)
            answer = self.send(self.genuine(via, self.formats[0], label="control: Okta's request"))
            ok = answer.status == 204
            detail = (
                "Okta's genuine request was accepted (HTTP 204)"
                if ok
                else f"Okta's genuine request was NOT accepted: {answer.describe()}"
            )
        except CheckFailure as exc:
            ok, detail = False, f"{exc.title}: {excerpt(exc.seen, 400)}"
        except pytest.skip.Exception as exc:
            ok, available, detail = False, False, f"not available: {exc.msg}"
        result = Control(via, ok, detail, available)
        self.controls.results[via] = result
        self.transcript.note(f"Control ({via.upper()}): {detail}")
        return result

    def refusal_via(self) -> Via:
        """The sign-in protocol a refusal is tested through: the first (OIDC, then SAML)
        whose control worked — Okta's genuine request to this endpoint was accepted. Without
        one the check is inconclusive (skipped when no protocol can sign anyone in here)."""
        tried = [self.control(via) for via in self.vias()]
        for control in tried:
            if control.ok:
                return control.via
        if not any(c.available for c in tried):
            pytest.skip("; ".join(f"{c.via.upper()}: {c.detail}" for c in tried))
        raise inconclusive(
            "Okta's genuine logout request is not accepted either, so a refusal proves nothing",
            seen="\n".join(f"{VIA_TITLES[c.via]}: {c.detail}" for c in tried),
            expected=f"Okta's genuine request to {self.endpoint} is answered 204 (the control) "
            "for at least one sign-in protocol, so that refusing this one means something",
            fix="Make universal_logout.ends_user_sessions pass first; then run this check again.",
        )

    # -- what a failure says -----------------------------------------------------------------

    def genuine_fix(self, answer: Answer, via: Via) -> str:
        """How to make the app accept Okta's genuine request, by the status it answered."""
        s = self.signer(via)
        if answer.status in AUTH_STATUSES:
            return (
                f"Verify the JWT with the Okta org's keys ({s.jwks_uri}, by kid; for a SAML app "
                "also its signing certificate) and accept: typ global-token-revocation+jwt, alg "
                f"RS256, iss {s.issuer!r}, sub {s.app_id!r}, aud {self.endpoint!r} (the endpoint "
                "URL without query), exp/nbf 5 minutes either side of iat. `oin-conformance "
                "ul-info` prints them."
            )
        if answer.status == 400:
            return (
                'Read the subject from the body\'s "sub_id" object (draft-parecki-oauth-global-'
                'token-revocation; an example in Okta\'s guide calls it "subject"): format '
                '"email" with "email", or "iss_sub" with "iss" and "sub".'
            )
        if answer.status == 404:
            return (
                "Look the user up as Okta names them (the e-mail address, case-insensitively, or "
                "for iss_sub the app's own user id) — the test user exists in the app."
            )
        return (
            "Answer 204 once every session (and refresh token) of the user is revoked; Okta reads "
            "only the status."
        )

    def seen(self, request: RevocationRequest, answer: Answer, probe: Page | None) -> str:
        lines = [f"POST {request.url} -> {answer.describe()}"]
        if probe is not None:
            lines.append(
                f"then the signed-in probe {probe.url} -> HTTP {probe.status}: "
                f"{excerpt(' '.join(probe.text.split()), 300)}"
            )
        lines.append(f"Body sent: {excerpt(request.body, 400)}")
        lines += [f"{k}:\n{v}" for k, v in request.decoded().items()]
        return "\n".join(lines)


__all__ = [
    "AUTH_STATUSES",
    "Attempt",
    "Control",
    "Controls",
    "LogoutCheck",
    "Session",
]
