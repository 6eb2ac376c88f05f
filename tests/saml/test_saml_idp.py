"""Unit tests of the Okta IdP role and the SAML attack mutators (no plugin): response shape,
signatures verified by real SPs (python3-saml, pysaml2, signxml), metadata, AuthnRequest
intake, and what every mutator does to a genuine response."""

from __future__ import annotations

import base64
import datetime as dt
import re
import shutil
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from onelogin.saml2.response import OneLogin_Saml2_Response
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from onelogin.saml2.utils import OneLogin_Saml2_Utils
from signxml import XMLVerifier

from oin_conformance.attacks import saml as attacks
from oin_conformance.roles import saml as saml_idp
from oin_conformance.roles.saml import (
    NS_DS,
    NS_MD,
    NS_SAML,
    NS_SAMLP,
    ResponseSpec,
    SamlError,
    SamlIdp,
    read_post_request,
    read_redirect_request,
)
from oin_conformance.state import KeyPair, StateFolder, generate_keypair
from oin_conformance.target import load

ACS = "http://127.0.0.1:5000/saml/acs"
AUDIENCE = "https://acme.example/saml/metadata"
UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
A, P, DS = f"{{{NS_SAML}}}", f"{{{NS_SAMLP}}}", f"{{{NS_DS}}}"
HAVE_XMLSEC1 = shutil.which("xmlsec1") is not None


@pytest.fixture(scope="module")
def idp() -> SamlIdp:
    return SamlIdp.create(generate_keypair("test idp"), "Acme Reference App")


@pytest.fixture(scope="module")
def sp_keys() -> KeyPair:
    return generate_keypair("test sp")


@pytest.fixture(scope="module")
def kit(idp: SamlIdp) -> attacks.Kit:
    return attacks.Kit.create(
        idp,
        victim="ada@example.com",
        attacker="mallory@example.com",
        canary_url="http://127.0.0.1:9/canary/t",
    )


def spec(idp: SamlIdp, sign: Any = "both", **kw: Any) -> ResponseSpec:
    return idp.spec(
        acs_url=ACS,
        audience=AUDIENCE,
        nameid="ada@example.com",
        nameid_format=UNSPECIFIED,
        attributes={"firstName": ["Ada"], "groups": ["Everyone", "okta-admin"]},
        sign=sign,
        **kw,
    )


def p3_settings(idp: SamlIdp, sp_keys: KeyPair | None = None) -> OneLogin_Saml2_Settings:
    sp: dict[str, Any] = {
        "entityId": AUDIENCE,
        "assertionConsumerService": {"url": ACS},
    }
    if sp_keys is not None:
        sp.update(x509cert=sp_keys.cert_b64, privateKey=sp_keys.key_pem)
    return OneLogin_Saml2_Settings(
        {
            "strict": True,
            "sp": sp,
            "idp": {
                "entityId": idp.entity_id,
                "singleSignOnService": {"url": idp.sso_url},
                "x509cert": idp.keypair.cert_b64,
            },
            "security": {
                "rejectDeprecatedAlgorithm": True,
                "authnRequestsSigned": sp_keys is not None,
            },
        },
        sp_validation_only=sp_keys is None,
    )


REQUEST_DATA = {
    "https": "off",
    "http_host": "127.0.0.1:5000",
    "script_name": "/saml/acs",
}


def python3_saml_accepts(idp: SamlIdp, xml: bytes) -> tuple[bool, str | None]:
    resp = OneLogin_Saml2_Response(p3_settings(idp), base64.b64encode(xml).decode())
    return resp.is_valid(REQUEST_DATA), resp.get_error()


# --- the response -------------------------------------------------------------------------


