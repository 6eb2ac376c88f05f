"""The submission-material suite: the reference material passes, each flaw is caught by
exactly the check meant for it."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import FIXTURES, TINY_TARGET, run_plugin, write_target

GOOD = """
[scim]
base_url = "/scim/v2"
[scim.auth]
mode = "bearer"
token = "not-used-here"

[submission]
name = "Acme"
description = "Acme with Okta: single sign-on and provisioning."
use_cases = ["Automation"]
logo = "logo.png"
submitter_email = "oin@acme.example"
sign_on_modes = ["SAML_2_0", "SCIM"]
[[submission.contacts]]
contact_type = "CUSTOMER_SUPPORT"
value_type = "URL"
value = "https://support.acme.example"
[[submission.contacts]]
contact_type = "ESCALATION_SUPPORT"
value_type = "EMAIL"
value = "jane.doe@acme.example"
[submission.test_account]
url = "https://app.acme.example/login"
username = "isvtest@okta.com"
password = "pw-for-the-analyst"
[submission.guides]
sso = "/guide/sso"
scim = "/guide/scim"
[[submission.variables]]
name = "subdomain"
label = "Subdomain"
[[submission.variables]]
name = "region"
label = "Region"
"""

GUIDE_APP = """
SECTIONS = ["Supported Features", "Requirements", "Configuration Steps",
            "Attributes and Mapping", "Known Issues/Troubleshooting and Tips"]


def app(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/boom":
        start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
        return [b"boom"]
    start_response("200 OK", [("Content-Type", "text/html")])
    if path.startswith("/guide/"):
        return ["".join(f"<h2>{s}</h2>" for s in SECTIONS).encode()]
    return [b"<p>a page without the guide's sections</p>"]
"""

# flaw -> (text to replace, replacement, the one check that must catch it)
FLAWS = {
    "long name": ('name = "Acme"', f'name = "{"A" * 65}"', "submission.display_name_has_1_to_64_characters"),
    "empty description": ('description = "Acme with Okta: single sign-on and provisioning."', 'description = ""', "submission.description_is_given_and_under_1024_characters"),
    "four use cases": ('use_cases = ["Automation"]', 'use_cases = ["Automation", "Zero Trust", "Centralized Logging", "Identity Verification"]', "submission.at_most_three_known_use_cases"),
    "bad logo": ('logo = "logo.png"', 'logo = "bad-logo.png"', "submission.logo_is_png_jpg_or_gif_under_1mb_in_an_allowed_size"),
    "generic escalation": ('value = "jane.doe@acme.example"', 'value = "support@acme.example"', "submission.escalation_contact_is_monitored_and_not_generic"),
    "personal submitter": ('submitter_email = "oin@acme.example"', 'submitter_email = "jane@gmail.com"', "submission.submitter_uses_a_company_email"),
    "swa": ('sign_on_modes = ["SAML_2_0", "SCIM"]', 'sign_on_modes = ["SWA", "SCIM"]', "submission.no_swa_sign_on_mode"),
    "broken guide": ('scim = "/guide/scim"', 'scim = "/boom"', "submission.configuration_guide_per_integration_type_is_reachable"),
    "no password": ('password = "pw-for-the-analyst"', "", "submission.test_account_is_complete"),
    "scim 1.1": ('base_url = "/scim/v2"', 'base_url = "/scim/v1"\nversion = "1.1"', "submission.scim_is_submittable_through_the_wizard"),
    "other test user": ('username = "isvtest@okta.com"', 'username = "qa@acme.example"', "submission.test_account_username_is_isvtest"),
    "guide without sections": ('sso = "/guide/sso"', 'sso = "/plain"', "submission.configuration_guides_have_the_reviewed_sections"),
    "bad variable name": ('name = "region"', 'name = "Region-Code"', "submission.tenant_settings_are_well_formed_and_at_most_eight"),
    "four variables": ('label = "Subdomain"', 'label = "Subdomain"\n[[submission.variables]]\nname = "site"\nlabel = "Site"\n[[submission.variables]]\nname = "org_id"\nlabel = "Org"', "submission.at_most_three_tenant_settings"),
}  # fmt: skip


def _run(folder: Path, body: str) -> dict[str, str]:
    shutil.copy(FIXTURES / "reference_app" / "logo.png", folder / "logo.png")
    shutil.copy(FIXTURES / "bad-logo.png", folder / "bad-logo.png")
    (folder / "guideapp.py").write_text(GUIDE_APP)
    target = write_target(folder, TINY_TARGET.replace("tinyapp:app", "guideapp:app") + body)
    run = run_plugin(f"--oin-target={target}", "-m", "submission", cwd=folder)
    assert run.returncode in (0, 1), run.stdout + run.stderr
    return run.outcomes()


def test_good_material_passes_every_check(tiny_app: Path) -> None:
    outcomes = _run(tiny_app, GOOD)
    assert outcomes, "no submission checks ran"
    bad = {k: v for k, v in outcomes.items() if v not in ("passed", "skipped")}
    assert bad == {}


def test_each_flaw_is_caught_by_its_check(tiny_app: Path) -> None:
    body = GOOD
    for old, new, _ in FLAWS.values():
        assert old in body, old
        body = body.replace(old, new)
    outcomes = _run(tiny_app, body)
    failed = {k for k, v in outcomes.items() if v == "failed"}
    assert failed == {check for _, _, check in FLAWS.values()}
