"""The OIN submission material, checked as the OIN team would (SPEC §8).

Facts and limits: reference/oin-submission.md §1 (Okta's submission prerequisites, the OIN
Wizard's fields and the submissions API's field limits).
"""

from __future__ import annotations

import re

import pytest

from oin_conformance.failures import fail
from oin_conformance.requirements.rules import (
    ORG_AS_FIX,
    custom_issuer_problem,
    scim_wizard_problems,
)
from oin_conformance.roles.browser import Browser, BrowserError
from oin_conformance.runtime import RunContext
from oin_conformance.target import OIN_USE_CASES, SubmissionTarget, Target

LOGO_SIZES = {(244, 244): "circular", (200, 200): "square", (244, 156): "tall", (156, 244): "wide"}
LOGO_FORMATS = {"PNG", "JPEG", "GIF"}
LOGO_MAX_BYTES = 1024 * 1024
GENERIC_LOCAL_PARTS = {
    "support", "help", "helpdesk", "info", "contact", "admin", "sales", "noreply", "no-reply",
    "hello", "team", "service", "customerservice", "customer-service",
}  # fmt: skip
PERSONAL_DOMAINS = {
    "gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com", "live.com",
    "icloud.com", "me.com", "aol.com", "proton.me", "protonmail.com", "gmx.com", "mail.com",
    "yandex.com", "zoho.com",
}  # fmt: skip


@pytest.mark.oin(requirement="SUB-NAME", severity="blocking")
def test_display_name_has_1_to_64_characters(submission: SubmissionTarget) -> None:
    """The display name (catalog title) has 1 to 64 characters."""
    if not 1 <= len(submission.name) <= 64:
        raise fail(
            "The display name is not 1 to 64 characters",
            seen=f"name = {submission.name!r} ({len(submission.name)} characters)",
            expected="1 to 64 characters (the OIN Wizard and the submissions API reject others)",
            fix="Set [submission] name to your product's name, at most 64 characters.",
        )


@pytest.mark.oin(requirement="SUB-DESCRIPTION", severity="blocking")
def test_description_is_given_and_under_1024_characters(submission: SubmissionTarget) -> None:
    """The description is present and shorter than 1024 characters."""
    length = len(submission.description)
    if not 1 <= length < 1024:
        raise fail(
            "The description is missing or too long",
            seen=f"description of {length} characters",
            expected="between 1 and 1023 characters",
            fix="Describe the value the Okta integration brings in under 1024 characters.",
        )


@pytest.mark.oin(requirement="SUB-USE-CASES", severity="blocking")
def test_at_most_three_known_use_cases(submission: SubmissionTarget) -> None:
    """At most three use cases, each one of those the OIN Wizard offers."""
    unknown = [u for u in submission.use_cases if u not in OIN_USE_CASES]
    if len(submission.use_cases) > 3 or unknown:
        raise fail(
            "The use cases cannot be chosen in the OIN Wizard",
            seen=f"use_cases = {submission.use_cases!r}"
            + (f"; not offered: {unknown!r}" if unknown else ""),
            expected=f"at most 3 of: {', '.join(OIN_USE_CASES)}",
            fix="Pick at most three of the Wizard's use cases; Okta adds Single Sign-On / "
            "Lifecycle Management itself.",
        )