def test_response_has_okta_shape(idp: SamlIdp) -> None:
    s = spec(idp)
    root = etree.fromstring(idp.sign(s))
    assert root.tag == P + "Response" and root.prefix == "saml2p"
    assert [c.tag for c in root] == [A + "Issuer", DS + "Signature", P + "Status", A + "Assertion"]
    assert re.fullmatch(r"id\d{25}", root.get("ID", ""))
    assert list(root.attrib) == ["Destination", "ID", "IssueInstant", "Version"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", root.get("IssueInstant", ""))
    assert root.get("Destination") == ACS and "InResponseTo" not in root.attrib
    issuer = root.find(A + "Issuer")
    assert issuer is not None and issuer.prefix == "saml2"
    assert issuer.get("Format") == "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
    assert re.fullmatch(r"http://www\.okta\.com/exk[0-9A-Za-z]{17}", issuer.text or "")
    asrt = root.find(A + "Assertion")
    assert asrt is not None and asrt.get("ID") != root.get("ID")
    assert [c.tag.split("}")[1] for c in asrt] == [
        "Issuer",
        "Signature",
        "Subject",
        "Conditions",
        "AuthnStatement",
        "AttributeStatement",
    ]
    scd = asrt.find(f"{A}Subject/{A}SubjectConfirmation/{A}SubjectConfirmationData")
    assert scd is not None and list(scd.attrib) == ["NotOnOrAfter", "Recipient"]
    cond = asrt.find(A + "Conditions")
    assert cond is not None
    nb = dt.datetime.fromisoformat(cond.get("NotBefore", "").replace("Z", "+00:00"))
    na = dt.datetime.fromisoformat(cond.get("NotOnOrAfter", "").replace("Z", "+00:00"))
    assert na - nb == dt.timedelta(minutes=10)
    authn = asrt.find(A + "AuthnStatement")
    assert authn is not None and re.fullmatch(r"id\d+\.\d+", authn.get("SessionIndex", ""))
    values = asrt.findall(f".//{A}AttributeValue")
    assert [v.text for v in values] == ["Ada", "Everyone", "okta-admin"]
    assert all(
        v.get("{http://www.w3.org/2001/XMLSchema-instance}type") == "xs:string" for v in values
    )


def test_sp_initiated_response_answers_the_request(idp: SamlIdp) -> None:
    root = etree.fromstring(idp.sign(spec(idp, in_response_to="ONELOGIN_abc")))
    assert root.get("InResponseTo") == "ONELOGIN_abc"
    assert root.find(f".//{A}SubjectConfirmationData").get("InResponseTo") == "ONELOGIN_abc"
    assert root.find(f".//{A}AuthnStatement").get("SessionIndex") == "ONELOGIN_abc"


@pytest.mark.parametrize(
    ("sign", "signed"),
    [("both", {"Response", "Assertion"}), ("response", {"Response"}), ("assertion", {"Assertion"})],
)
def test_signatures_follow_the_issuer_with_okta_algorithms(
    idp: SamlIdp, sign: Any, signed: set[str]
) -> None:
    root = etree.fromstring(idp.sign(spec(idp, sign)))
    found = set()
    for sig in root.iter(DS + "Signature"):
        parent = sig.getparent()
        assert parent is not None
        assert sig.getprevious() is not None and sig.getprevious().tag == A + "Issuer"
        found.add(parent.tag.split("}")[1])
        ref = sig.find(f"{DS}SignedInfo/{DS}Reference")
        assert ref is not None and ref.get("URI") == "#" + parent.get("ID", "")
        algs = [e.get("Algorithm") for e in sig.iter() if e.get("Algorithm")]
        assert algs == [
            "http://www.w3.org/2001/10/xml-exc-c14n#",
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
            "http://www.w3.org/2001/10/xml-exc-c14n#",
            "http://www.w3.org/2001/04/xmlenc#sha256",
        ]
        # PrefixList="xs" in the Reference transform only (as Okta), never in SignedInfo's
        # CanonicalizationMethod (schema-invalid there: the signxml trap).
        incl = sig.findall(".//{http://www.w3.org/2001/10/xml-exc-c14n#}InclusiveNamespaces")
        assert len(incl) == 1 and incl[0].get("PrefixList") == "xs"
        assert incl[0].getparent().getparent().tag == DS + "Transforms"
    assert found == signed


@pytest.mark.parametrize("sign", ["both", "response", "assertion"])
def test_python3_saml_strict_accepts_okta_response(idp: SamlIdp, sign: Any) -> None:
    ok, error = python3_saml_accepts(idp, idp.sign(spec(idp, sign)))
    assert ok, error


@pytest.mark.parametrize("sign", ["both", "response", "assertion"])
def test_signxml_verifies_every_signature(idp: SamlIdp, sign: Any) -> None:
    root = etree.fromstring(idp.sign(spec(idp, sign)))
    signed = [sig.getparent() for sig in root.iter(DS + "Signature")]
    assert signed
    for element in signed:
        assert element is not None
        # Each signed element verifies on its own (exclusive c14n: context does not matter).
        result = XMLVerifier().verify(
            etree.tostring(element), x509_cert=idp.cert_pem, expect_references=1
        )
        assert not isinstance(result, list) and result.signed_xml is not None


@pytest.mark.skipif(
    not HAVE_XMLSEC1, reason="pysaml2 needs the xmlsec1 binary (apt install xmlsec1)"
)
@pytest.mark.parametrize("sign", ["both", "response", "assertion"])
def test_pysaml2_accepts_okta_response_with_prefix_list(idp: SamlIdp, sign: Any) -> None:
    from saml2 import BINDING_HTTP_POST
    from saml2.client import Saml2Client
    from saml2.config import SPConfig

    conf = SPConfig()
    conf.load(
        {
            "entityid": AUDIENCE,
            "metadata": {"inline": [idp.metadata_xml()]},
            "xmlsec_binary": shutil.which("xmlsec1"),
            "allow_unknown_attributes": True,
            "service": {
                "sp": {
                    "endpoints": {"assertion_consumer_service": [(ACS, BINDING_HTTP_POST)]},
                    "allow_unsolicited": True,
                    "want_response_signed": sign != "assertion",
                    "want_assertions_signed": sign != "response",
                }
            },
        }
    )
    xml = idp.sign(spec(idp, sign))
    assert b'PrefixList="xs"' in xml
    resp = Saml2Client(config=conf).parse_authn_request_response(
        base64.b64encode(xml).decode(), BINDING_HTTP_POST, outstanding={}
    )
    assert resp.name_id.text == "ada@example.com"
    assert resp.get_identity()["groups"] == ["Everyone", "okta-admin"]


def test_plain_form_without_prefix_list_also_verifies(idp: SamlIdp) -> None:
    from dataclasses import replace

    xml = idp.sign(replace(spec(idp), prefix_list=False))
    assert b"InclusiveNamespaces" not in xml
    assert python3_saml_accepts(idp, xml)[0]


# --- metadata -----------------------------------------------------------------------------


def test_metadata_is_okta_shaped_and_parsed_by_python3_saml(idp: SamlIdp) -> None:
    xml = idp.metadata_xml()
    root = etree.fromstring(xml.encode())
    assert root.get("entityID") == idp.entity_id
    sso = root.findall(".//{urn:oasis:names:tc:SAML:2.0:metadata}SingleSignOnService")
    assert {s.get("Binding", "").rsplit(":", 1)[1] for s in sso} == {"HTTP-POST", "HTTP-Redirect"}
    assert {s.get("Location") for s in sso} == {idp.sso_url}
    assert re.fullmatch(
        r"https://oin-conformance\.okta\.invalid/app/\w+/exk\w{17}/sso/saml", idp.sso_url
    )
    parsed = OneLogin_Saml2_IdPMetadataParser.parse(xml)
    assert parsed["idp"]["entityId"] == idp.entity_id
    assert parsed["idp"]["x509cert"] == idp.keypair.cert_b64


def test_idp_metadata_for_the_cli_is_stable_across_runs(tmp_path: Path) -> None:
    target = load(
        Path(__file__).resolve().parents[2] / "fixtures" / "reference_app" / "target.toml"
    )
    first = saml_idp.idp_metadata(target, StateFolder(tmp_path / "state"))
    second = saml_idp.idp_metadata(target, StateFolder(tmp_path / "state"))
    assert first == second and "http://www.okta.com/exk" in first


# --- AuthnRequest intake ------------------------------------------------------------------


def _signed_redirect(idp: SamlIdp, sp_keys: KeyPair) -> str:
    req = {
        "https": "off",
        "http_host": "127.0.0.1:5000",
        "script_name": "/saml/login",
        "get_data": {},
        "post_data": {},
    }
    auth = OneLogin_Saml2_Auth(req, p3_settings(idp, sp_keys))
    return str(auth.login(return_to="/me"))


def test_reads_signed_redirect_request_from_python3_saml(idp: SamlIdp, sp_keys: KeyPair) -> None:
    url = _signed_redirect(idp, sp_keys)
    req = read_redirect_request(url, [sp_keys.cert_b64])
    assert req.signed and req.signature_valid is True
    assert req.issuer == AUDIENCE and req.acs_url == ACS and req.destination == idp.sso_url
    assert req.relay_state == "/me" and req.id.startswith("ONELOGIN_")
    assert "<samlp:AuthnRequest" in req.xml


def test_redirect_signature_fails_when_an_octet_changes(idp: SamlIdp, sp_keys: KeyPair) -> None:
    url = _signed_redirect(idp, sp_keys).replace("RelayState=%2Fme", "RelayState=%2Fmf")
    assert read_redirect_request(url, [sp_keys.cert_b64]).signature_valid is False
    other = generate_keypair("other sp")
    assert (
        read_redirect_request(_signed_redirect(idp, sp_keys), [other.cert_b64]).signature_valid
        is False
    )


def test_redirect_signature_is_checked_over_octets_as_received(
    idp: SamlIdp, sp_keys: KeyPair
) -> None:
    """ADFS-style lower-case percent-encoding: re-encoding would break the signature."""
    xml = (
        b'<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_a1" '
        b'Version="2.0" IssueInstant="2026-01-01T00:00:00Z"/>'
    )
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    encoded = quote(base64.b64encode(deflater.compress(xml) + deflater.flush()).decode(), safe="")
    relay = "%2fapp%2fhome"  # lower case, as received
    sigalg = quote("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", safe="").lower()
    octets = f"SAMLRequest={encoded}&RelayState={relay}&SigAlg={sigalg}"
    key = serialization.load_pem_private_key(sp_keys.key_pem.encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    sig = key.sign(octets.encode(), padding.PKCS1v15(), hashes.SHA256())
    query = f"Signature={quote(base64.b64encode(sig).decode(), safe='')}&{octets}"
    req = read_redirect_request(f"https://idp.invalid/sso?{query}", [sp_keys.cert_b64])
    assert req.signature_valid is True and req.relay_state == "/app/home"


def test_post_request_with_enveloped_signature(idp: SamlIdp, sp_keys: KeyPair) -> None:
    from onelogin.saml2.authn_request import OneLogin_Saml2_Authn_Request

    settings = p3_settings(idp, sp_keys)
    xml = OneLogin_Saml2_Authn_Request(settings).get_xml()
    signed = OneLogin_Saml2_Utils.add_sign(
        xml,
        sp_keys.key_pem,
        sp_keys.cert_pem,
        sign_algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        digest_algorithm="http://www.w3.org/2001/04/xmlenc#sha256",
    )
    fields = {"SAMLRequest": base64.b64encode(signed).decode(), "RelayState": "/x"}
    req = read_post_request(fields, [sp_keys.cert_b64])
    assert req.signed and req.signature_valid is True and req.relay_state == "/x"
    tampered = signed.replace(AUDIENCE.encode(), b"https://evil.example/sp")
    bad = read_post_request(
        {"SAMLRequest": base64.b64encode(tampered).decode()}, [sp_keys.cert_b64]
    )
    assert bad.signature_valid is False


def test_deflate_bomb_is_refused() -> None:
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = deflater.compress(b"<a>" + b" " * (20 * 1024 * 1024)) + deflater.flush()
    url = "https://idp.invalid/sso?" + urlencode({"SAMLRequest": base64.b64encode(bomb).decode()})
    with pytest.raises(SamlError, match="inflates to more than"):
        read_redirect_request(url)


AUTHN_WITH_ENTITY = (
    b'<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="a">'
    b"&x;</samlp:AuthnRequest>"
)


@pytest.mark.parametrize(
    "doc",
    [
        b'<!DOCTYPE r [<!ENTITY x SYSTEM "http://127.0.0.1:9/">]>' + AUTHN_WITH_ENTITY,
        b'<!DOCTYPE r [<!ENTITY x "boom">]>' + AUTHN_WITH_ENTITY,
        b"<not-saml/>",
        b"<broken",
    ],
    ids=["external-entity", "internal-entity", "not-authnrequest", "not-xml"],
)
def test_hostile_authn_requests_are_refused(doc: bytes) -> None:
    with pytest.raises(SamlError):
        read_post_request({"SAMLRequest": base64.b64encode(doc).decode()})


# --- mutators -----------------------------------------------------------------------------


def test_catalogue_entries_are_small_named_documented_frozen_objects() -> None:
    names = attacks.names()
    assert len(names) == len(set(names)) >= 25
    for m in attacks.CATALOGUE:
        assert m.attack and m.risk and m.fix and type(m).__doc__
        with pytest.raises(AttributeError):
            m.attack = "x"  # type: ignore[misc]


@pytest.mark.parametrize("mutator", attacks.CATALOGUE, ids=attacks.names())
def test_python3_saml_refuses_every_hostile_response(
    idp: SamlIdp, kit: attacks.Kit, mutator: attacks.Mutator
) -> None:
    """The reference verifier refuses each attack (replay and RelayState are judged by the app)."""
    xml = attacks.apply(mutator, spec(idp), kit)
    if (
        mutator.replay
        or mutator.relay_state
        or mutator.attack
        in {"lookalike_recipient", "lookalike_destination", "unknown_in_response_to"}
    ):
        # Genuine content; python3-saml alone accepts these (its prefix/substring URL
        # checks and optional InResponseTo are the reason the app adds its own checks).
        assert python3_saml_accepts(idp, xml)[0]
        return
    if mutator.attack in {"dtd_external_entity", "dtd_internal_entity", "doctype_only"}:
        with pytest.raises(Exception, match="DTD"):
            python3_saml_accepts(idp, xml)
        return
    if mutator.attack == "several_roots":
        with pytest.raises(etree.XMLSyntaxError, match="Extra content"):
            python3_saml_accepts(idp, xml)
        return
    if mutator.attack in {"several_references", "xslt_transform", "xpath_filter_transform"}:
        # xmlsec honours whatever transforms and References the IdP signed with; Okta signs
        # with one Reference and the two standard transforms, so the app refuses any other
        # (fixtures/reference_app: SamlFlaw.signature_shape). python3-saml alone reads the
        # victim out of the XPath-filtered forgery.
        ok, _ = python3_saml_accepts(idp, xml)
        assert ok
        resp = OneLogin_Saml2_Response(p3_settings(idp), base64.b64encode(xml).decode())
        assert resp.get_nameid() == "ada@example.com"
        return
    ok, error = python3_saml_accepts(idp, xml)
    if mutator.attack == "comment_in_nameid":
        # python3-saml is not vulnerable: it reads the full text (not the victim).
        resp = OneLogin_Saml2_Response(p3_settings(idp), base64.b64encode(xml).decode())
        assert resp.get_nameid() == "ada@example.com.evil.test"
        return
    assert not ok, mutator.attack
    assert error


def _signature_keys(xml: bytes) -> set[str]:
    root = etree.fromstring(
        xml, etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True)
    )
    return {"".join((c.text or "").split()) for c in root.iter(DS + "X509Certificate")}


@pytest.mark.parametrize(
    "mutator", [m for m in attacks.CATALOGUE if m.forgery], ids=lambda m: m.attack
)
def test_forged_content_is_never_signed_by_the_trusted_key(
    idp: SamlIdp, kit: attacks.Kit, mutator: attacks.Mutator
) -> None:
    xml = attacks.apply(mutator, spec(idp), kit)
    assert kit.victim.encode() in xml
    if mutator.attack == "several_roots":
        # Its first top-level element is the attacker's genuine signed Assertion, as signed.
        xml = xml[: xml.index(b"<saml2p:Response")]
    for key in (kit.rogue, kit.cloned):
        if key.cert_b64 in _signature_keys(xml):
            return  # re-signed by the attacker's key: fine
    if mutator.attack == "comment_in_nameid":
        # The trusted signature is untouched and still valid: c14n drops the comment.
        assert XMLVerifier().verify(xml, x509_cert=idp.cert_pem, expect_references=1)
        return
    if mutator.attack.endswith("_without_response_signature") or mutator.attack in KEEPS_GENUINE:
        # A genuine signature is left: it covers genuine content only (the attacker's own,
        # or a LogoutResponse / metadata document); signxml refuses some shapes outright
        # (a duplicate ID, content inside Signature).
        try:
            result = XMLVerifier().verify(xml, x509_cert=idp.cert_pem, expect_references=1)
        except Exception:  # noqa: BLE001
            return
        assert not isinstance(result, list)
        assert kit.victim.encode() not in etree.tostring(result.signed_xml)
        if mutator.attack not in {"signed_logout_response_reuse", "signed_metadata_reuse"}:
            assert kit.attacker.encode() in etree.tostring(result.signed_xml)
        return
    # Otherwise the IdP's genuine signature no longer matches the forged content (or is gone).
    with pytest.raises(Exception):  # noqa: B017, PT011
        verify_all(xml, idp.cert_pem)


#: Forgeries that keep a genuine IdP signature over genuine content beside the forged part.
KEEPS_GENUINE = {
    "extra_unsigned_assertion_before",
    "extra_unsigned_assertion_after",
    "signed_info_in_object",
    "signed_response_nested",
    "several_roots",
    "signed_logout_response_reuse",
    "signed_metadata_reuse",
}


def verify_all(xml: bytes, cert: str) -> None:
    root = etree.fromstring(
        xml, etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True)
    )
    sigs = list(root.iter(DS + "Signature"))
    if not sigs:
        raise ValueError("no signature")
    if len(sigs) > 2:
        raise ValueError("extra signatures")
    XMLVerifier().verify(xml, x509_cert=cert, expect_references=1)


