"""OIN rules that more than one check applies, each in one place: the checks ask these
functions and word their findings from them (``shared/reference/oin-submission.md``,
``oidc.md`` §1)."""

from __future__ import annotations

from urllib.parse import urlsplit

#: The fix for an app configured with anything but the org authorization server.
ORG_AS_FIX = (
    "Configure the app with the org authorization server: issuer = the bare Okta org URL "
    "(https://{yourOktaDomain}, no path), discovery at {issuer}/.well-known/openid-configuration, "
    "endpoints under {issuer}/oauth2/v1/. The OIN does not allow custom authorization servers, "
    "including `default`: they exist only in orgs with API Access Management, so the "
    "integration would break in most customer orgs."
)


def custom_issuer_problem(issuer: str) -> str | None:
    """Why ``issuer`` is not an Okta org authorization server, or None (also for none)."""
    if not issuer:
        return None
    path = urlsplit(issuer).path.rstrip("/")
    if not path:
        return None
    if path.startswith("/oauth2/"):
        server = path.removeprefix("/oauth2/").split("/")[0]
        which = "the `default` custom" if server == "default" else f"the custom ({server})"
        return f"issuer {issuer!r} names {which} authorization server"
    return f"issuer {issuer!r} has a path ({path}); an Okta org URL has none"


#: SCIM authentication modes the OIN Wizard offers.
WIZARD_SCIM_AUTH = ("header", "bearer", "oauth2")


def scim_wizard_problems(version: str, auth_mode: str) -> list[str]:
    """What keeps a SCIM integration from being submitted through the OIN Wizard: it takes
    SCIM 2.0 with Header, Bearer or OAuth 2 authentication (SCIM 1.1 and Basic auth remain
    possible for private integrations only)."""
    problems = []
    if version != "2.0":
        problems.append(f'version = "{version}" (the Wizard accepts SCIM 2.0 only)')
    if auth_mode not in WIZARD_SCIM_AUTH:
        problems.append(f'auth mode = "{auth_mode}" (the Wizard offers header, bearer, oauth2)')
    return problems
