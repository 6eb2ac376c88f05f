"""OIN requirements for SAML integrations (facts: ``shared/reference/saml.md``)."""

from __future__ import annotations

from oin_conformance.requirements import DOCS, PREREQ, SAML_GUIDE, WIZARD_SAML, Requirement

SAML_CONCEPTS = "https://developer.okta.com/docs/concepts/saml/"
SAML_TESTER = f"{DOCS}/submit-oin-app/saml2/main/#test-your-integration"

REQUIREMENTS = [
    Requirement(
        "SAML-IDP-FLOW",
        "Sign-in started from the Okta dashboard (IdP-initiated, HTTP-POST to the ACS) works",
        SAML_TESTER,
    ),
    Requirement(
        "SAML-SP-FLOW",
        "Sign-in started at the app (SP-initiated) sends a valid AuthnRequest and works",
        SAML_TESTER,
    ),
    Requirement(
        "SAML-ATTRIBUTES",
        "The attribute statements configured in the OIN Wizard reach the app",
        WIZARD_SAML,
    ),
    Requirement(
        "SAML-JIT",
        "Just-in-time provisioning creates an unknown user with the asserted profile",
        SAML_TESTER,
    ),
    Requirement(
        "SAML-SIGNATURE",
        "The app accepts only responses signed by the Okta certificate it is configured with",
        SAML_GUIDE,
    ),
    Requirement(
        "SAML-WRAPPING",
        "The app reads the assertion the signature covers (no XML signature wrapping)",
        SAML_CONCEPTS,
    ),
    Requirement(
        "SAML-XML",
        "SAML XML is parsed safely (no DTD or external entities; comments cannot truncate NameID)",
        SAML_CONCEPTS,
    ),
    Requirement(
        "SAML-VALIDATION",
        "The app checks Issuer, Status, Audience, Destination, Recipient and validity times",
        SAML_GUIDE,
    ),
    Requirement(
        "SAML-REPLAY",
        "A response is accepted once; replays are refused",
        SAML_CONCEPTS,
    ),
    Requirement(
        "SAML-IN-RESPONSE-TO",
        "A response naming an AuthnRequest the app never sent is refused",
        SAML_CONCEPTS,
    ),
    Requirement(
        "SAML-SHA256",
        "SAML integrations use SHA-256; the app should refuse SHA-1 signatures",
        PREREQ,
    ),
    Requirement(
        "SAML-RELAYSTATE",
        "RelayState never redirects users off the app's own site",
        SAML_CONCEPTS,
    ),
]
