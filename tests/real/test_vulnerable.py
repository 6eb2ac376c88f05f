"""Published, advisory-listed vulnerable versions of widely used SAML and OIDC libraries, each
beside its fixed version (SPEC §10 "Proof"; issue 13): the catalogue must catch each
advisory with an attack of the advisory's own shape, and the fix must pass that attack.

Each *build* is one library version in a small app used as its documentation shows and
configured with the harness's IdP metadata or OP: the node apps of ``fixtures/node_apps``
(``saml-sp.mjs``, and ``vulnerable/passport-saml-sp.mjs`` / ``vulnerable/samlify-sp.mjs``) run
on the exact npm packages of one folder of ``fixtures/node_apps/vulnerable/`` (its
package-lock.json pins the vulnerable release *and* the dependencies of its day, or a later
fix in a dependency would hide the hole); the Python apps of ``fixtures/vulnerable/`` run in
a side venv ``.venv-vulnerable/<name>`` beside the project's ``.venv`` (exact pins in
``fixtures/vulnerable/<library>/<name>.txt``), the fixed versions in the project's ``.venv``.
``.ci/run`` installs all of them.

One plugin run per build, restricted with ``--oin-check`` to the hostile-response /
forged-token checks and the positive sign-in they are controlled by. Each run asserts:

* the genuine sign-in works and nothing is inconclusive;
* for every :data:`PAIRS` entry the build is the vulnerable side of, the advisory-shaped
  attack checks fail; for every one it is the fixed side of, they pass;
* the build's findings among the checks run are exactly its documented true findings
  (:attr:`Build.findings`, each with its reason): anything else is a false failure.

Without the side venvs or npm folders the tests skip with the command that installs them;
in CI (``CI=true``) a missing one fails instead.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, REPO
from tests.real.harness import (
    FOUND,
    SIGNED_IN_AS,
    TEST_USER,
    UNSPECIFIED,
    Program,
    SuiteRun,
    free_ports,
    idp_metadata,
    run_suite,
    saml_section,
    split_log,
    write_target,
)

pytestmark = pytest.mark.slow

NODE = shutil.which("node")
XMLSEC1 = shutil.which("xmlsec1")
NODE_APPS = FIXTURES / "node_apps"
VULNERABLE_NPM = NODE_APPS / "vulnerable"
#: The side venvs ``.ci/run`` creates, one per pinned vulnerable Python library.
SIDE_VENVS = REPO / ".venv-vulnerable"
IN_CI = os.environ.get("CI") == "true"

H = "saml.refuses_hostile_response"
FORGED = "oidc.refuses_forged_id_token"
#: The node SAML apps (same routes, same configuration): ../saml-sp.mjs and two beside it.
NODE_SAML_APPS = ("saml-sp", "passport-saml-sp", "samlify-sp")
#: What each run checks: the refusals, and the genuine sign-in that controls them.
CHECKS = {
    "saml": ("saml.signs_in_with_idp_initiated_sso", f"{H}[*]"),
    "oidc": ("oidc.sp_initiated_sign_in", f"{FORGED}[*]"),
}


@dataclass(frozen=True)
class Build:
    """One library version in its app.

    ``app``: ``saml-sp`` / ``passport-saml-sp`` / ``samlify-sp`` (node, on the packages of
    ``fixtures/node_apps/<packages>``), ``pysaml2-sp`` or ``authlib-rp`` (Python, in the side
    venv ``venv``, or the project's interpreter when ``venv`` is empty). ``findings``: check
    id -> why it is a true finding of this version (every FOUND outcome among the checks run).
    """

    name: str
    title: str
    app: str
    packages: str = ""
    venv: str = ""
    findings: Mapping[str, str] = field(default_factory=dict)

    @property
    def protocol(self) -> str:
        return "oidc" if self.app.endswith("-rp") else "saml"

    @property
    def on_node(self) -> bool:
        return self.app in NODE_SAML_APPS

    def missing(self) -> str | None:
        """Why this build cannot run here (None when it can)."""
        if self.on_node:
            if NODE is None:
                return "node is not installed (these tests need node >= 20)"
            folder = NODE_APPS / self.packages
            if not (folder / "node_modules").is_dir():
                rel = folder.relative_to(REPO)
                return f"{rel}/node_modules is missing: run `npm ci --prefix {rel}`"
            return None
        if self.app == "pysaml2-sp" and XMLSEC1 is None:
            return "pysaml2 needs the xmlsec1 binary (apt install xmlsec1)"
        if not self.python().exists():
            side = f".venv-vulnerable/{self.venv}"
            pins = next((FIXTURES / "vulnerable").glob(f"*/{self.venv}.txt"))
            return (
                f"{side} is missing: run `python3 -m venv {side} && {side}/bin/pip install "
                f"-r {pins.relative_to(REPO)}` (as .ci/run does)"
            )
        return None

    def python(self) -> Path:
        return SIDE_VENVS / self.venv / "bin" / "python" if self.venv else Path(sys.executable)


@dataclass(frozen=True)
class Pair:
    """An advisory: its vulnerable build, the build with the fix, and the catalogue's attacks
    of the advisory's shape (check ids)."""

    library: str
    vulnerable: str
    fixed: str
    advisories: tuple[tuple[str, str], ...]
    attacks: tuple[str, ...]


# -- what is known of each version -----------------------------------------------------------

#: A DOCTYPE without entities, SHA-1 signatures, an unknown InResponseTo: accepted by most of
#: them, advisory (see suites/saml/test_security.py for why each is not blocking).
DOCTYPE = {f"{H}[doctype_only]": "the XML parser accepts a DOCTYPE without entities"}
SHA1 = {f"{H}[sha1_signature]": "rsa-sha1 is accepted and the library offers no way to refuse it"}
PYSAML2_ALWAYS = {
    f"{H}[doctype_only]": "pysaml2 parses a DOCTYPE without entities (defusedxml refuses "
    "entities only)",
    f"{H}[sha1_signature]": "pysaml2 accepts rsa-sha1 (tests/saml/test_saml_suite.py)",
    f"{H}[unknown_in_response_to]": "allow_unsolicited (IdP-initiated sign-in) accepts a "
    "response to a request the SP never sent",
}
#: node-saml before 5.1.0 processes the assertion of the document it parsed, not the signed
#: bytes (CVE-2025-54419), and xml-crypto's canonicalisation writes a processing
#: instruction's data as text: `ada@example.com<?x .evil.test?>` digests as the genuine
#: `ada@example.com.evil.test`, and xml2js reads `ada@example.com`.
PI_UNSIGNED_DOCUMENT = (
    "the assertion is read from the parsed document, not from the signed bytes, and "
    "xml-crypto canonicalises a processing instruction's data as text (CVE-2025-54419's root "
    "cause)"
)
#: passport-saml 3 (and the node-saml code it bundles) as its README configures it: the
#: signature, the time window and the Audience are checked, nothing else of the profile.
PASSPORT_SAML_3 = {
    **DOCTYPE,
    **SHA1,
    f"{H}[comment_in_digest_value]": "xml-crypto 2.1.3, its dependency of the day, reads a "
    "comment in DigestValue (CVE-2025-29775, fixed in xml-crypto 2.1.6)",
    f"{H}[pi_in_nameid]": f"the node-saml code passport-saml 3 bundles: {PI_UNSIGNED_DOCUMENT}",
    f"{H}[replay]": "passport-saml keeps no assertion IDs (nor does the app, as its README shows)",
    f"{H}[wrong_recipient]": "passport-saml 3 never reads SubjectConfirmationData/@Recipient",
    f"{H}[lookalike_recipient]": "the same: Recipient is never read",
    f"{H}[wrong_destination]": "passport-saml 3 never reads Response/@Destination",
    f"{H}[lookalike_destination]": "the same: Destination is never read",
    f"{H}[wrong_issuer]": "passport-saml 3 compares the Issuer only with idpIssuer set "
    "(not in its README's configuration)",
    f"{H}[missing_issuer]": "the same: an Issuer is not required",
    f"{H}[non_success_status]": "with a validly signed assertion present the StatusCode is "
    "not read",
    f"{H}[no_bearer_confirmation]": "a SubjectConfirmation is checked only when present",
    f"{H}[unknown_in_response_to]": "validateInResponseTo is off by default",
}
#: samlify as its README configures it (with the xmllint schema validator).
SAMLIFY = {
    **DOCTYPE,
    **SHA1,
    f"{H}[several_references]": "samlify verifies a signature whose SignedInfo holds two "
    "References (SAML core 5.4.2 allows one)",
    f"{H}[replay]": "samlify keeps no assertion IDs (nor does the app, as its README shows)",
    f"{H}[wrong_audience]": "samlify never compares the Audience with the SP's entity ID",
    f"{H}[wrong_recipient]": "samlify never compares SubjectConfirmationData/@Recipient with "
    "the ACS URL",
    f"{H}[lookalike_recipient]": "the same: Recipient is never compared",
    f"{H}[wrong_destination]": "samlify never compares Response/@Destination with the ACS URL",
    f"{H}[lookalike_destination]": "the same: Destination is never compared",
    f"{H}[no_bearer_confirmation]": "a SubjectConfirmation is checked only when present",
    f"{H}[unknown_in_response_to]": "samlify does not track the AuthnRequests it sent",
}
#: samlify before 2.10.0 reads the assertion from the unverified document with its own
#: extractor, which takes a NameID's or AttributeValue's first text node.
SAMLIFY_2_9_TEXT = (
    "samlify before 2.10.0 reads the assertion from the unverified document, and a NameID's "
    "first text node only"
)

BUILDS: tuple[Build, ...] = (
    Build(
        "node-saml-5.0.0",
        "@node-saml/node-saml 5.0.0 + xml-crypto 6.0.0",
        "saml-sp",
        packages="vulnerable/node-saml-5.0.0",
        findings={
            **DOCTYPE,
            **SHA1,
            f"{H}[comment_in_digest_value]": "xml-crypto 6.0.0 reads a comment in DigestValue "
            "(CVE-2025-29775, GHSA-x3m8-899r-f7c3)",
            f"{H}[pi_in_nameid]": PI_UNSIGNED_DOCUMENT,
        },
    ),
    Build(
        "node-saml-5.0.1",
        "@node-saml/node-saml 5.0.1 + xml-crypto 6.0.1",
        "saml-sp",
        packages="vulnerable/node-saml-5.0.1",
        findings={**DOCTYPE, **SHA1, f"{H}[pi_in_nameid]": PI_UNSIGNED_DOCUMENT},
    ),
    Build(
        "node-saml-5.1.0",
        "@node-saml/node-saml 5.1.0 (fixtures/node_apps)",
        "saml-sp",
        findings={**DOCTYPE, **SHA1},
    ),
    Build(
        "passport-saml-3.2.1",
        "passport-saml 3.2.1 + @xmldom/xmldom 0.7.5",
        "passport-saml-sp",
        packages="vulnerable/passport-saml-3.2.1",
        findings={
            **PASSPORT_SAML_3,
            f"{H}[several_roots]": "a valid signature on the document's first root counts for "
            "the assertion of a second root, which xmldom 0.7.5 keeps (CVE-2022-39299)",
        },
    ),
    Build(
        "passport-saml-3.2.2",
        "passport-saml 3.2.2 + @xmldom/xmldom 0.7.5",
        "passport-saml-sp",
        packages="vulnerable/passport-saml-3.2.2",
        findings=PASSPORT_SAML_3,
    ),
    Build(
        "samlify-2.9.1",
        "samlify 2.9.1 + xml-crypto 3.2.1",
        "samlify-sp",
        packages="vulnerable/samlify-2.9.1",
        findings={
            **SAMLIFY,
            f"{H}[response_in_advice]": "samlify before 2.10.0 finds the signed Response by "
            "ID anywhere in the document and reads the outer assertion (CVE-2025-47949)",
            f"{H}[comment_in_nameid]": SAMLIFY_2_9_TEXT,
            f"{H}[pi_in_nameid]": SAMLIFY_2_9_TEXT,
        },
    ),
    Build(
        "samlify-2.10.0",
        "samlify 2.10.0 + xml-crypto 6.1.0",
        "samlify-sp",
        packages="vulnerable/samlify-2.10.0",
        findings=SAMLIFY,
    ),
    Build(
        "pysaml2-6.4.1",
        "pysaml2 6.4.1 (xmlsec1)",
        "pysaml2-sp",
        venv="pysaml2-6.4.1",
        findings={
            **PYSAML2_ALWAYS,
            f"{H}[keyvalue_key]": "xmlsec1 takes the key from the message's ds:KeyValue: "
            "pysaml2 6.4.1 does not pass --enabled-key-data (CVE-2021-21239)",
            f"{H}[hmac_key_in_message]": "the same, with an HMAC key carried in "
            "ds:KeyValue/HMACKeyValue (CVE-2021-21239)",
            f"{H}[signed_response_nested_first_signature]": "xmlsec1 --node-id on the outer "
            "Response verifies the first signature in it, the nested genuine one, and pysaml2 "
            "reads the outer assertion (CVE-2021-21238)",
            f"{H}[xslt_transform]": "pysaml2 6.4.1 lets xmlsec1 apply any transform; pysaml2 "
            "7 allows only enveloped-signature and exclusive c14n",
            f"{H}[xpath_filter_transform]": "the same: an XPath filter leaves the NameID "
            "outside what is signed",
        },
    ),
    Build(
        "pysaml2-7.5",
        "pysaml2 7.5 (xmlsec1; the project's .venv)",
        "pysaml2-sp",
        findings=PYSAML2_ALWAYS,
    ),
    Build(
        "authlib-1.3.0",
        "Authlib 1.3.0",
        "authlib-rp",
        venv="authlib-1.3.0",
        findings={
            f"{FORGED}[hs256_public_key_pem]": "the algorithm comes from the token header and "
            "the PEM public key the app holds is taken as an HMAC secret (CVE-2024-37568)",
        },
    ),
    Build("authlib-current", "Authlib (the project's .venv)", "authlib-rp"),
)
BY_NAME = {b.name: b for b in BUILDS}

#: xml-crypto 6.0.0's other advisory, CVE-2025-29774 (GHSA-9p8x-f768-wp2g: several SignedInfo),
#: is not reachable through node-saml 5.0.0: it accepts a signature only when exactly one
#: Reference (found anywhere under any SignedInfo) names the element it validates, and a
#: second SignedInfo brings a second Reference (second_signed_info and signed_info_in_object
#: are refused by node-saml 5.0.0 for that reason).
PAIRS: tuple[Pair, ...] = (
    Pair(
        "xml-crypto 6.0.0 (under @node-saml/node-saml 5.0.0)",
        "node-saml-5.0.0",
        "node-saml-5.0.1",
        (("CVE-2025-29775", "GHSA-x3m8-899r-f7c3"),),
        (f"{H}[comment_in_digest_value]",),
    ),
    Pair(
        "@node-saml/node-saml 5.0.1",
        "node-saml-5.0.1",
        "node-saml-5.1.0",
        (("CVE-2025-54419", "GHSA-4mxg-3p6v-xgq3"),),
        (f"{H}[pi_in_nameid]",),
    ),
    Pair(
        "passport-saml 3.2.1 with @xmldom/xmldom 0.7.5",
        "passport-saml-3.2.1",
        "passport-saml-3.2.2",
        (("CVE-2022-39299", "GHSA-m974-647v-whv7"),),
        (f"{H}[several_roots]",),
    ),
    Pair(
        "samlify 2.9.1",
        "samlify-2.9.1",
        "samlify-2.10.0",
        (("CVE-2025-47949", "GHSA-r683-v43c-6xqv"),),
        (f"{H}[response_in_advice]",),
    ),
    Pair(
        "pysaml2 6.4.1",
        "pysaml2-6.4.1",
        "pysaml2-7.5",
        (("CVE-2021-21239", "GHSA-5p3x-r448-pc62"),),
        (f"{H}[keyvalue_key]", f"{H}[hmac_key_in_message]"),
    ),
    Pair(
        "pysaml2 6.4.1",
        "pysaml2-6.4.1",
        "pysaml2-7.5",
        (("CVE-2021-21238", "GHSA-f4g9-h89h-jgv9"),),
        (f"{H}[signed_response_nested_first_signature]",),
    ),
    Pair(
        "Authlib 1.3.0",
        "authlib-1.3.0",
        "authlib-current",
        (("CVE-2024-37568", "GHSA-5357-c2jx-v7qh"),),
        (f"{FORGED}[hs256_public_key_pem]",),
    ),
)


def test_the_tables_agree() -> None:
    """Every pair names known builds; its attacks are documented findings of the vulnerable
    build and not of the fixed one."""
    for pair in PAIRS:
        vulnerable, fixed = BY_NAME[pair.vulnerable], BY_NAME[pair.fixed]
        assert set(pair.attacks) <= set(vulnerable.findings), pair
        assert not set(pair.attacks) & set(fixed.findings), pair


# -- running a build -------------------------------------------------------------------------


def _prepare(
    build: Build, folder: Path, port: int, op_port: int
) -> tuple[Path, list[str], dict[str, object]]:
    """The target file, the program's command line and its config for ``build``."""
    base = f"http://127.0.0.1:{port}"
    config: dict[str, object] = {"port": port, "base_url": base}
    if build.app == "authlib-rp":
        client_id, secret = "0oa1authlibrp0000000", "authlib-rp-test-secret-value"
        target = write_target(
            folder,
            name=build.title,
            base_url=base,
            probe_url="/me",
            sections={
                "oidc": {
                    "login_url": "/login",
                    "redirect_uris": ["/auth/callback"],
                    "client_id": client_id,
                    "client_secret": secret,
                    "jit": True,
                },
                "oidc.provider": {"bind": "127.0.0.1", "port": op_port},
            },
        )
        config |= {
            "issuer": f"http://127.0.0.1:{op_port}",
            "client_id": client_id,
            "client_secret": secret,
            "redirect_path": "/auth/callback",
        }
        script = FIXTURES / "vulnerable" / "authlib" / "rp.py"
        return target, [str(build.python()), str(script)], config
    if build.app == "pysaml2-sp":
        # fixtures/pysaml2_sp's own configuration: the NameID names the user.
        target = write_target(
            folder,
            name=build.title,
            base_url=base,
            probe_url="/me",
            contains="Signed in as <b id='user'>{username}</b>",
            sections={"saml": saml_section("https://acme.example/saml/metadata")},
        )
        metadata = folder / "idp-metadata.xml"
        metadata.write_text(idp_metadata(target))
        config |= {
            "idp_metadata_file": str(metadata),
            "test_user": {k: TEST_USER[k] for k in ("username", "first_name", "last_name")},
        }
        script = FIXTURES / "vulnerable" / "pysaml2" / "serve.py"
        return target, [str(build.python()), str(script)], config
    # The node SAML apps: identified by the email attribute (the NameID is the Okta user name,
    # which is not the e-mail address), as in tests/real/test_node.py.
    entity_id = f"{base}/saml/metadata"
    target = write_target(
        folder,
        name=build.title,
        base_url=base,
        probe_url="/me",
        contains=SIGNED_IN_AS,
        user={**TEST_USER, "username": "alovelace"},
        sections={"saml": saml_section(entity_id)},
    )
    metadata = folder / "idp-metadata.xml"
    metadata.write_text(idp_metadata(target))
    config |= {
        "idp_metadata_file": str(metadata),
        "entity_id": entity_id,
        "identifier_format": UNSPECIFIED,
        # saml-sp.mjs: the SAML profile checks node-saml leaves to apps, made by the app.
        "profile_checks": True,
    }
    script = NODE_APPS / f"{build.app}.mjs"
    if build.app != "saml-sp":
        script = VULNERABLE_NPM / f"{build.app}.mjs"
    assert NODE is not None
    argv = [NODE, "--import", str(VULNERABLE_NPM / "packages-from.mjs"), str(script)]
    return target, argv, config


def run_build(build: Build, folder: Path) -> tuple[SuiteRun, Program]:
    """Start ``build``'s app and run the plugin's refusal checks against it once."""
    port, op_port = free_ports(2)
    target, argv, config = _prepare(build, folder, port, op_port)
    config_path = folder / "app-config.json"
    config_path.write_text(json.dumps(config, indent=2))
    env = {"OIN_NODE_PACKAGES": str(NODE_APPS / build.packages)} if build.on_node else {}
    program = Program(
        build.title, [*argv, str(config_path)], port=port, log=folder / "app.log", env=env
    )
    selection = [arg for check in CHECKS[build.protocol] for arg in ("--oin-check", check)]
    with program:
        result = run_suite(
            build.title,
            target,
            "saml or general" if build.protocol == "saml" else "oidc or general",
            *selection,
            check_log=program.log,
        )
    return result, program


def _app_said(log: str) -> dict[str, str]:
    """check id -> the app's refusals (or sign-ins) logged while that check ran."""
    out: dict[str, str] = {}
    for check, lines in split_log(log).items():
        said = [line.split("] ", 1)[-1] for line in lines if line.startswith("[")]
        refusals = [line for line in said if "refused" in line or "ERROR" in line.upper()]
        out[check] = " / ".join(dict.fromkeys(refusals or said))[:300]
    return out


def _require(build: Build) -> None:
    why = build.missing()
    if why is None:
        return
    if IN_CI:
        pytest.fail(f"{build.title}: {why} (CI installs it in .ci/run)")
    pytest.skip(f"{build.title}: {why}")


@pytest.fixture
def folder(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    """The run's folder; named after a failure so the app's log can be read."""
    yield tmp_path
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(f"run folder kept for the app's log: {tmp_path}")


@pytest.mark.parametrize("build", [pytest.param(b, id=b.name) for b in BUILDS])
def test_version_against_its_advisories(build: Build, folder: Path) -> None:
    """One plugin run: the advisories of a vulnerable build are caught by attacks of their
    shape, a fixed build passes them, and nothing else is found but the documented."""
    _require(build)
    result, program = run_build(build, folder)
    said = _app_said(program.log_text())
    print()
    print(result.table(said))
    context = result.explain(said)
    positive = CHECKS[build.protocol][0]
    assert result.run.returncode in (0, 1), context
    assert result.outcomes.get(positive) == "passed", context
    assert result.inconclusive == set(), context
    for pair in PAIRS:
        for check in pair.attacks:
            outcome = result.outcomes.get(check)
            if pair.vulnerable == build.name:
                assert outcome in FOUND, (
                    f"{pair.library} ({', '.join(c for c, _ in pair.advisories)}): {check} "
                    f"is {outcome} on the vulnerable version\n{context}"
                )
            if pair.fixed == build.name:
                assert outcome == "passed", (
                    f"{check} is {outcome} on {build.title}, the fix of {pair.library}\n{context}"
                )
    found = result.blocking_failures | result.advisories
    assert found == set(build.findings), context
