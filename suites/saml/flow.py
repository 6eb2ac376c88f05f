"""What every SAML check does: build Okta's response, post it as the browser, ask who is in."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from lxml import etree

from oin_conformance.attacks.saml import Kit
from oin_conformance.roles.browser import Browser, Page
from oin_conformance.roles.probe import signed_in_as
from oin_conformance.roles.saml_idp import ResponseSpec, SamlIdp, post_fields, pretty
from oin_conformance.runtime import RunContext
from oin_conformance.target import SamlTarget, SignedInProbe
from oin_conformance.transcript import Transcript

#: How much decoded XML a failure's "seen" text quotes (the transcript has all of it).
XML_EXCERPT = 2500


def excerpt(text: str, limit: int = 600) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + " …"


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
        self, user: Mapping[str, str] | None = None, *, browser: Browser | None = None
    ) -> tuple[bool, Page]:
        return signed_in_as(
            browser or self.browser, self.ctx.url, self.probe, dict(user or self.user)
        )

    def new_browser(self) -> Browser:
        """A second browser (fresh cookie jar) recording into the same transcript."""
        b = Browser(self.transcript, allowed_origins=[self.ctx.app_url], timeout=self.ctx.timeout)
        self.ctx.on_close(b.close)
        return b

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
