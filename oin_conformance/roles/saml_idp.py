"""Okta as a SAML 2.0 identity provider: identity, metadata, signed responses, AuthnRequests.

Everything here is plain Python (no pytest) and follows what Okta sends, element by element
(``shared/reference/saml.md`` §1): ``saml2p:``/``saml2:``/``ds:``/``ec:`` prefixes, ``id`` +
digits IDs, Issuer ``http://www.okta.com/exk…``, ±5 minute Conditions, bearer
SubjectConfirmation with Recipient, AuthnStatement with SessionIndex, ``xs:string`` attribute
values, RSA-SHA256 / SHA256 / exclusive c14n with ``PrefixList="xs"`` on the Reference
transform, signature right after the Issuer of the signed element.

How the browser reaches the IdP. The SSO URL is on an origin no browser can fetch
(``https://oin-conformance.okta.invalid/app/<app>/<exk…>/sso/saml``; ``.invalid`` never
resolves, RFC 6761), so it is stable across runs and the ISV configures it once. The harness's
browser never follows a redirect to an origin it was not told about: an HTTP-Redirect
AuthnRequest arrives as the blocked redirect's URL (``Page.blocked_redirect``), an HTTP-POST
AuthnRequest as the auto-posting form the browser did not submit. Both are read here with
:func:`read_redirect_request` / :func:`read_post_request`. A loopback server of ours exists only
for the DTD/XXE canary (:class:`Canary`).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import secrets
import threading
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, unquote_plus, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree
from signxml import SignatureConfiguration, SignatureReference, XMLSigner, XMLVerifier, methods
from signxml.algorithms import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureMethod,
)

from oin_conformance.state import KeyPair

if TYPE_CHECKING:
    from oin_conformance.roles.serve import ServedApp

NS_SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
NS_SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
NS_DS = "http://www.w3.org/2000/09/xmldsig#"
NS_EC = "http://www.w3.org/2001/10/xml-exc-c14n#"
NS_XS = "http://www.w3.org/2001/XMLSchema"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"
NS_MD = "urn:oasis:names:tc:SAML:2.0:metadata"
NSMAP = {"saml2p": NS_SAMLP, "saml2": NS_SAML, "ds": NS_DS, "ec": NS_EC, "md": NS_MD}

STATUS_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
STATUS_REQUESTER = "urn:oasis:names:tc:SAML:2.0:status:Requester"
NAMEID_ENTITY = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
CM_BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
AC_PPT = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
ATTRNAME_UNSPECIFIED = "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified"
BINDING_POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
BINDING_REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
SSO_HOST = "https://oin-conformance.okta.invalid"
#: Okta's ±5 minute windows (reference §1.4, §1.5).
WINDOW = dt.timedelta(minutes=5)
#: Limits for what an app sends us (AuthnRequests): encoded size and inflated size.
MAX_ENCODED = 64 * 1024
MAX_INFLATED = 256 * 1024

SignMode = Literal["response", "assertion", "both", "none"]


class SamlError(Exception):
    """A SAML message from the app could not be read (say why, for the report)."""


# --- small helpers -------------------------------------------------------------------------


def new_id(rng: Any = None) -> str:
    """An Okta-style ID: ``id`` followed by 25 decimal digits."""
    number = rng.randrange(10**25) if rng is not None else secrets.randbelow(10**25)
    return f"id{number:025d}"


def saml_time(value: dt.datetime) -> str:
    """UTC with milliseconds and ``Z`` (``2023-02-27T17:41:53.505Z``), as Okta writes it."""
    value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def safe_parse(data: bytes | str) -> etree._Element:
    """Parse XML from an app: no DTD, no entities, no network, no huge trees.

    lxml keeps unresolved entity references as ``_Entity`` nodes instead of failing, so a
    document type declaration or any entity reference is refused explicitly.
    """
    raw = data.encode() if isinstance(data, str) else data
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        dtd_validation=False,
    )
    try:
        root = etree.fromstring(raw, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise SamlError(f"not well-formed XML: {exc}") from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise SamlError("the XML carries a document type declaration (DTD); refused")
    if any(isinstance(node, etree._Entity) for node in root.iter()):
        raise SamlError("the XML carries entity references; refused")
    return root


def pretty(xml: bytes | str) -> str:
    """The document indented for a human (for the report; never for signing)."""
    raw = xml.encode() if isinstance(xml, str) else xml
    if b"<!DOCTYPE" in raw[:4096]:
        return raw.decode("utf-8", "replace")  # exactly as sent: re-serialising drops the DTD
    try:
        root = etree.fromstring(
            raw, parser=etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        )
    except etree.XMLSyntaxError:
        return raw.decode("utf-8", "replace")
    return str(etree.tostring(root, pretty_print=True).decode())


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def cert_b64(cert_pem: str) -> str:
    return "".join(line for line in cert_pem.strip().splitlines() if not line.startswith("-----"))


def _wrap76(text: str) -> str:
    return "\n".join(text[i : i + 76] for i in range(0, len(text), 76))


def external_key(cert_pem: str) -> str:
    """A stable Okta-like app instance key (``exk`` + 17 characters) derived from the cert."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    number = int.from_bytes(hashlib.sha256(cert_pem.encode()).digest(), "big")
    chars = []
    for _ in range(17):
        number, rem = divmod(number, 62)
        chars.append(alphabet[rem])
    return "exk" + "".join(chars)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())[:30] or "app"


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
    cert: str | list[x509.Certificate],
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
    # signxml writes the certificate on one line; Okta wraps it at 76 characters.
    for cert_el in signed.iter(f"{{{NS_DS}}}X509Certificate"):
        if cert_el.text and "\n" not in cert_el.text:
            cert_el.text = _wrap76(cert_el.text)
    return signed


