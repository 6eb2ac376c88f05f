"""Okta's SAML Response: its content (:class:`ResponseSpec`), the XML Okta writes, element
by element, and its signature (RSA-SHA256 / SHA256 / exclusive c14n with ``PrefixList="xs"``
on the Reference transform, right after the Issuer of the signed element); the HTTP-POST
binding's form fields. Also what the same key signs besides a Response (a LogoutResponse,
:func:`sign_message`), and a hand-written signature whose SignedInfo Okta never writes
(:func:`sign_by_hand`: extra transforms, several References) for the attack catalogue."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree
from signxml import SignatureReference, XMLSigner, methods
from signxml.algorithms import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureMethod,
)

from oin_conformance.roles.saml.common import (
    AC_PPT,
    ATTRNAME_UNSPECIFIED,
    CM_BEARER,
    NAMEID_ENTITY,
    NS_DS,
    NS_EC,
    NS_SAML,
    NS_SAMLP,
    NS_XS,
    NS_XSI,
    RSA_SHA256,
    STATUS_SUCCESS,
    WINDOW,
    SignMode,
    b64,
    new_id,
    saml_time,
    utcnow,
    wrap76,
)

if TYPE_CHECKING:
    pass


# --- the response --------------------------------------------------------------------------


@dataclass(frozen=True)
class ResponseSpec:
    """Everything that varies between two Okta responses. ``None`` leaves an item out."""

    destination: str | None
    recipient: str
    audience: str
    issuer: str | None
    nameid: str
    nameid_format: str
    attributes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    in_response_to: str | None = None
    issue_instant: dt.datetime = field(default_factory=utcnow)
    not_before: dt.datetime | None = None
    not_on_or_after: dt.datetime | None = None
    scd_not_on_or_after: dt.datetime | None = None
    authn_instant: dt.datetime | None = None
    status: str = STATUS_SUCCESS
    response_id: str = field(default_factory=new_id)
    assertion_id: str = field(default_factory=new_id)
    session_index: str = ""
    authn_context: str = AC_PPT
    sign: SignMode = "both"
    sha1: bool = False
    prefix_list: bool = True
    bearer: bool = True

    def fresh(self) -> ResponseSpec:
        """The same content with new IDs and times (every case gets fresh IDs)."""
        return replace(
            self,
            response_id=new_id(),
            assertion_id=new_id(),
            issue_instant=utcnow(),
            not_before=None,
            not_on_or_after=None,
            scd_not_on_or_after=None,
            authn_instant=None,
            session_index="",
        )

    def shifted(self, delta: dt.timedelta) -> ResponseSpec:
        """Every time moved by ``delta`` (hours away for expired / not-yet-valid cases)."""
        t = self.issue_instant + delta
        return replace(
            self,
            issue_instant=t,
            not_before=t - WINDOW,
            not_on_or_after=t + WINDOW,
            scd_not_on_or_after=t + WINDOW,
            authn_instant=t,
        )


def build_response(spec: ResponseSpec) -> etree._Element:
    """The unsigned Response tree, with ``ds:Signature`` placeholders where it will be signed."""
    t = spec.issue_instant
    nb = spec.not_before or (t - WINDOW)
    nooa = spec.not_on_or_after or (t + WINDOW)
    scd = spec.scd_not_on_or_after or (t + WINDOW)
    p, a = f"{{{NS_SAMLP}}}", f"{{{NS_SAML}}}"

    resp = etree.Element(p + "Response", nsmap={"saml2p": NS_SAMLP, "xs": NS_XS})
    if spec.destination is not None:
        resp.set("Destination", spec.destination)
    resp.set("ID", spec.response_id)
    if spec.in_response_to:
        resp.set("InResponseTo", spec.in_response_to)
    resp.set("IssueInstant", saml_time(t))
    resp.set("Version", "2.0")
    if spec.issuer is not None:
        iss = etree.SubElement(resp, a + "Issuer", nsmap={"saml2": NS_SAML})
        iss.set("Format", NAMEID_ENTITY)
        iss.text = spec.issuer
    status = etree.SubElement(resp, p + "Status")
    code = etree.SubElement(status, p + "StatusCode")
    code.set("Value", spec.status)

    asrt = etree.SubElement(resp, a + "Assertion", nsmap={"saml2": NS_SAML, "xs": NS_XS})
    asrt.set("ID", spec.assertion_id)
    asrt.set("IssueInstant", saml_time(t))
    asrt.set("Version", "2.0")
    if spec.issuer is not None:
        iss = etree.SubElement(asrt, a + "Issuer")
        iss.set("Format", NAMEID_ENTITY)
        iss.text = spec.issuer
    subject = etree.SubElement(asrt, a + "Subject")
    nameid = etree.SubElement(subject, a + "NameID")
    nameid.set("Format", spec.nameid_format)
    nameid.text = spec.nameid
    if spec.bearer:
        sc = etree.SubElement(subject, a + "SubjectConfirmation")
        sc.set("Method", CM_BEARER)
        scd_el = etree.SubElement(sc, a + "SubjectConfirmationData")
        if spec.in_response_to:
            scd_el.set("InResponseTo", spec.in_response_to)
        scd_el.set("NotOnOrAfter", saml_time(scd))
        scd_el.set("Recipient", spec.recipient)
    cond = etree.SubElement(asrt, a + "Conditions")
    cond.set("NotBefore", saml_time(nb))
    cond.set("NotOnOrAfter", saml_time(nooa))
    ar = etree.SubElement(cond, a + "AudienceRestriction")
    etree.SubElement(ar, a + "Audience").text = spec.audience
    authn = etree.SubElement(asrt, a + "AuthnStatement")
    authn.set("AuthnInstant", saml_time(spec.authn_instant or t))
    authn.set(
        "SessionIndex",
        spec.session_index
        or spec.in_response_to
        or f"id{int(t.timestamp() * 1000)}.{secrets.randbelow(10**9)}",
    )
    ctx = etree.SubElement(authn, a + "AuthnContext")
    etree.SubElement(ctx, a + "AuthnContextClassRef").text = spec.authn_context
    if spec.attributes:
        stmt = etree.SubElement(asrt, a + "AttributeStatement")
        for name, values in spec.attributes:
            attr = etree.SubElement(stmt, a + "Attribute")
            attr.set("Name", name)
            attr.set("NameFormat", ATTRNAME_UNSPECIFIED)
            for value in values:
                av = etree.SubElement(
                    attr, a + "AttributeValue", nsmap={"xs": NS_XS, "xsi": NS_XSI}
                )
                av.set(f"{{{NS_XSI}}}type", "xs:string")
                av.text = value
    return resp


def _placeholder_after_issuer(element: etree._Element) -> None:
    ph = etree.Element(f"{{{NS_DS}}}Signature", nsmap={"ds": NS_DS})
    ph.set("Id", "placeholder")
    issuer = element.find(f"{{{NS_SAML}}}Issuer")
    element.insert(0 if issuer is None else element.index(issuer) + 1, ph)


class _Sha1Signer(XMLSigner):
    """signxml refuses SHA-1 by default; the advisory SHA-1 case needs it on purpose."""

    def check_deprecated_methods(self) -> None:
        return None


def _signer(sha1: bool, prefix_list: bool, hmac: bool = False) -> XMLSigner:
    cls = _Sha1Signer if sha1 else XMLSigner
    method = SignatureMethod.RSA_SHA1 if sha1 else SignatureMethod.RSA_SHA256
    signer = cls(
        method=methods.enveloped,
        signature_algorithm=SignatureMethod.HMAC_SHA256 if hmac else method,
        digest_algorithm=DigestAlgorithm.SHA1 if sha1 else DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    if prefix_list:
        # signxml digests with the per-reference prefixes but never writes them into the
        # enveloped Reference's transform (signxml issue #163); Okta writes them there.
        signer.signature_annotators.append(_annotate_prefix_list)
    return signer


def _annotate_prefix_list(sig_root: etree._Element, signing_settings: Any) -> None:
    for xform in sig_root.iterfind(
        f".//{{{NS_DS}}}Reference/{{{NS_DS}}}Transforms/{{{NS_DS}}}Transform"
    ):
        if xform.get("Algorithm") == NS_EC:
            if xform.find(f"{{{NS_EC}}}InclusiveNamespaces") is None:
                incl = etree.SubElement(
                    xform, f"{{{NS_EC}}}InclusiveNamespaces", nsmap={"ec": NS_EC}
                )
                incl.set("PrefixList", "xs")


def _sign_element(
    root: etree._Element,
    element_id: str,
    key: str | rsa.RSAPrivateKey,
    cert: str | list[x509.Certificate] | None,
    sha1: bool,
    prefix_list: bool,
    hmac_key: bytes | None = None,
) -> etree._Element:
    ref = SignatureReference(
        URI=f"#{element_id}", inclusive_ns_prefixes=["xs"] if prefix_list else None
    )
    signer = _signer(sha1, prefix_list, hmac=hmac_key is not None)
    if hmac_key is not None:
        signed: etree._Element = signer.sign(root, key=hmac_key, reference_uri=[ref])
    else:
        signed = signer.sign(root, key=key, cert=cert, reference_uri=[ref])
    # signxml writes the certificate on one line; Okta wraps it at 76 characters. Only the
    # signatures' own: a certificate in signed content (metadata's KeyDescriptor) stays.
    for cert_el in signed.iterfind(f".//{{{NS_DS}}}Signature//{{{NS_DS}}}X509Certificate"):
        if cert_el.text and "\n" not in cert_el.text:
            cert_el.text = wrap76(cert_el.text)
    return signed


def sign_response(
    root: etree._Element,
    mode: SignMode,
    key: str | rsa.RSAPrivateKey,
    cert: str | list[x509.Certificate] | None,
    *,
    sha1: bool = False,
    prefix_list: bool = True,
    hmac_key: bytes | None = None,
) -> bytes:
    """Sign the assertion, then the response, as ``mode`` says; the serialised bytes.

    ``key`` and ``cert`` may be PEM text or loaded objects; pass loaded ones where the same
    key signs often (loading an RSA PEM key costs about a hundred signatures).
    The X509Certificate inside the signature is not part of any digest, so wrapping it is
    safe. ``hmac_key`` signs with HMAC-SHA256 instead (only for the algorithm-confusion
    attack; Okta never does). Without ``cert`` the KeyInfo carries the public key itself
    (``ds:KeyValue``), which Okta never sends either.
    """
    if mode in ("assertion", "both"):
        asrt = root.find(f"{{{NS_SAML}}}Assertion")
        assert asrt is not None
        _placeholder_after_issuer(asrt)
        root = _sign_element(root, asrt.get("ID", ""), key, cert, sha1, prefix_list, hmac_key)
    if mode in ("response", "both"):
        _placeholder_after_issuer(root)
        root = _sign_element(root, root.get("ID", ""), key, cert, sha1, prefix_list, hmac_key)
    return etree.tostring(root)


def build_logout_response(
    *,
    issuer: str,
    destination: str,
    in_response_to: str,
    response_id: str | None = None,
    issue_instant: dt.datetime | None = None,
) -> etree._Element:
    """The unsigned LogoutResponse Okta sends back to an SP's LogoutRequest (Success)."""
    p, a = f"{{{NS_SAMLP}}}", f"{{{NS_SAML}}}"
    root = etree.Element(p + "LogoutResponse", nsmap={"saml2p": NS_SAMLP})
    root.set("Destination", destination)
    root.set("ID", response_id or new_id())
    root.set("InResponseTo", in_response_to)
    root.set("IssueInstant", saml_time(issue_instant or utcnow()))
    root.set("Version", "2.0")
    iss = etree.SubElement(root, a + "Issuer", nsmap={"saml2": NS_SAML})
    iss.set("Format", NAMEID_ENTITY)
    iss.text = issuer
    status = etree.SubElement(root, p + "Status")
    etree.SubElement(status, p + "StatusCode").set("Value", STATUS_SUCCESS)
    return root