def test_wrapping_variants_build_the_documented_structures(idp: SamlIdp, kit: attacks.Kit) -> None:
    def doc(m: attacks.Mutator) -> etree._Element:
        return etree.fromstring(attacks.apply(m, spec(idp), kit))

    def nameids(el: etree._Element) -> list[str]:
        return [n.text or "" for n in el.iter(A + "NameID")]

    x1 = doc(attacks.XSW1())
    assert x1.find(f"{DS}Signature/{P}Response") is not None
    assert nameids(x1.find(A + "Assertion"))[0] == kit.victim
    x2 = doc(attacks.XSW2())
    assert x2.find(P + "Response") is not None
    x3 = doc(attacks.XSW3())
    assert nameids(x3) == [kit.victim, kit.attacker] and len(x3.findall(A + "Assertion")) == 2
    x4 = doc(attacks.XSW4())
    assert x4.find(f"{A}Assertion/{A}Assertion") is not None
    x5 = doc(attacks.XSW5())
    first, second = x5.findall(A + "Assertion")
    assert nameids(first)[0] == kit.victim and first.get("ID") != second.get("ID")
    x6 = doc(attacks.XSW6())
    assert x6.find(f"{A}Assertion/{DS}Signature/{A}Assertion") is not None
    x7 = doc(attacks.XSW7())
    assert x7.find(f"{P}Extensions/{A}Assertion") is not None
    x8 = doc(attacks.XSW8())
    assert x8.find(f"{A}Assertion/{DS}Signature/{DS}Object/{A}Assertion") is not None


