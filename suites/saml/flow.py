"""What every SAML check does: build Okta's response, post it as the browser, ask who is in.

Verdict integrity (SPEC §10): a hostile response counts as refused only when a genuine
response signs the test user in on the same *path* (the same entry and browser
preparation) — the path's *control* — and the hostile one was delivered and answered. Two
paths exist: ``idp`` (IdP-initiated: a fresh browser posts an unsolicited response) and
``sp`` (SP-initiated: the browser first opens the app's login URL, which may set the
app's own cookies and issues the AuthnRequest the response answers). Controls are run once
per process and path, and cached.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import pytest
from lxml import etree

from oin_conformance.attacks.saml import Kit
from oin_conformance.failures import CheckFailure, excerpt, fail, inconclusive
from oin_conformance.roles.browser import Browser, BrowserError, Page, find_autopost_form, origin
from oin_conformance.roles.probe import signed_in_as
from oin_conformance.roles.saml import (
    AuthnRequest,
    ResponseSpec,
    SamlError,
    SamlIdp,
    post_fields,
    pretty,
    read_post_request,
    read_redirect_request,
    sp_certs_from_metadata,
)
from oin_conformance.runtime import RunContext
from oin_conformance.target import SamlTarget, SignedInProbe
from oin_conformance.transcript import Transcript

#: How much decoded XML a failure's "seen" text quotes (the transcript has all of it).
XML_EXCERPT = 2500


PathName = Literal["idp", "sp"]
PATH_TITLES: dict[str, str] = {
    "idp": "IdP-initiated (a fresh browser posts Okta's unsolicited response to the ACS)",
    "sp": "SP-initiated (the browser opens the app's login URL first and the response "
    "answers the AuthnRequest it issued)",
}


@dataclass
class Prepared:
    """A browser made ready for a response on one path (and what the app issued to it)."""

    path: PathName
    browser: Browser
    request: AuthnRequest | None = None

    @property
    def in_response_to(self) -> str | None:
        return self.request.id if self.request is not None else None

    @property
    def relay_state(self) -> str | None:
        return self.request.relay_state if self.request is not None else None


@dataclass(frozen=True)
class Control:
    """Did a genuine response for the test user sign in on this path?"""

    path: PathName
    ok: bool
    detail: str


@dataclass
class Controls:
    """The controls run so far in this process (one per path)."""

    results: dict[str, Control] = field(default_factory=dict)
    #: The SP's signing certificates read from its metadata URL (once per process).
    sp_certs: list[str] | None = None


@dataclass
class SamlCheck:
    """One check's view: the IdP, the target's SAML section, the browser and transcript."""

    idp: SamlIdp
    saml: SamlTarget
    probe: SignedInProbe
    ctx: RunContext
    browser: Browser
    transcript: Transcript
    kit: Kit
    controls: Controls = field(default_factory=Controls)

    @property
    def acs(self) -> str:
        return self.ctx.url(self.saml.acs_url)

    @property
    def user(self) -> dict[str, str]:
        return self.ctx.user

    def nameid_of(self, user: Mapping[str, str]) -> str:
        return self.saml.nameid.format_map(dict(user))

    def attributes_of(
        self, user: Mapping[str, str], leave_out: tuple[str, ...] = ()
    ) -> dict[str, list[str]]:
        return {
            name: [template.format_map(dict(user))]
            for name, template in self.saml.attributes.items()
            if name not in leave_out
        }

    def spec(
        self,
        user: Mapping[str, str] | None = None,
        *,
        in_response_to: str | None = None,
        leave_out: tuple[str, ...] = (),
    ) -> ResponseSpec:
        """Okta's response content for ``user`` (default: the test user)."""
        who = user or self.user
        return self.idp.spec(
            acs_url=self.acs,
            audience=self.saml.audience,
            nameid=self.nameid_of(who),
            nameid_format=self.saml.nameid_format,
            attributes=self.attributes_of(who, leave_out),
            in_response_to=in_response_to,
            sign=self.saml.sign,
        )

    def post(
        self,
        xml: bytes,
        relay_state: str | None = None,
        *,
        browser: Browser | None = None,
        note: str = "IdP posts the SAML response to the ACS (HTTP-POST binding)",
    ) -> Page:
        """POST the response to the ACS as the user's browser, following where it leads."""
        b = browser or self.browser
        decoded = {"SAML Response": pretty(xml)}
        if relay_state:
            decoded["RelayState"] = relay_state
        return b.post_form(self.acs, post_fields(xml, relay_state), note=note, decoded=decoded)

    def signed_in(
        self,
        user: Mapping[str, str] | None = None,
        *,
        browser: Browser | None = None,
        landing: Page | None = None,
    ) -> tuple[bool, Page]:
        """Who is signed in (the probe); ``landing``: the page the ACS post just ended on,
        read as the probe when it is the probe URL (see :func:`signed_in_as`)."""
        return signed_in_as(
            browser or self.browser, self.ctx.url, self.probe, dict(user or self.user), landing
        )

    def new_browser(self) -> Browser:
        """A second browser (fresh cookie jar) recording into the same transcript."""
        b = Browser(self.transcript, allowed_origins=[self.ctx.app_url], timeout=self.ctx.timeout)
        b.guard(self.idp.sso_url)
        self.ctx.on_close(b.close)
        return b

    # -- SP-initiated entry ------------------------------------------------------------

    def sp_certs(self, browser: Browser | None = None) -> list[str]:
        """The SP's signing certificates from its metadata (URL or file), if the target
        says where."""
        if self.saml.sp_metadata_url:
            url = self.ctx.url(self.saml.sp_metadata_url)
            if self.controls.sp_certs is not None:
                self.transcript.note(f"SP metadata {url}: read earlier in this run")
                return self.controls.sp_certs
            try:
                page = (browser or self.browser).send("GET", url, note="SP metadata")
            except BrowserError:
                return []
            try:
                certs = sp_certs_from_metadata(page.text)
            except SamlError:
                return []
            if page.status == 200 and certs:
                self.controls.sp_certs = certs
            return certs
        if self.saml.sp_metadata_file:
            path = Path(self.saml.sp_metadata_file)
            if not path.is_absolute():
                path = self.ctx.target.path.parent / path
            text = path.read_text()
        else:
            return []
        try:
            return sp_certs_from_metadata(text)
        except SamlError:
            return []

    def start_sp_initiated(self, browser: Browser | None = None) -> AuthnRequest:
        """Open the app's login URL and read the AuthnRequest it sends toward Okta."""
        b = browser or self.browser
        if not self.saml.login_url:
            pytest.skip("SP-initiated sign-in not configured: [saml] login_url is not set")
        login = self.ctx.url(self.saml.login_url)
        page = b.get(login, note="the user starts sign-in at the app")
        certs: list[str] = []
        idp_origin = origin(self.idp.sso_url)
        try:
            if page.blocked_redirect and origin(page.blocked_redirect) == idp_origin:
                if "Signature=" in page.blocked_redirect:
                    certs = self.sp_certs(b)
                request = read_redirect_request(page.blocked_redirect, certs)
            else:
                form = find_autopost_form(page.text, page.url)
                if form is None or "SAMLRequest" not in form.fields:
                    raise fail(
                        "Sign-in at the app does not send the user to Okta",
                        seen=f"GET {login} ended at {page.url} (HTTP {page.status})"
                        + (
                            f", redirect to {page.blocked_redirect}"
                            if page.blocked_redirect
                            else ""
                        )
                        + f"\n{excerpt(page.text)}",
                        expected=f"a redirect (or auto-posting form) with a SAMLRequest to "
                        f"{self.idp.sso_url}",
                        fix="Configure the IdP SSO URL from the IdP metadata and start SAML "
                        "sign-in from the login URL given in the target.",
                    )
                if origin(form.action) != idp_origin:
                    raise fail(
                        "The app sends its AuthnRequest to the wrong SSO URL",
                        seen=f"form posts to {form.action}",
                        expected=self.idp.sso_url,
                        fix="Use the SSO URL from the IdP metadata.",
                    )
                certs = self.sp_certs(b)  # the signature, if any, is inside the base64
                request = read_post_request(form.fields, certs)
        except SamlError as exc:
            raise fail(
                "The app's AuthnRequest cannot be read",
                seen=str(exc),
                expected="a SAML 2.0 AuthnRequest (HTTP-Redirect: raw DEFLATE + base64; "
                "HTTP-POST: base64), without a DTD",
                fix="Build AuthnRequests with your SAML library's login/redirect helper.",
            ) from None
        signature = (
            "unsigned"
            if not request.signed
            else "signature not verified (no SP metadata in the target)"
            if request.signature_valid is None
            else f"signature {'valid' if request.signature_valid else 'INVALID'} (SP metadata cert)"
        )
        self.transcript.note(
            f"AuthnRequest received ({request.binding.rsplit(':', 1)[-1]}, {signature}), "
            f"decoded:\n{request.xml}"
        )
        return request

    # -- paths, controls, delivery (SPEC §10) ------------------------------------------

    def paths(self, prefer: tuple[PathName, ...] = ("idp", "sp")) -> list[PathName]:
        """The paths this target offers, in order of preference."""
        return [p for p in prefer if p == "idp" or self.saml.login_url]

    def prepare(self, path: PathName, browser: Browser | None = None) -> Prepared:
        """Make ``browser`` (default: the check's) ready for a response on ``path``."""
        b = browser or self.browser
        if path == "idp":
            return Prepared("idp", b)
        return Prepared("sp", b, self.start_sp_initiated(b))

    def control(self, path: PathName) -> Control:
        """Does a genuine response sign the test user in on ``path``? (cached per process)"""
        known = self.controls.results.get(path)
        if known is not None:
            self.transcript.note(f"Control ({path}-initiated), run earlier: {known.detail}")
            return known
        self.transcript.note(
            f"Control: a genuine response for the test user on the path {PATH_TITLES[path]}"
        )
        b = self.new_browser()
        try:
            prepared = self.prepare(path, b)
            xml = self.idp.sign(self.spec(in_response_to=prepared.in_response_to))
            page = self.post(xml, prepared.relay_state, browser=b, note="control: genuine response")
            ok, probe = self.signed_in(browser=b, landing=page)
            detail = (
                "a genuine response signed the test user in"
                if ok
                else "a genuine response did NOT sign the test user in: "
                + self.seen(page, xml, probe).split("\nSAML Response sent")[0]
            )
        except (CheckFailure, BrowserError) as exc:
            ok, detail = False, f"the genuine sign-in could not run: {str(exc).splitlines()[0]}"
        except pytest.skip.Exception as exc:
            ok, detail = False, f"not available: {exc.msg}"
        result = Control(path, ok, detail)
        self.controls.results[path] = result
        self.transcript.note(f"Control ({path}-initiated): {detail}")
        return result

    def working_paths(self, prefer: tuple[PathName, ...] = ("idp", "sp")) -> list[PathName]:
        """The paths (in ``prefer`` order) on which a genuine response signs in; when there
        is none the check is inconclusive (a refusal would prove nothing)."""
        tried = [self.control(path) for path in self.paths(prefer)]
        working = [c.path for c in tried if c.ok]
        if working:
            return working
        raise inconclusive(
            "No genuine response signs in, so a refusal proves nothing",
            seen="\n".join(f"{PATH_TITLES[c.path]}: {c.detail}" for c in tried),
            expected="a genuine Okta response signs the test user in on at least one path "
            "(the control), so that refusing the hostile one means something",
            fix="Make saml.signs_in_with_idp_initiated_sso (or the SP-initiated sign-in) pass "
            "first; then run this check again.",
        )

    def prepare_checked(self, path: PathName, browser: Browser | None = None) -> Prepared:
        """:meth:`prepare` on a path whose control worked; a failure here is inconclusive."""
        try:
            return self.prepare(path, browser)
        except (CheckFailure, BrowserError) as exc:
            raise inconclusive(
                "The hostile response could not be prepared on a working path",
                seen=f"{PATH_TITLES[path]}: {str(exc).splitlines()[0]}",
                expected="the same preparation that let a genuine response sign in",
                fix="Make the app's sign-in start reliably; then run this check again.",
            ) from None

    def deliver(self, prepared: Prepared, xml: bytes, relay_state: str | None, note: str) -> Page:
        """POST the hostile response on the prepared path; undelivered is inconclusive."""
        try:
            return self.post(xml, relay_state, browser=prepared.browser, note=note)
        except BrowserError as exc:
            raise inconclusive(
                "The hostile response was not delivered",
                seen=str(exc),
                expected=f"the app's ACS {self.acs} receives the response and answers it",
                fix="Make sure the app is running and its ACS URL answers; then run again.",
            ) from None

    def probe_after(
        self,
        prepared: Prepared,
        user: Mapping[str, str] | None = None,
        landing: Page | None = None,
    ) -> tuple[bool, Page]:
        """Who is signed in on the prepared browser (``landing``: where the delivery just
        ended); an unreachable probe is inconclusive."""
        try:
            return self.signed_in(user, browser=prepared.browser, landing=landing)
        except BrowserError as exc:
            raise inconclusive(
                "The signed-in probe could not be read",
                seen=str(exc),
                expected=f"an answer from {self.ctx.url(self.probe.url)}",
                fix="Make sure the app is running and the probe URL answers; then run again.",
            ) from None

    def other_user(self, label: str) -> dict[str, str]:
        """A user the app has never seen (same e-mail domain as the test user)."""
        domain = self.user["email"].partition("@")[2] or "example.com"
        local = f"{label}.{self.ctx.run_id}.{self.ctx.rng(label).randrange(10**6)}"
        return {
            "username": f"{local}@{domain}",
            "email": f"{local}@{domain}",
            "first_name": label.capitalize(),
            "last_name": f"Tester{self.ctx.rng(label + 'n').randrange(10**4)}",
        }

    def with_canary(self, token: str) -> Kit:
        assert self.idp.canary is not None
        return replace(self.kit, canary_url=self.idp.canary.url(token))

    def seen(self, page: Page, xml: bytes | str, probe: Page | None = None) -> str:
        """What the app did with what we sent (for a failure)."""
        first = page.history[0][1] if page.history else page.status
        lines = [f"ACS answered HTTP {first}; the browser ended at {page.url} (HTTP {page.status})"]
        if page.blocked_redirect:
            lines.append(f"then redirected the browser off-site to {page.blocked_redirect}")
        if probe is not None:
            lines.append(
                f"signed-in probe {probe.url} -> HTTP {probe.status}: {excerpt(probe.text, 300)}"
            )
        body = brief(xml) if isinstance(xml, bytes) else xml
        lines.append(
            "SAML Response sent (decoded; signature values shortened, in full in the "
            "transcript):\n" + excerpt(body, XML_EXCERPT)
        )
        return "\n".join(lines)


