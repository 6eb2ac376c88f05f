"""The run's Universal Logout signers: who Okta's logout request comes from, per sign-in
protocol the target configures, with the key that verifies it; what an in-process app is
told about them; and what ``oin-conformance ul-info`` prints.

* OIDC: the run's org authorization server — ``iss`` = its issuer, ``sub`` = the client id,
  signed with its current ID-token key, published at its own ``/oauth2/v1/keys``.
* SAML: the run's IdP — ``iss`` = the org URL (the origin of the SSO URL), ``sub`` = the
  appInstanceId, signed with the assertion-signing key, whose JWKS a loopback
  :class:`~oin_conformance.roles.universal_logout.KeysServer` publishes (made once per
  process; the app may also verify with the IdP certificate it already trusts).
"""

from __future__ import annotations

from oin_conformance.roles.oidc.tokens import rsa_key_from_pair
from oin_conformance.roles.saml import SamlIdp
from oin_conformance.roles.universal_logout import (
    KeysServer,
    Signer,
    Via,
    app_instance_id,
    audience,
    org_url,
    saml_signer,
)
from oin_conformance.runtime import RunContext
from oin_conformance.state import StateFolder
from oin_conformance.target import Target
from oin_conformance.wiring.oidc import ensure_op
from oin_conformance.wiring.saml import idp_for


def vias(target: Target) -> list[Via]:
    """The sign-in protocols the target configures (a logout needs a signed-in user)."""
    found: list[Via] = []
    if target.oidc is not None:
        found.append("oidc")
    if target.saml is not None:
        found.append("saml")
    return found


def saml_keys(ctx: RunContext) -> KeysServer:
    """The loopback JWKS of the run's IdP key (one per process, stopped at the end)."""

    def make() -> KeysServer:
        idp = idp_for(ctx)
        server = KeysServer([rsa_key_from_pair(idp.keypair)])
        ctx.on_close(server.stop)
        return server

    return ctx.shared(KeysServer, make)


def signer(ctx: RunContext, via: Via) -> Signer:
    """The org and app instance a logout request for ``via``'s app comes from (the OIDC
    signer reads the provider's current key: make it after the provider's per-check reset)."""
    if via == "oidc":
        op = ensure_op(ctx)
        assert ctx.target.oidc is not None
        return Signer(
            via="oidc",
            issuer=op.issuer,
            app_id=ctx.target.oidc.client_id,
            key=op.signing_key,
            jwks_uri=op.issuer + "/oauth2/v1/keys",
        )
    idp: SamlIdp = idp_for(ctx)
    return saml_signer(idp.keypair, idp.sso_url, saml_keys(ctx).jwks_uri)


def harness_info(ctx: RunContext) -> dict[str, object]:
    """What the ISV configures in the app once: per sign-in protocol, the issuer, the
    app's id (the JWT's ``sub``) and where the keys are; the endpoint and formats."""
    ul = ctx.target.universal_logout
    assert ul is not None
    info: dict[str, object] = {
        "endpoint": ul.endpoint,
        "subject_formats": list(ul.subject_formats),
        "partial_support": ul.partial_support,
    }
    for via in vias(ctx.target):
        s = signer(ctx, via)
        info[via] = {"issuer": s.issuer, "sub": s.app_id, "jwks_uri": s.jwks_uri}
    return info


def ul_info(target: Target, state: StateFolder) -> str:
    """Text for ``oin-conformance ul-info``: what the endpoint must accept (no secrets)."""
    ul = target.universal_logout
    if ul is None:
        return (
            f"{target.path}: no [universal_logout] section. Add one (endpoint, "
            "subject_formats) to test Universal Logout."
        )
    base = target.app.base_url or "<the app's address>"
    endpoint = base.rstrip("/") + ul.endpoint if ul.endpoint.startswith("/") else ul.endpoint
    lines = [
        "Okta's Universal Logout requests, as oin-conformance sends them",
        "",
        f"  POST {endpoint}",
        "  Content-Type: application/json",
        "  Authorization: Bearer <JWT>   header: typ global-token-revocation+jwt, alg RS256, kid",
        *(
            '  Body:  {"sub_id": {"format": "email", "email": "<the user\'s email>"}}'
            if f == "email"
            else '  Body:  {"sub_id": {"format": "iss_sub", "iss": "<the JWT\'s iss>", '
            '"sub": "<the user\'s id in the app>"}}'
            for f in ul.subject_formats
        ),
        f"  JWT aud:  {audience(endpoint)}",
        "  JWT exp / nbf: 5 minutes after / before iat; jti unique",
        "  Answer: 204 logged out, 400 malformed, 401/403 not authenticated, 404 unknown user",
    ]
    if target.oidc is not None:
        p = target.oidc.provider
        issuer = (p.public_url or (f"http://{p.bind}:{p.port}" if p.port else "")).rstrip("/")
        unpinned = "(the OP issuer: chosen at run time; pin [oidc.provider] port)"
        lines += [
            "",
            "  For the OIDC app (signed with the ID-token key):",
            f"    iss:  {issuer or unpinned}",
            f"    sub:  {target.oidc.client_id} (the client id)",
            "    keys: " + (f"{issuer}/oauth2/v1/keys" if issuer else "<issuer>/oauth2/v1/keys"),
        ]
    if target.saml is not None:
        pair = state.keypair("idp", "oin-conformance Okta IdP")
        idp = SamlIdp.create(pair, target.app.name, target.saml.idp_entity_id)
        lines += [
            "",
            "  For the SAML app (signed with the assertion-signing key):",
            f"    iss:  {org_url(idp.sso_url)}",
            f"    sub:  {app_instance_id(pair.cert_pem)} (the appInstanceId)",
            "    keys: the IdP signing certificate (oin-conformance idp-metadata), or the JWKS",
            "          the harness serves on a loopback port during a run",
        ]
    return "\n".join(lines)


__all__ = ["harness_info", "saml_keys", "signer", "ul_info", "vias"]