@pytest.mark.oin(requirement="SUB-LOGO", severity="blocking")
def test_logo_is_png_jpg_or_gif_under_1mb_in_an_allowed_size(
    submission: SubmissionTarget, oin_target: Target
) -> None:
    """The logo file is PNG, JPG or GIF, under 1 MB, in one of the four allowed sizes."""
    from PIL import Image, UnidentifiedImageError

    fix = (
        "Export the logo as PNG (transparent background preferred) at exactly 200x200 "
        "(square), 244x244 (circular), 244x156 or 156x244 pixels, under 1 MB."
    )
    if not submission.logo:
        raise fail("No logo is given", seen="[submission] logo is empty",
                   expected="the path of the logo file", fix=fix)  # fmt: skip
    path = submission.logo_path(oin_target.path.parent)
    if not path.is_file():
        raise fail("The logo file does not exist", seen=f"{path}", expected="a file", fix=fix)
    size = path.stat().st_size
    try:
        with Image.open(path) as image:
            fmt, dims = image.format or "?", image.size
    except (UnidentifiedImageError, OSError) as exc:
        raise fail(
            "The logo is not an image",
            seen=f"{path.name}: {exc}",
            expected="PNG, JPG or GIF",
            fix=fix,
        ) from None
    problems = []
    if fmt not in LOGO_FORMATS:
        problems.append(f"format {fmt}")
    if size >= LOGO_MAX_BYTES:
        problems.append(f"{size} bytes")
    if dims not in LOGO_SIZES:
        problems.append(f"{dims[0]}x{dims[1]} pixels")
    if problems:
        raise fail(
            "The logo would be rejected by the OIN Wizard",
            seen=f"{path.name}: {fmt}, {dims[0]}x{dims[1]} pixels, {size} bytes "
            f"(not allowed: {', '.join(problems)})",
            expected="PNG/JPG/GIF, < 1 MB, one of 200x200, 244x244, 244x156, 156x244",
            fix=fix,
        )


@pytest.mark.oin(requirement="SUB-SUPPORT", severity="blocking")
def test_public_support_contact_is_given(submission: SubmissionTarget) -> None:
    """At least one public customer-support contact (URL, email or phone)."""
    if not any(c.contact_type == "CUSTOMER_SUPPORT" for c in submission.contacts):
        raise fail(
            "No public support contact",
            seen=f"contacts: {[c.contact_type for c in submission.contacts]}",
            expected='a [[submission.contacts]] with contact_type = "CUSTOMER_SUPPORT"',
            fix="Add the support page, email or phone your customers use; it is shown in the "
            "OIN catalog.",
        )


def _is_generic(value_type: str, value: str) -> bool:
    if value_type == "EMAIL":
        local = value.split("@", 1)[0].lower()
        return local in GENERIC_LOCAL_PARTS
    if value_type == "PHONE":
        return bool(re.match(r"^\+?1?[\s-]*\(?8(00|33|44|55|66|77|88)\)?", value.strip()))
    return False


@pytest.mark.oin(requirement="SUB-ESCALATION", severity="blocking")
def test_escalation_contact_is_monitored_and_not_generic(submission: SubmissionTarget) -> None:
    """A private escalation contact for Okta that is not a generic support queue."""
    escalation = [c for c in submission.contacts if c.contact_type == "ESCALATION_SUPPORT"]
    if not escalation:
        raise fail(
            "No escalation contact",
            seen='no contact with contact_type = "ESCALATION_SUPPORT"',
            expected="a monitored email or phone of a person or on-call rotation",
            fix="Add an escalation contact Okta can reach in an emergency.",
        )
    generic = [c.value for c in escalation if _is_generic(c.value_type, c.value)]
    if generic:
        raise fail(
            "The escalation contact is a generic queue",
            seen=f"escalation contact(s): {', '.join(generic)}",
            expected="a monitored, non-generic address (not support@… or a 1-800 number)",
            fix="Give a named engineer's or on-call rotation's address for Okta escalations.",
        )


@pytest.mark.oin(requirement="SUB-TEST-ACCOUNT", severity="blocking")
def test_test_account_is_complete(submission: SubmissionTarget) -> None:
    """The test account gives a sign-in URL, a username and a password."""
    account = submission.test_account
    missing = [
        name
        for name, value in (
            ("url", account.url),
            ("username", account.username),
            ("password", account.password.get_secret_value() if account.password else ""),
        )
        if not value
    ]
    if missing:
        raise fail(
            "The test account is incomplete",
            seen=f"[submission.test_account] lacks {', '.join(missing)}",
            expected="url, username and password of an admin test account",
            fix="Create a dedicated admin test account that stays active during the review.",
        )
    if not account.url.startswith("https://"):
        raise fail(
            "The test account URL is not HTTPS",
            seen=f"url = {account.url}",
            expected="the production https:// sign-in URL",
            fix="Give the static HTTPS sign-in URL of the app.",
        )


