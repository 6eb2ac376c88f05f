"""Okta as a SAML 2.0 identity provider: identity, metadata, signed responses, AuthnRequests.

Plain Python (no pytest, nothing of a run), one job per module: ``common`` (names and small
helpers), ``response`` (Okta's Response, built and signed), ``authn_request`` (reading the
app's AuthnRequests), ``canary`` (the XXE canary), ``idp`` (the IdP: identity, metadata).

How the browser reaches the IdP. The SSO URL is on an origin no browser can fetch
(``https://oin-conformance.okta.invalid/app/<app>/<exk…>/sso/saml``; ``.invalid`` never
resolves, RFC 6761), so it is stable across runs and the ISV configures it once. The harness's
browser never follows a redirect to an origin it was not told about: an HTTP-Redirect
AuthnRequest arrives as the blocked redirect's URL, an HTTP-POST AuthnRequest as the
auto-posting form the browser did not submit; both are read by :mod:`.authn_request`.
"""

from oin_conformance.roles.saml.authn_request import (
    AuthnRequest,
    read_post_request,
    read_redirect_request,
    sp_certs_from_metadata,
)
from oin_conformance.roles.saml.canary import Canary
from oin_conformance.roles.saml.common import (
    BINDING_POST,
    BINDING_REDIRECT,
    NS_DS,
    NS_MD,
    NS_SAML,
    NS_SAMLP,
    RSA_SHA1,
    RSA_SHA256,
    STATUS_REQUESTER,
    STATUS_SUCCESS,
    SamlError,
    SignMode,
    new_id,
    pretty,
    safe_parse,
)
from oin_conformance.roles.saml.idp import SamlIdp, idp_metadata
from oin_conformance.roles.saml.response import (
    ExtraTransform,
    ResponseSpec,
    build_logout_response,
    build_response,
    post_fields,
    sign_by_hand,
    sign_message,
    sign_response,
)

__all__ = [
    "BINDING_POST",
    "BINDING_REDIRECT",
    "NS_DS",
    "NS_MD",
    "NS_SAML",
    "NS_SAMLP",
    "RSA_SHA1",
    "RSA_SHA256",
    "STATUS_REQUESTER",
    "STATUS_SUCCESS",
    "AuthnRequest",
    "Canary",
    "ExtraTransform",
    "ResponseSpec",
    "SamlError",
    "SamlIdp",
    "SignMode",
    "build_logout_response",
    "build_response",
    "idp_metadata",
    "new_id",
    "post_fields",
    "pretty",
    "read_post_request",
    "read_redirect_request",
    "safe_parse",
    "sign_by_hand",
    "sign_message",
    "sign_response",
    "sp_certs_from_metadata",
]