def sign_response(
    root: etree._Element,
    mode: SignMode,
    key: str | rsa.RSAPrivateKey,
    cert: str | list[x509.Certificate],
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
    attack; Okta never does).
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


# --- AuthnRequests from the app ------------------------------------------------------------


@dataclass
class AuthnRequest:
    """An AuthnRequest as received (what the app sent, and what we made of it)."""

    binding: str
    xml: str
    id: str
    version: str
    issue_instant: str
    destination: str | None
    issuer: str | None
    acs_url: str | None
    protocol_binding: str | None
    nameid_format: str | None
    force_authn: bool
    is_passive: bool
    relay_state: str | None
    signed: bool
    signature_valid: bool | None = None
    sig_alg: str | None = None
    problems: list[str] = field(default_factory=list)


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj(-15)
    try:
        out = inflater.decompress(data, MAX_INFLATED)
    except zlib.error as exc:
        raise SamlError(f"SAMLRequest is not raw DEFLATE data: {exc}") from None
    if inflater.unconsumed_tail:
        raise SamlError(f"SAMLRequest inflates to more than {MAX_INFLATED} bytes; refused")
    return out


def _b64decode(value: str, what: str) -> bytes:
    if len(value) > MAX_ENCODED:
        raise SamlError(f"{what} is longer than {MAX_ENCODED} characters; refused")
    try:
        return base64.b64decode(value.replace(" ", "+").strip(), validate=False)
    except ValueError:
        raise SamlError(f"{what} is not base64") from None


def _raw_query_params(query: str) -> list[tuple[str, str]]:
    """Query parameters with their values exactly as they arrived (still URL-encoded)."""
    pairs = []
    for part in query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append((unquote_plus(name), value))
    return pairs


def _verify_rsa(cert_pem: str, data: bytes, signature: bytes, sig_alg: str) -> bool:
    algs: dict[str, hashes.HashAlgorithm] = {RSA_SHA256: hashes.SHA256(), RSA_SHA1: hashes.SHA1()}  # noqa: S303
    algorithm = algs.get(sig_alg)
    if algorithm is None:
        raise SamlError(f"unsupported SigAlg {sig_alg!r}")
    key = x509.load_pem_x509_certificate(_as_pem(cert_pem).encode()).public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SamlError("the SP signing certificate does not hold an RSA key")
    try:
        key.verify(signature, data, padding.PKCS1v15(), algorithm)
    except InvalidSignature:
        return False
    return True


def _as_pem(cert: str) -> str:
    if "BEGIN CERTIFICATE" in cert:
        return cert
    body = re.sub(r"\s+", "", cert)
    return "-----BEGIN CERTIFICATE-----\n" + _wrap76(body) + "\n-----END CERTIFICATE-----\n"


