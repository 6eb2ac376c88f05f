"""OIN requirements for Universal Logout (facts: ``shared/reference/oidc.md`` §2.6 and
``saml.md`` "Universal Logout"; Okta's guide "Build Universal Logout for your app")."""

from __future__ import annotations

from oin_conformance.requirements import DOCS, Requirement

#: Okta's guide to the Global Token Revocation endpoint Okta calls.
UL_GUIDE = f"{DOCS}/oin-universal-logout-overview/"

REQUIREMENTS = [
    Requirement(
        "UL-LOGOUT",
        "Okta's signed logout request (Global Token Revocation) is answered 204 and ends "
        "the user's sessions in the app",
        f"{UL_GUIDE}#revocation-details",
    ),
    Requirement(
        "UL-REFRESH-TOKENS",
        "Universal Logout revokes the user's refresh tokens (all that partial support does)",
        f"{UL_GUIDE}#revocation-details",
    ),
    Requirement(
        "UL-AUTHENTICATION",
        "The endpoint accepts only a JWT signed with the Okta org's key for this app: "
        "signature, typ, iss, sub, aud and validity checked (401/403 otherwise)",
        f"{UL_GUIDE}#endpoint-authentication",
    ),
    Requirement(
        "UL-RESPONSES",
        "The endpoint answers with the status Okta reads: 400 for a malformed request or "
        "unknown subject format, 404 for a user it does not know",
        f"{UL_GUIDE}#logout-response-and-response-codes",
    ),
]
