"""Protocol roles the harness plays: browser, in-process app server, and (in later
modules) Okta's SAML IdP, OIDC provider and SCIM client. Nothing here imports pytest,
``suites`` or ``report``."""