def read_redirect_request(url: str, sp_certs: Sequence[str] = ()) -> AuthnRequest:
    """An AuthnRequest sent with the HTTP-Redirect binding (the URL the app redirected to).

    The query signature, if any, is verified over ``SAMLRequest=…&RelayState=…&SigAlg=…``
    built from the octets exactly as received (re-encoding is not canonical).
    """
    query = urlsplit(url).query
    raw = dict(_raw_query_params(query))
    if "SAMLRequest" not in raw:
        raise SamlError("the redirect carries no SAMLRequest parameter")
    xml = _inflate(_b64decode(unquote(raw["SAMLRequest"]).replace(" ", "+"), "SAMLRequest"))
    relay = unquote_plus(raw["RelayState"]) if "RelayState" in raw else None
    req = _parse_authn_request(xml, BINDING_REDIRECT, relay)
    if "Signature" in raw:
        req.signed = True
        sig_alg = unquote_plus(raw.get("SigAlg", ""))
        req.sig_alg = sig_alg
        signed_octets = "SAMLRequest=" + raw["SAMLRequest"]
        if "RelayState" in raw:
            signed_octets += "&RelayState=" + raw["RelayState"]
        signed_octets += "&SigAlg=" + raw.get("SigAlg", "")
        signature = _b64decode(unquote_plus(raw["Signature"]), "Signature")
        if sp_certs:
            req.signature_valid = any(
                _verify_rsa(c, signed_octets.encode(), signature, sig_alg) for c in sp_certs
            )
    return req


def read_post_request(fields: Mapping[str, str], sp_certs: Sequence[str] = ()) -> AuthnRequest:
    """An AuthnRequest sent with the HTTP-POST binding (the form fields the app posted)."""
    if "SAMLRequest" not in fields:
        raise SamlError("the form carries no SAMLRequest field")
    xml = _b64decode(fields["SAMLRequest"], "SAMLRequest")
    if len(xml) > MAX_INFLATED:
        raise SamlError("SAMLRequest is too large; refused")
    req = _parse_authn_request(xml, BINDING_POST, fields.get("RelayState"))
    if req.signed:
        method = safe_parse(xml).find(
            f"{{{NS_DS}}}Signature/{{{NS_DS}}}SignedInfo/{{{NS_DS}}}SignatureMethod"
        )
        req.sig_alg = method.get("Algorithm") if method is not None else None
    if req.signed and sp_certs:
        # Verify SHA-1 too: whether the algorithm is acceptable is a separate question.
        config = SignatureConfiguration(
            signature_methods=frozenset(SignatureMethod),
            digest_algorithms=frozenset(DigestAlgorithm),
            expect_references=1,
        )
        valid = False
        for cert in sp_certs:
            try:
                XMLVerifier().verify(xml, x509_cert=_as_pem(cert), expect_config=config)
                valid = True
                break
            except Exception:  # noqa: BLE001, S112 - any verification problem means "not valid"
                continue
        req.signature_valid = valid
    return req


def _parse_authn_request(xml: bytes, binding: str, relay: str | None) -> AuthnRequest:
    root = safe_parse(xml)
    if root.tag != f"{{{NS_SAMLP}}}AuthnRequest":
        raise SamlError(f"expected samlp:AuthnRequest, got {root.tag}")
    issuer = root.find(f"{{{NS_SAML}}}Issuer")
    policy = root.find(f"{{{NS_SAMLP}}}NameIDPolicy")
    return AuthnRequest(
        binding=binding,
        xml=pretty(xml),
        id=root.get("ID", ""),
        version=root.get("Version", ""),
        issue_instant=root.get("IssueInstant", ""),
        destination=root.get("Destination"),
        issuer=(issuer.text or "").strip() if issuer is not None else None,
        acs_url=root.get("AssertionConsumerServiceURL"),
        protocol_binding=root.get("ProtocolBinding"),
        nameid_format=policy.get("Format") if policy is not None else None,
        force_authn=root.get("ForceAuthn", "false").lower() in ("true", "1"),
        is_passive=root.get("IsPassive", "false").lower() in ("true", "1"),
        relay_state=relay,
        signed=root.find(f"{{{NS_DS}}}Signature") is not None,
    )


def sp_certs_from_metadata(xml: bytes | str) -> list[str]:
    """The SP's signing certificates (base64 DER) from its metadata."""
    root = safe_parse(xml)
    certs: list[str] = []
    for kd in root.iter(f"{{{NS_MD}}}KeyDescriptor"):
        if kd.get("use", "signing") != "signing":
            continue
        for c in kd.iter(f"{{{NS_DS}}}X509Certificate"):
            if c.text:
                certs.append(re.sub(r"\s+", "", c.text))
    return certs


# --- the canary (DTD / XXE) ----------------------------------------------------------------


class Canary:
    """A loopback server that records every request: proof that an app fetched a URL."""

    def __init__(self) -> None:
        from oin_conformance.roles.serve import ServedApp

        self._lock = threading.Lock()
        self.hits: list[str] = []
        self.server: ServedApp = ServedApp(self._wsgi)

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with self._lock:
            self.hits.append(environ.get("PATH_INFO", ""))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"canary"]

    def url(self, token: str) -> str:
        return f"{self.server.url}/canary/{token}"

    def was_hit(self, token: str) -> bool:
        with self._lock:
            return any(token in h for h in self.hits)

    def stop(self) -> None:
        self.server.stop()