def test_comment_splits_the_nameid_after_the_victim(idp: SamlIdp, kit: attacks.Kit) -> None:
    root = etree.fromstring(attacks.apply(attacks.CommentInNameID(), spec(idp), kit))
    nameid = root.find(f".//{A}NameID")
    assert nameid is not None and nameid.text == kit.victim
    assert "".join(nameid.itertext()) == kit.victim + ".evil.test"


def test_processing_instruction_moves_the_suffix_out_of_the_text(
    idp: SamlIdp, kit: attacks.Kit
) -> None:
    root = etree.fromstring(attacks.apply(attacks.PiInNameID(), spec(idp), kit))
    nameid = root.find(f".//{A}NameID")
    assert nameid is not None and "".join(nameid.itertext()) == kit.victim
    (pi,) = list(nameid)
    assert isinstance(pi, etree._ProcessingInstruction)
    assert (pi.target, pi.text) == ("x", ".evil.test")
    # xml-crypto's c14n writes the PI's data as text: the bytes the IdP signed.
    assert kit.victim + pi.text == kit.victim + attacks.EVIL_SUFFIX


def test_advisory_shapes_build_the_documented_structures(idp: SamlIdp, kit: attacks.Kit) -> None:
    def doc(m: attacks.Mutator, sign: Any = "both") -> etree._Element:
        return etree.fromstring(attacks.apply(m, spec(idp, sign), kit))

    def nameids(el: etree._Element) -> list[str]:
        return ["".join(n.itertext()) for n in el.iter(A + "NameID")]

    before = doc(attacks.ExtraUnsignedAssertionBefore())
    assert before.find(DS + "Signature") is None  # the Response signature is dropped
    assert nameids(before) == [kit.victim, kit.attacker]
    after = doc(attacks.ExtraUnsignedAssertionAfter())
    assert nameids(after) == [kit.attacker, kit.victim]
    dup = doc(attacks.DuplicateIds())
    first, second = dup.findall(A + "Assertion")
    assert first.get("ID") == second.get("ID") and first.find(DS + "Signature") is None
    nested = doc(attacks.SignedResponseNested(), "response")
    assert nested[0].tag == P + "Response" and nested[0].find(DS + "Signature") is not None
    assert nameids(nested.find(A + "Assertion")) == [kit.victim]
    advice = doc(attacks.ResponseInAdvice(), "response")
    hidden = advice.find(f"{A}Assertion/{A}Advice/{P}Response")
    assert hidden is not None and advice.get("ID") != hidden.get("ID")
    ref = advice.find(f"{DS}Signature/{DS}SignedInfo/{DS}Reference")
    assert ref is not None and ref.get("URI") == "#" + hidden.get("ID", "")
    two = doc(attacks.SecondSignedInfo(), "assertion")
    sig = two.find(f"{A}Assertion/{DS}Signature")
    assert sig is not None and len(sig.findall(DS + "SignedInfo")) == 2
    assert two.find(f"{P}Extensions/{A}Assertion") is not None
    obj = doc(attacks.SignedInfoInObject(), "assertion")
    assert obj.find(f"{A}Assertion/{DS}Signature/{DS}Object/{DS}SignedInfo") is not None
    wide = doc(attacks.DigestDocumentWide(), "assertion")
    forged = wide.find(f"{P}Extensions/{DS}Reference/{DS}DigestValue")
    genuine = wide.find(f"{A}Assertion/{DS}Signature/{DS}SignedInfo/{DS}Reference/{DS}DigestValue")
    assert forged is not None and genuine is not None and forged.text != genuine.text
    refs = doc(attacks.SeveralReferences()).findall(f"{DS}Signature/{DS}SignedInfo/{DS}Reference")
    assert len(refs) == 2
    for m, algorithm in (
        (attacks.XsltTransform(), "http://www.w3.org/TR/1999/REC-xslt-19991116"),
        (attacks.XpathFilterTransform(), "http://www.w3.org/TR/1999/REC-xpath-19991116"),
    ):
        transforms = doc(m).findall(f".//{DS}Reference/{DS}Transforms/{DS}Transform")
        assert algorithm in {t.get("Algorithm") for t in transforms}
    reuse = doc(attacks.SignedLogoutResponseReuse())
    assert reuse.find(f"{A}Assertion/{A}Advice/{P}LogoutResponse/{DS}Signature") is not None
    md = doc(attacks.SignedMetadataReuse())
    assert md.find(f"{A}Assertion/{A}Advice/{{{NS_MD}}}EntityDescriptor/{DS}Signature") is not None
    roots = attacks.apply(attacks.SeveralRoots(), spec(idp), kit)
    with pytest.raises(etree.XMLSyntaxError, match="Extra content"):
        etree.fromstring(roots)
    assert roots.startswith(b"<saml2:Assertion") and b"<saml2p:Response" in roots


