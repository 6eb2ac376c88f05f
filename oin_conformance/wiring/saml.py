"""The run's SAML IdP: made once per process from the state folder's key, with its canary."""

from __future__ import annotations

from oin_conformance.roles.saml import BINDING_POST, BINDING_REDIRECT, Canary, SamlIdp
from oin_conformance.runtime import RunContext


def idp_for(ctx: RunContext) -> SamlIdp:
    """The run's IdP (created once per process, with its canary server)."""

    def make() -> SamlIdp:
        assert ctx.target.saml is not None
        pair = ctx.state.keypair("idp", "oin-conformance Okta IdP")
        idp = SamlIdp.create(pair, ctx.target.app.name, ctx.target.saml.idp_entity_id)
        idp.canary = Canary()
        ctx.on_close(idp.canary.stop)
        return idp

    return ctx.shared(SamlIdp, make)


def harness_info(ctx: RunContext) -> dict[str, object]:
    """What an ISV configures once in the app: the IdP's entity ID, SSO URL and certificate."""
    idp = idp_for(ctx)
    return {
        "entity_id": idp.entity_id,
        "sso_url": idp.sso_url,
        "cert_pem": idp.cert_pem,
        "cert_b64": idp.keypair.cert_b64,
        "fingerprint_sha256": idp.keypair.fingerprint_sha256,
        "metadata_xml": idp.metadata_xml(),
        "bindings": [BINDING_POST, BINDING_REDIRECT],
    }


__all__ = ["harness_info", "idp_for"]
