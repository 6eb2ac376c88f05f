"""The run's Okta org authorization server: made once per process from the target and the
state folder's keys, started on first use and stopped at the end; what an in-process app
is told about it; and what ``oin-conformance op-info`` prints."""

from __future__ import annotations

from oin_conformance.roles.oidc import OktaOrgOP, OktaUser, OPError
from oin_conformance.runtime import RunContext
from oin_conformance.target import Target


def create_op(ctx: RunContext) -> OktaOrgOP:
    """An OP for the run's target (not started)."""
    oidc = ctx.target.oidc
    if oidc is None:
        raise OPError("the target has no [oidc] section")
    keys = [
        ctx.state.keypair("op", "oin-conformance OIDC signing key"),
        ctx.state.keypair("op-next", "oin-conformance OIDC next signing key"),
    ]
    return OktaOrgOP(
        keys=keys,
        client_id=oidc.client_id,
        client_secret=oidc.client_secret.get_secret_value(),
        redirect_uris=lambda: [ctx.url(u) for u in oidc.redirect_uris],
        post_logout_redirect_uris=lambda: (
            [ctx.url(oidc.post_logout_redirect_uri)] if oidc.post_logout_redirect_uri else []
        ),
        user=OktaUser.from_fields(ctx.user),
        bind=oidc.provider.bind,
        port=oidc.provider.port,
        public_url=oidc.provider.public_url,
    )


def ensure_op(ctx: RunContext) -> OktaOrgOP:
    """The run's OP (one per process), started on first use and stopped at the end."""

    def make() -> OktaOrgOP:
        op = create_op(ctx).start()
        ctx.on_close(op.stop)
        return op

    return ctx.shared(OktaOrgOP, make)


def harness_info(ctx: RunContext) -> dict[str, object]:
    """What the ISV configures in the app once: issuer, client credentials, URIs."""
    op = ensure_op(ctx)
    oidc = ctx.target.oidc
    assert oidc is not None
    return {
        "issuer": op.issuer,
        "discovery_url": op.issuer + "/.well-known/openid-configuration",
        "client_id": op.client_id,
        "client_secret": oidc.client_secret.get_secret_value(),
        "redirect_uris": list(oidc.redirect_uris),
        "initiate_login_uri": oidc.initiate_login_uri,
        "post_logout_redirect_uri": oidc.post_logout_redirect_uri,
        "jit": oidc.jit,
    }


def op_info(target: Target) -> str:
    """Text for ``oin-conformance op-info``: what to configure in the app (no secrets)."""
    oidc = target.oidc
    if oidc is None:
        return (
            f"{target.path}: no [oidc] section. Add one (login_url, redirect_uris, client_id, "
            "client_secret) to test an OIDC integration."
        )
    p = oidc.provider
    if p.public_url:
        issuer = p.public_url.rstrip("/")
    elif p.port:
        issuer = f"http://{p.bind}:{p.port}"
    else:
        issuer = ""
    base = target.app.base_url or "<the app's address>"

    def absolute(u: str) -> str:
        return base.rstrip("/") + u if u.startswith("/") else u

    lines = ["Okta org authorization server played by oin-conformance", ""]
    if issuer:
        lines += [
            f"  Issuer (Okta org URL):   {issuer}",
            f"  Discovery document:      {issuer}/.well-known/openid-configuration",
            f"  Authorize endpoint:      {issuer}/oauth2/v1/authorize",
            f"  Token endpoint:          {issuer}/oauth2/v1/token",
            f"  Keys (JWKS):             {issuer}/oauth2/v1/keys",
        ]
    else:
        lines += [
            "  Issuer: chosen at run time ([oidc.provider] port = 0 picks a free port).",
            "          Set [oidc.provider] port (or public_url) so the issuer stays the same",
            "          between runs, then configure it in the app once.",
        ]
    lines += [
        "",
        f"  Client ID:               {oidc.client_id}",
        "  Client secret:           the value of [oidc] client_secret in the target file "
        "(not printed)",
        "",
        "  Sign-in redirect URIs to register (exact match):",
        *(f"    {absolute(u)}" for u in oidc.redirect_uris),
    ]
    if oidc.initiate_login_uri:
        lines.append(f"  Initiate login URI:      {absolute(oidc.initiate_login_uri)}")
    if oidc.post_logout_redirect_uri:
        lines.append(f"  Sign-out redirect URI:   {absolute(oidc.post_logout_redirect_uri)}")
    lines += [
        "",
        "  Configure the issuer as the bare org URL. Okta's OIN allows only the org",
        "  authorization server: never /oauth2/default or /oauth2/{authServerId}.",
        "  Ask for the scopes openid email profile, not offline_access: the OIN allows no",
        "  refresh tokens.",
    ]
    return "\n".join(lines)


__all__ = ["create_op", "ensure_op", "harness_info", "op_info"]