@pytest.mark.parametrize(
    ("mutator", "key"),
    [
        (attacks.HmacKeyConfusion(), lambda pair: pair.cert_pem.encode()),
        (attacks.HmacKeyConfusionBase64(), lambda pair: pair.cert_b64.encode()),
        (
            attacks.HmacKeyConfusionDer(),
            lambda pair: pair.certificate.public_bytes(serialization.Encoding.DER),
        ),
        (
            attacks.HmacKeyConfusionPublicKey(),
            lambda pair: pair.certificate.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
        ),
    ],
    ids=lambda v: getattr(v, "attack", ""),
)
def test_hmac_confusion_is_keyed_with_the_public_certificate_form(
    idp: SamlIdp, kit: attacks.Kit, mutator: attacks.Mutator, key: Any
) -> None:
    import hashlib
    import hmac

    root = etree.fromstring(attacks.apply(mutator, spec(idp, "response"), kit))
    sig = root.find(DS + "Signature")
    assert sig is not None
    info = sig.find(DS + "SignedInfo")
    assert info is not None
    c14n = etree.tostring(info, method="c14n", exclusive=True, with_comments=False)
    expected = hmac.new(key(idp.keypair), c14n, hashlib.sha256).digest()
    assert base64.b64decode(sig.findtext(DS + "SignatureValue") or "") == expected


