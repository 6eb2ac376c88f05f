"""SAML names Okta uses (namespaces, statuses, bindings), the role's error, and small
helpers: IDs, times, safe parsing, pretty printing, certificate forms."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import secrets
from typing import TYPE_CHECKING, Any, Literal

from lxml import etree

if TYPE_CHECKING:
    pass


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


def wrap76(text: str) -> str:
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


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())[:30] or "app"
