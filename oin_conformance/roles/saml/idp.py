"""Okta's identity provider for one app instance: identity, metadata, signing.

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
for the DTD/XXE canary (:class:`Canary`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lxml import etree

from oin_conformance.roles.saml.canary import Canary
from oin_conformance.roles.saml.common import (
    BINDING_POST,
    BINDING_REDIRECT,
    NS_DS,
    NS_MD,
    NS_SAMLP,
    SSO_HOST,
    SamlError,
    SignMode,
    external_key,
    new_id,
    slug,
)
from oin_conformance.roles.saml.response import (
    ResponseSpec,
    build_logout_response,
    build_response,
    sign_message,
    sign_response,
)
from oin_conformance.state import KeyPair

if TYPE_CHECKING:
    pass


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
        sso = f"{SSO_HOST}/app/oinconformance_{slug(app_name)}_1/{exk}/sso/saml"
        return cls(keypair=keypair, entity_id=entity, sso_url=sso)

    @property
    def cert_pem(self) -> str:
        return self.keypair.cert_pem

    def metadata_xml(self) -> str:
        """IdP metadata shaped like Okta's (unsigned, same Location for POST and Redirect)."""
        return etree.tostring(
            self._metadata(), pretty_print=True, xml_declaration=True, encoding="UTF-8"
        ).decode()

    def signed_metadata_xml(self) -> bytes:
        """The same metadata with an ID and signed by the IdP key, as some IdPs publish it
        (ADFS, Entra ID, Shibboleth). Okta's is never signed; for the attack catalogue."""
        root = self._metadata()
        root.set("ID", new_id())
        return sign_message(root, self.keypair.private_key, [self.keypair.certificate])

    def signed_logout_response(self, destination: str, in_response_to: str) -> bytes:
        """The LogoutResponse Okta signs when an SP with Single Logout sends a LogoutRequest
        (its ``ID`` in ``in_response_to``) and it answers at the SP's ``destination``."""
        root = build_logout_response(
            issuer=self.entity_id, destination=destination, in_response_to=in_response_to
        )
        return sign_message(root, self.keypair.private_key, [self.keypair.certificate])

    def _metadata(self) -> etree._Element:
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
        return root

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


# --- for the command line ----------------------------------------------------------------


def idp_metadata(target: Any, state: Any) -> str:
    """The IdP metadata XML for ``oin-conformance idp-metadata --target FILE``."""
    if target.saml is None:
        raise SamlError("the target has no [saml] section")
    pair = state.keypair("idp", "oin-conformance Okta IdP")
    return SamlIdp.create(pair, target.app.name, target.saml.idp_entity_id).metadata_xml()