def test_keys_from_the_message_carry_no_certificate(idp: SamlIdp, kit: attacks.Kit) -> None:
    key_value = etree.fromstring(attacks.apply(attacks.KeyValueKey(), spec(idp), kit))
    for sig in key_value.iter(DS + "Signature"):
        assert sig.find(f"{DS}KeyInfo/{DS}KeyValue/{DS}RSAKeyValue/{DS}Modulus") is not None
        assert sig.find(f".//{DS}X509Certificate") is None
    in_message = etree.fromstring(attacks.apply(attacks.HmacKeyInMessage(), spec(idp), kit))
    sigs = list(in_message.iter(DS + "Signature"))
    assert len(sigs) == 2
    for sig in sigs:
        key = sig.find(f"{DS}KeyInfo/{DS}KeyValue/{{{attacks.NS_XMLSEC}}}HMACKeyValue")
        assert key is not None and len(base64.b64decode(key.text or "")) == 32


def test_what_the_idp_signs_besides_a_response_verifies(idp: SamlIdp) -> None:
    """The LogoutResponse and the signed metadata the reuse attacks carry are real IdP
    signatures (signxml checks them with the IdP certificate)."""
    logout = idp.signed_logout_response("https://sp.example/saml/slo", "id123")
    root = etree.fromstring(logout)
    assert root.tag == P + "LogoutResponse" and root.get("InResponseTo") == "id123"
    XMLVerifier().verify(logout, x509_cert=idp.cert_pem, expect_references=1)
    metadata = idp.signed_metadata_xml()
    assert etree.fromstring(metadata).get("ID")
    XMLVerifier().verify(metadata, x509_cert=idp.cert_pem, expect_references=1)
    # The unsigned metadata an ISV configures from is unchanged (Okta's is never signed).
    assert "Signature" not in idp.metadata_xml()