@pytest.mark.oin(requirement="SUB-TEST-ACCOUNT", severity="advisory")
def test_test_account_username_is_isvtest(submission: SubmissionTarget) -> None:
    """Okta prefers the test account username isvtest@okta.com."""
    if submission.test_account.username.lower() != "isvtest@okta.com":
        raise fail(
            "The test account is not isvtest@okta.com",
            seen=f"username = {submission.test_account.username!r}",
            expected="isvtest@okta.com (preferred by the OIN team)",
            fix="Create the test account as isvtest@okta.com unless your app cannot.",
        )


def _needed_guides(target: Target, submission: SubmissionTarget) -> set[str]:
    needed = set()
    if target.saml or target.oidc or {"SAML_2_0", "OIDC"} & set(submission.sign_on_modes):
        needed.add("sso")
    if target.scim or "SCIM" in submission.sign_on_modes:
        needed.add("scim")
    return needed


@pytest.mark.oin(requirement="SUB-GUIDE", severity="blocking")
def test_configuration_guide_per_integration_type_is_reachable(
    submission: SubmissionTarget, oin_target: Target, oin_run: RunContext, browser: Browser
) -> None:
    """One customer configuration guide per integration type (SSO, SCIM), reachable by URL."""
    needed = _needed_guides(oin_target, submission)
    missing = sorted(needed - set(submission.guides))
    if missing:
        raise fail(
            "A configuration guide is missing",
            seen=f"guides given for: {sorted(submission.guides) or 'none'}",
            expected=f"a guide URL for each of: {sorted(needed)}",
            fix="Publish one guide per integration type and give its URL under "
            "[submission.guides] (sso = ..., scim = ...).",
        )
    broken = []
    for kind in sorted(needed):
        url = oin_run.url(submission.guides[kind])  # type: ignore[index]
        browser.allow(url)
        try:
            page = browser.get(url)
        except BrowserError as exc:
            broken.append(f"{kind}: {url} -> {exc}")
            continue
        if page.status >= 400 or page.blocked_redirect:
            broken.append(f"{kind}: {url} -> HTTP {page.status}")
    if broken:
        raise fail(
            "A configuration guide cannot be opened",
            seen="\n".join(broken),
            expected="each guide URL answers 200 for an anonymous reader",
            fix="Make the guides public (or at least reachable by the OIN team without a login).",
        )


GUIDE_SECTIONS = (
    "Supported Features",
    "Requirements",
    "Configuration Steps",
    "Attributes and Mapping",
    "Troubleshooting",
)
VARIABLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,1023}$")


@pytest.mark.oin(requirement="SUB-GUIDE-CONTENT", severity="advisory")
def test_configuration_guides_have_the_reviewed_sections(
    submission: SubmissionTarget, oin_target: Target, oin_run: RunContext, browser: Browser
) -> None:
    """Each guide has the sections OIN QA looks for (Supported Features, Requirements,
    Configuration Steps, Attributes and Mapping, Known Issues/Troubleshooting; N/A allowed)."""
    kinds = sorted(_needed_guides(oin_target, submission) & set(submission.guides))
    if not kinds:
        pytest.skip("no configuration guide is given (reported by the reachability check)")
    missing: list[str] = []
    for kind in kinds:
        url = oin_run.url(submission.guides[kind])  # type: ignore[index]
        browser.allow(url)
        try:
            page = browser.get(url)
        except BrowserError:
            continue  # unreachable guides are the blocking check's finding
        text = page.text.lower()
        absent = [name for name in GUIDE_SECTIONS if name.lower() not in text]
        if absent:
            missing.append(f"{kind} guide {url}: no {', '.join(absent)}")
    if missing:
        raise fail(
            "A configuration guide lacks sections the OIN team reviews",
            seen="\n".join(missing),
            expected="headings " + ", ".join(GUIDE_SECTIONS) + " (write N/A where one is empty)",
            fix="Add the missing headings; OIN QA's 'Verify Configuration Guide' case looks "
            "for them.",
        )


