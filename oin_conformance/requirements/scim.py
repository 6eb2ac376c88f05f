"""OIN requirements for SCIM provisioning (facts: ``shared/reference/scim.md``)."""

from __future__ import annotations

from oin_conformance.requirements import DOCS, SCIM_PREP, SCIM_TEST, Requirement

SCIM20 = "https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20/"
SCIM11 = "https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-11/"
SCIM_FAQ = "https://developer.okta.com/docs/concepts/scim/faqs/"
SCIM_CONCEPTS = (
    "https://developer.okta.com/docs/concepts/scim/#handle-scim-server-rate-limiting-http-429"
)
SCIM_ENTITLEMENTS = f"{DOCS}/scim-with-entitlements/main/"
WIZARD_AUTH = f"{DOCS}/submit-oin-app/scim/main/#authentication-settings"

REQUIREMENTS = [
    Requirement(
        "SCIM-AUTH",
        "The SCIM server refuses requests without valid credentials (401 with a SCIM Error)",
        SCIM_PREP,
    ),
    Requirement(
        "SCIM-USERS-ENDPOINT",
        "GET /Users lists users as a ListResponse and GET /Users/{id} returns one "
        "(Okta SPEC test steps 1-2, connection test)",
        SCIM20,
    ),
    Requirement(
        "SCIM-GROUPS-ENDPOINT",
        "GET /Groups answers a ListResponse (Okta connection test; SPEC test: SCIM 2.0 step 10, "
        "SCIM 1.1 step 16)",
        SCIM20,
    ),
    Requirement(
        "SCIM-DISCOVERY",
        "SCIM 1.1: /ServiceProviderConfigs, /ResourceTypes and /Schemas describe the server and "
        "are read-only (Okta SCIM 1.1 SPEC test steps 1-6, optional)",
        SCIM11,
    ),
    Requirement(
        "SCIM-LOOKUP",
        "Okta's userName eq lookup: 200 with an empty ListResponse when nobody matches, the "
        "user when someone does, whatever the case",
        SCIM20,
    ),
    Requirement(
        "SCIM-CREATE",
        "POST /Users creates the user: 201 with its id and the values Okta sent",
        SCIM20,
    ),
    Requirement("SCIM-DUPLICATE", "A second POST /Users for the same userName answers 409", SCIM20),
    Requirement(
        "SCIM-READ",
        "GET /Users/{id} returns the user (200), and an unknown id answers 404 with a SCIM Error",
        SCIM20,
    ),
    Requirement("SCIM-UPDATE", "A profile update pushed with PUT /Users/{id} is applied", SCIM20),
    Requirement(
        "SCIM-DEACTIVATE",
        "Deactivation and reactivation (active=false/true) are applied, and a deactivated "
        "user stays readable (Okta CRUD test)",
        SCIM_TEST,
    ),
    Requirement(
        "SCIM-PAGINATION",
        "Lists honour startIndex/count and give integer totalResults/startIndex/itemsPerPage, "
        "so Okta's import reads every user",
        SCIM20,
    ),
    Requirement(
        "SCIM-GROUPS",
        "Group Push: create, add members, remove members, rename and delete groups as Okta "
        "sends them",
        SCIM20,
    ),
    Requirement(
        "SCIM-CONTENT-TYPE",
        "Responses are JSON with Content-Type application/scim+json (SCIM 2.0) or "
        "application/json (SCIM 1.1)",
        SCIM_FAQ,
    ),
    Requirement(
        "SCIM-ERRORS",
        "Errors carry the SCIM Error body (schemas, detail, status) that Okta shows to admins",
        SCIM20,
    ),
    Requirement(
        "SCIM-ENTITLEMENTS",
        "SCIM 2.0 with entitlements: each entitlement endpoint answers Okta's Entitlements "
        "test (GET {endpoint}?count=1&startIndex=1: one entitlement, itemsPerPage 1, "
        "numeric startIndex and totalResults)",
        SCIM_ENTITLEMENTS,
    ),
    Requirement(
        "SCIM-RATE-LIMITS",
        "A rate-limited request answers 429 with Retry-After in whole seconds and gets "
        "through within Okta's 10 attempts (Okta pauses 5 minutes without one)",
        SCIM_CONCEPTS,
    ),
    Requirement(
        "SCIM-LATENCY",
        "Every SCIM request is answered within Okta's 60-second socket timeout",
        SCIM_FAQ,
    ),
    Requirement(
        "SCIM-DATA-SAFETY",
        "The test run leaves nothing behind: everything it created is deleted or deactivated",
        SCIM_TEST,
    ),
]

__all__ = ["REQUIREMENTS", "SCIM11", "SCIM20", "WIZARD_AUTH"]