@pytest.mark.parametrize("references", [1, 2])
def test_hand_written_signature_verifies_with_xmlsec(idp: SamlIdp, references: int) -> None:
    """sign_by_hand writes a real signature: python3-saml (xmlsec) accepts it (that many
    References, the standard transforms)."""
    root = etree.fromstring(idp.sign(spec(idp, "none")))
    asrt = root.find(A + "Assertion")
    assert asrt is not None
    pair = idp.keypair
    signed = saml_idp.sign_by_hand(
        root, asrt.get("ID", ""), pair.private_key, pair.cert_b64, references=references
    )
    assert python3_saml_accepts(idp, etree.tostring(signed))[0]


def test_every_reference_is_an_advisory_id() -> None:
    from oin_conformance.advisories import advisories

    for m in attacks.CATALOGUE:
        assert [a.id for a in advisories(m.references)] == list(m.references), m.attack


def test_dtd_payload_points_at_the_canary(idp: SamlIdp, kit: attacks.Kit) -> None:
    xml = attacks.apply(attacks.DtdExternalEntity(), spec(idp), kit)
    assert xml.startswith(b"<!DOCTYPE saml2p:Response [<!ENTITY oin SYSTEM")
    assert kit.canary_url.encode() in xml and b"&oin;" in xml


def test_time_cases_are_hours_away(idp: SamlIdp, kit: attacks.Kit) -> None:
    now = dt.datetime.now(dt.UTC)
    for m, sign in ((attacks.by_name("expired"), -1), (attacks.by_name("not_yet_valid"), 1)):
        root = etree.fromstring(attacks.apply(m, spec(idp), kit))
        for el in root.iter(A + "Conditions", A + "SubjectConfirmationData"):
            for attr in ("NotBefore", "NotOnOrAfter"):
                if el.get(attr):
                    t = dt.datetime.fromisoformat(el.get(attr, "").replace("Z", "+00:00"))
                    assert (t - now) * sign > dt.timedelta(hours=2)


