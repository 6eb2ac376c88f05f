"""Requirements on the OIN submission material (SPEC §8, reference/oin-submission.md §1)."""

from __future__ import annotations

from oin_conformance.requirements import PREREQ, WIZARD_SAML, WIZARD_SCIM, Requirement

REQUIREMENTS = [
    Requirement("SUB-NAME", "Display name of 1 to 64 characters", WIZARD_SAML),
    Requirement("SUB-DESCRIPTION", "Description given, under 1024 characters", PREREQ),
    Requirement("SUB-USE-CASES", "At most three use cases, each one the OIN Wizard offers", PREREQ),
    Requirement(
        "SUB-LOGO",
        "Logo: PNG, JPG or GIF, under 1 MB, 244x244, 200x200, 244x156 or 156x244 pixels",
        PREREQ,
    ),
    Requirement("SUB-SUPPORT", "A public customer-support contact", PREREQ),
    Requirement("SUB-ESCALATION", "A monitored, non-generic escalation contact for Okta", PREREQ),
    Requirement(
        "SUB-TEST-ACCOUNT",
        "A test account (sign-in URL, username, password) for the analyst",
        PREREQ,
    ),
    Requirement(
        "SUB-GUIDE", "A reachable customer configuration guide per integration type", PREREQ
    ),
    Requirement(
        "SUB-VARIABLES",
        "Tenant settings: a label and a lowercase name each; at most eight (three advised)",
        WIZARD_SAML,
    ),
    Requirement(
        "SUB-GUIDE-CONTENT",
        "The configuration guide has the sections the OIN team reviews",
        PREREQ,
    ),
    Requirement("SUB-SUBMITTER", "The submitting admin uses a company-domain email", PREREQ),
    Requirement("SUB-NO-SWA", "No new Secure Web Authentication (SWA) integrations", PREREQ),
    Requirement("SUB-OIDC-ORG-AS", "OIDC integrations use the org authorization server", PREREQ),
    Requirement(
        "SUB-SCIM-WIZARD",
        "SCIM submissions through the OIN Wizard: SCIM 2.0 with header, bearer or OAuth 2 auth",
        WIZARD_SCIM,
    ),
]