def sign_message(
    root: etree._Element, key: str | rsa.RSAPrivateKey, cert: str | list[x509.Certificate]
) -> bytes:
    """``root`` (a SAML message or a metadata document, by its ``ID``) signed as Okta signs
    a Response: enveloped, right after its Issuer (or first when it has none)."""
    root = _reparsed(root)
    _placeholder_after_issuer(root)
    return etree.tostring(_sign_element(root, root.get("ID", ""), key, cert, False, False))


@dataclass(frozen=True)
class ExtraTransform:
    """A Reference transform Okta never writes, placed between the enveloped-signature and
    the exclusive c14n transform: its ``ds:Transform`` element, and what it does to the
    signed element before canonicalization (``effect`` changes a private copy in place)."""

    element: etree._Element
    effect: Callable[[etree._Element], None] = field(default=lambda el: None, repr=False)


def _reparsed(root: etree._Element) -> etree._Element:
    """A parsed copy (lxml's c14n of a tree built in memory can differ from the same tree
    parsed: namespace declarations it moved are not rendered)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.fromstring(etree.tostring(root), parser=parser)


def _by_id(root: etree._Element, element_id: str) -> etree._Element:
    for el in root.iter():
        if el.get("ID") == element_id:
            return el
    raise ValueError(f"no element with ID {element_id!r}")


def sign_by_hand(
    root: etree._Element,
    element_id: str,
    key: rsa.RSAPrivateKey,
    cert_b64: str,
    *,
    transforms: Sequence[ExtraTransform] = (),
    references: int = 1,
) -> etree._Element:
    """A copy of ``root`` whose element ``element_id`` is signed (RSA-SHA256, SHA-256,
    exclusive c14n with ``PrefixList="xs"``) by a SignedInfo written by hand: ``transforms``
    between enveloped-signature and exclusive c14n in each Reference, and ``references``
    identical References to the element. Okta writes one Reference with the two standard
    transforms; this exists for the attack catalogue only."""
    ds, ec = f"{{{NS_DS}}}", f"{{{NS_EC}}}"
    work = _reparsed(root)
    target = _by_id(work, element_id)
    for transform in transforms:
        transform.effect(target)
    canonical_target = etree.tostring(
        target, method="c14n", exclusive=True, with_comments=False, inclusive_ns_prefixes=["xs"]
    )
    digest = base64.b64encode(hashlib.sha256(canonical_target).digest()).decode()

    sig = etree.Element(ds + "Signature", nsmap={"ds": NS_DS})
    info = etree.SubElement(sig, ds + "SignedInfo")
    etree.SubElement(info, ds + "CanonicalizationMethod").set("Algorithm", NS_EC)
    etree.SubElement(info, ds + "SignatureMethod").set("Algorithm", RSA_SHA256)
    for _ in range(references):
        ref = etree.SubElement(info, ds + "Reference")
        ref.set("URI", f"#{element_id}")
        chain = etree.SubElement(ref, ds + "Transforms")
        etree.SubElement(chain, ds + "Transform").set("Algorithm", f"{NS_DS}enveloped-signature")
        for transform in transforms:
            chain.append(etree.fromstring(etree.tostring(transform.element)))
        exc = etree.SubElement(chain, ds + "Transform")
        exc.set("Algorithm", NS_EC)
        etree.SubElement(exc, ec + "InclusiveNamespaces", nsmap={"ec": NS_EC}).set(
            "PrefixList", "xs"
        )
        etree.SubElement(ref, ds + "DigestMethod").set(
            "Algorithm", "http://www.w3.org/2001/04/xmlenc#sha256"
        )
        etree.SubElement(ref, ds + "DigestValue").text = digest
    etree.SubElement(sig, ds + "SignatureValue")
    x509_data = etree.SubElement(etree.SubElement(sig, ds + "KeyInfo"), ds + "X509Data")
    etree.SubElement(x509_data, ds + "X509Certificate").text = wrap76(cert_b64)

    signed = _reparsed(root)
    element = _by_id(signed, element_id)
    issuer = element.find(f"{{{NS_SAML}}}Issuer")
    element.insert(0 if issuer is None else element.index(issuer) + 1, sig)
    signed = _reparsed(signed)
    info = next(s for s in _by_id(signed, element_id).iterchildren(ds + "Signature")).find(
        ds + "SignedInfo"
    )
    assert info is not None
    canonical = etree.tostring(info, method="c14n", exclusive=True, with_comments=False)
    value = key.sign(canonical, padding.PKCS1v15(), hashes.SHA256())
    sig_value = info.getnext()
    assert sig_value is not None
    sig_value.text = base64.b64encode(value).decode()
    return signed


def post_fields(response: bytes, relay_state: str | None = None) -> dict[str, str]:
    """The HTTP-POST binding's form fields (base64, no DEFLATE)."""
    fields = {"SAMLResponse": b64(response)}
    if relay_state:
        fields["RelayState"] = relay_state
    return fields
