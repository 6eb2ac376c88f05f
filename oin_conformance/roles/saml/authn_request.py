"""AuthnRequests from the app, read as Okta reads them: HTTP-Redirect (raw DEFLATE, bounded,
the query signature verified over the octets as received) and HTTP-POST (enveloped
signature); parsed with DTDs, entities and the network off."""

from __future__ import annotations

import base64
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import unquote, unquote_plus, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from signxml import SignatureConfiguration, XMLVerifier
from signxml.algorithms import (
    DigestAlgorithm,
    SignatureMethod,
)

from oin_conformance.roles.saml.common import (
    BINDING_POST,
    BINDING_REDIRECT,
    MAX_ENCODED,
    MAX_INFLATED,
    NS_DS,
    NS_MD,
    NS_SAML,
    NS_SAMLP,
    RSA_SHA1,
    RSA_SHA256,
    SamlError,
    pretty,
    safe_parse,
    wrap76,
)

if TYPE_CHECKING:
    pass


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
    return "-----BEGIN CERTIFICATE-----\n" + wrap76(body) + "\n-----END CERTIFICATE-----\n"


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