# --- the IdP -------------------------------------------------------------------------------


@dataclass
class SamlIdp:
    """Okta's identity provider for one app instance."""

    keypair: KeyPair
    entity_id: str
    sso_url: str
    canary: Canary | None = None

    @classmethod
    def create(cls, keypair: KeyPair, app_name: str, entity_id: str = "") -> SamlIdp:
        exk = external_key(keypair.cert_pem)
        entity = entity_id or f"http://www.okta.com/{exk}"
        sso = f"{SSO_HOST}/app/oinconformance_{_slug(app_name)}_1/{exk}/sso/saml"
        return cls(keypair=keypair, entity_id=entity, sso_url=sso)

    @property
    def cert_pem(self) -> str:
        return self.keypair.cert_pem

    def metadata_xml(self) -> str:
        """IdP metadata shaped like Okta's (unsigned, same Location for POST and Redirect)."""
        md = f"{{{NS_MD}}}"
        root = etree.Element(md + "EntityDescriptor", nsmap={"md": NS_MD})
        root.set("entityID", self.entity_id)
        idp = etree.SubElement(root, md + "IDPSSODescriptor")
        idp.set("WantAuthnRequestsSigned", "false")
        idp.set("protocolSupportEnumeration", NS_SAMLP)
        kd = etree.SubElement(idp, md + "KeyDescriptor")
        kd.set("use", "signing")
        ki = etree.SubElement(kd, f"{{{NS_DS}}}KeyInfo", nsmap={"ds": NS_DS})
        x5 = etree.SubElement(ki, f"{{{NS_DS}}}X509Data")
        etree.SubElement(x5, f"{{{NS_DS}}}X509Certificate").text = self.keypair.cert_b64
        for fmt in (
            "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
            "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
        ):
            etree.SubElement(idp, md + "NameIDFormat").text = fmt
        for binding in (BINDING_POST, BINDING_REDIRECT):
            sso = etree.SubElement(idp, md + "SingleSignOnService")
            sso.set("Binding", binding)
            sso.set("Location", self.sso_url)
        return etree.tostring(
            root, pretty_print=True, xml_declaration=True, encoding="UTF-8"
        ).decode()

    def sign(self, spec: ResponseSpec, key: KeyPair | None = None) -> bytes:
        """The response for ``spec``, signed as ``spec.sign`` says (by default with our key)."""
        root = build_response(spec)
        if spec.sign == "none":
            return etree.tostring(root)
        pair = key or self.keypair
        return sign_response(
            root,
            spec.sign,
            pair.private_key,
            [pair.certificate],
            sha1=spec.sha1,
            prefix_list=spec.prefix_list,
        )

    def spec(
        self,
        *,
        acs_url: str,
        audience: str,
        nameid: str,
        nameid_format: str,
        attributes: Mapping[str, Sequence[str]] | None = None,
        in_response_to: str | None = None,
        sign: SignMode = "both",
    ) -> ResponseSpec:
        """An Okta response's content for a user signing in to the app at ``acs_url``."""
        return ResponseSpec(
            destination=acs_url,
            recipient=acs_url,
            audience=audience,
            issuer=self.entity_id,
            nameid=nameid,
            nameid_format=nameid_format,
            attributes=tuple((k, tuple(v)) for k, v in (attributes or {}).items()),
            in_response_to=in_response_to,
            sign=sign,
        )


def post_fields(response: bytes, relay_state: str | None = None) -> dict[str, str]:
    """The HTTP-POST binding's form fields (base64, no DEFLATE)."""
    fields = {"SAMLResponse": b64(response)}
    if relay_state:
        fields["RelayState"] = relay_state
    return fields


# --- for the command line ----------------------------------------------------------------


def idp_metadata(target: Any, state: Any) -> str:
    """The IdP metadata XML for ``oin-conformance idp-metadata --target FILE``."""
    if target.saml is None:
        raise SamlError("the target has no [saml] section")
    pair = state.keypair("idp", "oin-conformance Okta IdP")
    return SamlIdp.create(pair, target.app.name, target.saml.idp_entity_id).metadata_xml()


__all__ = [
    "AuthnRequest",
    "Canary",
    "ResponseSpec",
    "SamlError",
    "SamlIdp",
    "build_response",
    "idp_metadata",
    "post_fields",
    "pretty",
    "read_post_request",
    "read_redirect_request",
    "safe_parse",
    "sign_response",
    "sp_certs_from_metadata",
]
