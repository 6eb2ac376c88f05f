"""OIN requirements for OIDC integrations (facts: ``shared/reference/oidc.md``)."""

from __future__ import annotations

from oin_conformance.requirements import DOCS, OIDC_GUIDE, PREREQ, WIZARD_OIDC, Requirement

VALIDATE_ID_TOKENS = f"{DOCS}/validate-id-tokens/main/"

REQUIREMENTS = [
    Requirement(
        "OIDC-ORG-AS",
        "The integration uses Okta's org authorization server, never a custom or `default` one",
        PREREQ,
    ),
    Requirement(
        "OIDC-SP-FLOW",
        "Sign-in started at the app (SP-initiated) works with the authorization code flow",
        WIZARD_OIDC,
    ),
    Requirement(
        "OIDC-AUTHZ-REQUEST",
        "The authorization request is one Okta accepts (code flow, registered redirect URI, "
        "state, openid scope)",
        OIDC_GUIDE,
    ),
    Requirement(
        "OIDC-TOKEN-REQUEST",
        "The app redeems the code at the token endpoint with its client credentials",
        OIDC_GUIDE,
    ),
    Requirement(
        "OIDC-NO-REFRESH-TOKENS",
        "The integration asks for no refresh tokens (no `offline_access`): the OIN does not "
        "support them",
        PREREQ,
    ),
    Requirement(
        "OIDC-IDP-FLOW",
        "Sign-in started from the Okta dashboard (initiate login URI with iss) works",
        WIZARD_OIDC,
    ),
    Requirement(
        "OIDC-TOKEN-VALIDATION",
        "The app validates ID tokens (signature, key, issuer, audience, expiry, nonce) and state",
        VALIDATE_ID_TOKENS,
    ),
    Requirement(
        "OIDC-KEY-ROTATION",
        "The app follows Okta's signing-key rotation (an unknown kid means: fetch the JWKS again)",
        VALIDATE_ID_TOKENS,
    ),
    Requirement(
        "OIDC-EMAIL-VERIFIED",
        "The app does not rely on the email_verified claim",
        PREREQ,
    ),
    Requirement(
        "OIDC-JIT",
        "Just-in-time provisioning creates the user at first sign-in",
        WIZARD_OIDC,
    ),
]