@pytest.mark.oin(requirement="SUB-VARIABLES", severity="blocking")
def test_tenant_settings_are_well_formed_and_at_most_eight(submission: SubmissionTarget) -> None:
    """Tenant settings (variables) each have a label and a lowercase name; at most eight."""
    bad = [
        v.name
        for v in submission.variables
        if not VARIABLE_NAME.match(v.name) or not v.label.strip()
    ]
    if bad or len(submission.variables) > 8:
        raise fail(
            "The tenant settings would be rejected by the OIN Wizard",
            seen=f"{len(submission.variables)} variables; malformed: {bad or 'none'}",
            expected="at most 8, each with a label and a name of lowercase letters, digits and "
            "underscores starting with a letter",
            fix="Rename the variables (e.g. subdomain, tenant_id), give each a label, and keep "
            "at most eight.",
        )


@pytest.mark.oin(requirement="SUB-VARIABLES", severity="advisory")
def test_at_most_three_tenant_settings(submission: SubmissionTarget) -> None:
    """Okta's prerequisites still advise at most three tenant settings."""
    if len(submission.variables) > 3:
        raise fail(
            "More than three tenant settings",
            seen=f"{len(submission.variables)} variables: "
            + ", ".join(v.name for v in submission.variables),
            expected="at most three (the Wizard takes eight; older OIN limits say three)",
            fix="Derive what you can from one variable (e.g. the subdomain); each one is a field "
            "every customer admin must fill in.",
        )


@pytest.mark.oin(requirement="SUB-SUBMITTER", severity="blocking")
def test_submitter_uses_a_company_email(submission: SubmissionTarget) -> None:
    """Submissions from personal email accounts are not reviewed."""
    domain = submission.submitter_email.rpartition("@")[2].lower()
    if not domain or domain in PERSONAL_DOMAINS:
        raise fail(
            "The submitter's email is not a company address",
            seen=f"submitter_email = {submission.submitter_email!r}",
            expected="an address on your company's domain",
            fix="Submit from an Okta admin account with a company-domain email.",
        )


@pytest.mark.oin(requirement="SUB-NO-SWA", severity="blocking")
def test_no_swa_sign_on_mode(submission: SubmissionTarget) -> None:
    """The OIN accepts no new SWA integrations."""
    if "SWA" in submission.sign_on_modes:
        raise fail(
            "The submission uses SWA",
            seen=f"sign_on_modes = {submission.sign_on_modes}",
            expected="SAML_2_0 and/or OIDC (and SCIM for provisioning)",
            fix="Integrate with SAML 2.0 or OIDC instead of Secure Web Authentication.",
        )


@pytest.mark.oin(requirement="SUB-OIDC-ORG-AS", severity="blocking")
def test_oidc_issuer_is_the_org_authorization_server(oin_target: Target) -> None:
    """An OIDC integration is configured with the org authorization server's issuer."""
    if oin_target.oidc is None:
        pytest.skip("the target has no [oidc] section")
    problem = custom_issuer_problem(oin_target.oidc.issuer)
    if problem:
        raise fail(
            "The app is configured for a custom or default authorization server",
            seen=f"[oidc] {problem}",
            expected="the org URL with no path (https://{yourOktaDomain})",
            fix=ORG_AS_FIX,
        )


@pytest.mark.oin(requirement="SUB-SCIM-WIZARD", severity="blocking")
def test_scim_is_submittable_through_the_wizard(
    oin_target: Target, submission: SubmissionTarget
) -> None:
    """Wizard SCIM submissions need SCIM 2.0 and header, bearer or OAuth 2 authentication
    (the one check of this rule: a SCIM 1.1 or Basic-auth server is tested like any other,
    and only its OIN submission is blocked)."""
    scim = oin_target.scim
    if scim is None:
        pytest.skip("the target has no [scim] section")
    problems = scim_wizard_problems(scim.version, scim.auth.mode)
    if problems:
        raise fail(
            "This SCIM integration cannot be submitted through the OIN Wizard",
            seen="; ".join(problems),
            expected='version = "2.0" with auth mode header, bearer or oauth2',
            fix="Offer a SCIM 2.0 endpoint with token or OAuth 2 authentication (SCIM 1.1 and "
            "Basic auth remain possible for private integrations only).",
        )