def brief(xml: bytes) -> str:
    """The response for a human: a summary line, then the XML indented with SignedInfo
    collapsed and SignatureValue / certificates shortened."""
    text = pretty(xml)
    text = re.sub(
        r"<ds:SignedInfo>.*?</ds:SignedInfo>", "<ds:SignedInfo>…</ds:SignedInfo>", text, flags=re.S
    )
    text = re.sub(
        r"(<ds:(?:SignatureValue|X509Certificate)>)([^<]{24})[^<]*(</ds:)",
        lambda m: f"{m.group(1)}{m.group(2)}…{m.group(3)}",
        text,
    )
    return summary(xml) + "\n" + text


def summary(xml: bytes) -> str:
    """The facts an SP decides on, one line each."""
    try:
        root = etree.fromstring(
            xml, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        )
    except etree.XMLSyntaxError:
        return "(not well-formed XML)"
    a, ds = "{urn:oasis:names:tc:SAML:2.0:assertion}", "{http://www.w3.org/2000/09/xmldsig#}"
    out = [
        f"Response Destination={root.get('Destination')!r} "
        f"InResponseTo={root.get('InResponseTo')!r}"
    ]
    for asrt in root.iter(a + "Assertion"):
        nameid = asrt.find(f"{a}Subject/{a}NameID")
        scd = asrt.find(f".//{a}SubjectConfirmationData")
        cond = asrt.find(a + "Conditions")
        out.append(
            f"Assertion {asrt.get('ID')}: NameID="
            f"{''.join(nameid.itertext()) if nameid is not None else None!r} "
            f"Issuer={asrt.findtext(a + 'Issuer')!r} "
            f"Audience={asrt.findtext(f'.//{a}Audience')!r} "
            f"Recipient={scd.get('Recipient') if scd is not None else None!r} "
            f"NotBefore={cond.get('NotBefore') if cond is not None else None} "
            f"NotOnOrAfter={cond.get('NotOnOrAfter') if cond is not None else None}"
        )
    for sig in root.iter(ds + "Signature"):
        parent = sig.getparent()
        method = sig.find(f"{ds}SignedInfo/{ds}SignatureMethod")
        ref = sig.find(f"{ds}SignedInfo/{ds}Reference")
        out.append(
            f"Signature in {parent.tag.split('}')[-1] if parent is not None else '?'}: "
            f"{method.get('Algorithm') if method is not None else '?'} over "
            f"{ref.get('URI') if ref is not None else '?'}"
        )
    status = root.find(".//{urn:oasis:names:tc:SAML:2.0:protocol}StatusCode")
    out.append(f"Status {status.get('Value') if status is not None else None}")
    return "\n".join(out)


def same_place(url: str, expected: str) -> bool:
    a, b = urlsplit(url), urlsplit(expected)
    return (a.scheme, a.netloc, a.path.rstrip("/") or "/", a.query) == (
        b.scheme,
        b.netloc,
        b.path.rstrip("/") or "/",
        b.query,
    )