def test_chain_composes_attacks(idp: SamlIdp, kit: attacks.Kit) -> None:
    chain = attacks.Chain(parts=(attacks.by_name("wrong_audience"), attacks.TamperedAfterSigning()))
    assert chain.attack == "wrong_audience+tampered_after_signing" and chain.forgery
    root = etree.fromstring(attacks.apply(chain, spec(idp), kit))
    assert root.find(f".//{A}Audience").text == f"{attacks.OTHER_SP}/saml/metadata"
    assert root.find(f".//{A}NameID").text == kit.victim
    assert not attacks.Chain(parts=(attacks.XSW1(),)).applies_to("assertion")
    assert attacks.Chain(parts=(attacks.XSW3(),)).applies_to("both")


def test_cloned_certificate_copies_names_not_key(idp: SamlIdp, kit: attacks.Kit) -> None:
    real, fake = idp.keypair.certificate, kit.cloned.certificate
    assert fake.subject == real.subject and fake.serial_number == real.serial_number
    assert fake.public_key().public_numbers() != real.public_key().public_numbers()  # type: ignore[union-attr]


def test_canary_records_a_fetch() -> None:
    import requests

    canary = saml_idp.Canary()
    try:
        assert canary.url("t0k").startswith("http://127.0.0.1:")
        assert not canary.was_hit("t0k")
        session = requests.Session()
        session.trust_env = False
        assert session.get(canary.url("t0k"), timeout=5).status_code == 200
        assert canary.was_hit("t0k") and not canary.was_hit("other")
    finally:
        canary.stop()


def test_digest_value_comment_holds_the_forged_contents_digest(
    idp: SamlIdp, kit: attacks.Kit
) -> None:
    """A verifier that read the comment would find the digest of the edited assertion."""
    base = spec(idp, "assertion")
    xml = attacks.apply(attacks.CommentInDigestValue(), base, kit)
    root = etree.fromstring(xml)
    digest = root.find(f".//{DS}DigestValue")
    assert digest is not None and digest.text is None
    comment = digest[0]
    assert isinstance(comment, etree._Comment)
    # Re-derive what an honest signer computes over the same edited assertion (test only).
    edited = etree.fromstring(xml)
    asrt = edited.find(A + "Assertion")
    assert asrt is not None
    sig = asrt.find(DS + "Signature")
    assert sig is not None
    asrt.remove(sig)
    resigned = saml_idp.sign_response(
        edited, "assertion", idp.keypair.key_pem, idp.cert_pem, prefix_list=base.prefix_list
    )
    honest = etree.fromstring(resigned).find(f".//{DS}DigestValue")
    assert honest is not None and comment.text == honest.text
    assert comment.tail != honest.text  # the genuine digest follows the comment
