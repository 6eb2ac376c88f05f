"""The OIN requirements the checks demonstrate, each linked to the Okta page it comes from.

A check names one of these ids in ``@pytest.mark.oin(requirement=...)``; the report shows the
title and links the page. Facts and sources: ``shared/reference/*.md`` of the project.
"""

from __future__ import annotations

from dataclasses import dataclass

DOCS = "https://developer.okta.com/docs/guides"
PREREQ = f"{DOCS}/submit-app-prereq/main/"
WIZARD_SAML = f"{DOCS}/submit-oin-app/saml2/main/"
WIZARD_OIDC = f"{DOCS}/submit-oin-app/openidconnect/main/"
WIZARD_SCIM = f"{DOCS}/submit-oin-app/scim/main/"
SAML_GUIDE = f"{DOCS}/build-sso-integration/saml2/main/"
OIDC_GUIDE = f"{DOCS}/build-sso-integration/openidconnect/main/"
SCIM_PREP = f"{DOCS}/scim-provisioning-integration-prepare/main/"
SCIM_TEST = f"{DOCS}/scim-provisioning-integration-test/main/"


@dataclass(frozen=True)
class Requirement:
    id: str
    title: str
    url: str


_ALL = [
    # general
    Requirement("GEN-REACHABLE", "The app is reachable at the URLs the submission gives", PREREQ),
    Requirement(
        "GEN-HTTPS",
        "Production URLs (ACS, redirect URIs, SCIM base URL, sign-in URL) use HTTPS",
        PREREQ,
    ),
    Requirement(
        "GEN-PROTOCOL",
        "The integration offers at least one of SAML 2.0, OIDC or SCIM 2.0",
        f"{DOCS}/submit-app-overview/",
    ),
]

REQUIREMENTS: dict[str, Requirement] = {r.id: r for r in _ALL}
PROTOCOL_MODULES = ("saml", "oidc", "scim", "universal_logout", "submission")


def _load_protocol_catalogues() -> None:
    """Each protocol keeps its requirements in ``requirements/<protocol>.py`` (``REQUIREMENTS``)."""
    import importlib

    for name in PROTOCOL_MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            continue
        register(*module.REQUIREMENTS)


_loaded: list[bool] = []


def register(*reqs: Requirement) -> None:
    """Add requirements (protocol suites call this from their own catalogue module)."""
    for req in reqs:
        REQUIREMENTS[req.id] = req


def requirement(req_id: str) -> Requirement:
    if not _loaded:
        _loaded.append(True)
        _load_protocol_catalogues()
    try:
        return REQUIREMENTS[req_id]
    except KeyError:
        raise KeyError(
            f"unknown OIN requirement id {req_id!r}; known: {', '.join(sorted(REQUIREMENTS))}"
        ) from None
