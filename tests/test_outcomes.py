"""Honest outcomes (issue 10, items 6-8; SPEC §10): every outcome rule through a real pytest
run of the plugin — exit status, readiness.json, JUnit XML, terminal and HTML."""

from __future__ import annotations

import html as htmllib
import json
import re
import shutil
import socket
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from oin_conformance.report.model import CheckResult, app_verdict, protocol_verdicts
from oin_conformance.runtime import suites_dir
from tests.conftest import TINY_TARGET, PluginRun, run_plugin, write_target

# -- helpers -------------------------------------------------------------------------------


def junit_cases(run: PluginRun) -> dict[str, ET.Element]:
    """JUnit testcases by their check_id property."""
    root = ET.parse(run.report_dir / "junit.xml").getroot()
    cases = {}
    for case in root.iter("testcase"):
        props = junit_props(case)
        cases[props.get("check_id", case.get("name", ""))] = case
    return cases


def junit_props(case: ET.Element) -> dict[str, str]:
    return {p.get("name", ""): p.get("value", "") for p in case.iter("property")}


def html_rows(run: PluginRun) -> list[dict[str, Any]]:
    """The rows pytest-html renders (its JSON data blob)."""
    page = (run.report_dir / "readiness.html").read_text()
    match = re.search(r'data-jsonblob="([^"]*)"', page)
    assert match, "no pytest-html data blob"
    data = json.loads(htmllib.unescape(match.group(1)))
    return [row for rows in data["tests"].values() for row in rows]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SCHEMA = json.loads(
    (
        Path(__file__).resolve().parent.parent / "oin_conformance/schema/readiness.schema.json"
    ).read_text()
)


def valid(data: dict[str, Any]) -> None:
    import jsonschema

    jsonschema.validate(data, SCHEMA)


# -- partial runs: incomplete --------------------------------------------------------------


def test_partial_run_is_incomplete_and_names_what_did_not_run(tiny_app: Path) -> None:
    target = write_target(tiny_app, TINY_TARGET)
    run = run_plugin(f"--oin-target={target}", "--oin-check=general.app_is_reachable", cwd=tiny_app)
    # Nothing selected failed: exit 0; but the run is no verdict on the app.
    assert run.returncode == 0, run.stdout
    data = run.readiness
    valid(data)
    assert data["schema_version"] == 2
    assert data["verdict"] == "incomplete" and data["ready"] is False
    rest = [
        "general.production_urls_use_https",
        "general.loopback_urls_are_for_testing_only",
        "general.target_describes_a_protocol",
    ]
    assert data["not_run"] == rest
    general = data["protocols"]["general"]
    assert general["status"] == "incomplete" and general["not_run"] == rest
    # Protocols the target does not configure are not what makes the run incomplete.
    assert data["protocols"]["saml"]["status"] == "not_configured"
    assert data["protocols"]["saml"]["not_run"] == []
    assert run.outcomes() == {"general.app_is_reachable": "passed"}
    assert "INCOMPLETE" in run.stdout
    assert "not run: 3 check(s) that apply to the target did not run: " in run.stdout
    assert "general.target_describes_a_protocol" in run.stdout
    cases = junit_cases(run)
    assert list(cases) == ["general.app_is_reachable"]
    props = junit_props(cases["general.app_is_reachable"])
    assert props == {
        "check_id": "general.app_is_reachable",
        "severity": "blocking",
        "requirement": "GEN-REACHABLE",
        "outcome": "passed",
    }
    assert "INCOMPLETE" in (run.report_dir / "readiness.html").read_text()
    # The same under pytest-xdist (the workers tell the controller what was deselected).
    (tiny_app / "par").mkdir()
    par = run_plugin(
        f"--oin-target={target}", "--oin-check=general.app_is_reachable", "-n", "2",
        cwd=tiny_app / "par",
    )  # fmt: skip
    assert par.returncode == 0, par.stdout
    assert par.readiness["verdict"] == "incomplete"
    assert par.readiness["not_run"] == rest


def test_marker_and_keyword_selection_are_incomplete_too(tiny_app: Path) -> None:
    target = write_target(tiny_app, TINY_TARGET + '\n[submission]\nname = "Tiny"\n')
    run = run_plugin(f"--oin-target={target}", "-m", "general", cwd=tiny_app)
    data = run.readiness
    # general ran whole; the configured submission suite did not run at all.
    assert data["protocols"]["general"]["not_run"] == []
    assert data["protocols"]["submission"]["status"] == "not_run"
    assert data["verdict"] == "not_ready"  # general.target_describes_a_protocol failed
    assert run.returncode == 1
    run = run_plugin(
        f"--oin-target={target}", "-k", "app_is_reachable or production_urls", cwd=tiny_app
    )
    data = run.readiness
    assert data["verdict"] == "incomplete", data["protocols"]
    assert "general.target_describes_a_protocol" in data["not_run"]
    assert data["protocols"]["submission"]["status"] == "not_run"
    assert run.returncode == 0
    # A suite path on the command line leaves the other suites out: they are named too.
    run = run_plugin(f"--oin-target={target}", str(suites_dir() / "general"), cwd=tiny_app)
    data = run.readiness
    assert data["protocols"]["submission"]["status"] == "not_run"
    submission = [i for i in data["not_run"] if i.startswith("submission.")]
    assert len(submission) > 10 and data["protocols"]["submission"]["not_run"] == submission
    assert not [i for i in data["not_run"] if i.startswith(("saml.", "oidc.", "scim."))]


def test_collect_only_writes_no_report(tiny_app: Path) -> None:
    target = write_target(tiny_app, TINY_TARGET)
    run = run_plugin(f"--oin-target={target}", "--collect-only", "-q", cwd=tiny_app)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "general/test_general.py::test_app_is_reachable" in run.stdout
    assert not run.report_dir.exists()
    assert "OIN readiness" not in run.stdout


# -- exit status: the plugin never hides what failed outside its suites --------------------

ISV_TEST = """
def test_isv_own_behaviour():
    assert 1 + 1 == 3, "the ISV's own test fails"
"""


def test_isv_test_failing_beside_the_suites_fails_the_run(tiny_app: Path) -> None:
    (tiny_app / "test_isv.py").write_text(ISV_TEST)
    target = write_target(tiny_app, TINY_TARGET)
    env = {"OIN_TARGET": str(target)}
    # The ISV's tests and the suites in one run; the suites' selection passes.
    both = run_plugin(
        "test_isv.py", str(suites_dir()), "--oin-check=general.app_is_reachable",
        cwd=tiny_app, env=env,
    )  # fmt: skip
    assert both.outcomes() == {"general.app_is_reachable": "passed"}
    assert both.returncode == 1, both.stdout
    assert "test_isv_own_behaviour" in both.stdout
    # The target in the ini key and only the ISV's tests on the command line: the suites
    # do not run and no report is written (README "The target file"), and the ISV's
    # failure is the exit status.
    (tiny_app / "pytest.ini").write_text(f"[pytest]\noin_target = {target}\n")
    shutil.rmtree(both.report_dir)
    alone = run_plugin("test_isv.py", cwd=tiny_app)
    assert alone.returncode == 1, alone.stdout
    assert not alone.report_dir.exists()


# -- advisory findings ---------------------------------------------------------------------


def test_advisory_only_run_exits_0_and_is_no_junit_failure(tiny_app: Path) -> None:
    target = write_target(
        tiny_app,
        TINY_TARGET.replace('serve = "tinyapp:app"', 'base_url = "http://127.0.0.1:9"'),
    )
    check = "general.loopback_urls_are_for_testing_only"
    run = run_plugin(f"--oin-target={target}", f"--oin-check={check}", "-v", cwd=tiny_app)
    assert run.returncode == 0, run.stdout
    assert re.search(r"test_loopback_urls_are_for_testing_only ADVISORY", run.stdout)
    assert "1 advisory" in run.stdout and "failed" not in run.stdout.splitlines()[-1]
    data = run.readiness
    assert data["advisories"] == [check]
    assert data["blocking_failures"] == [] and data["inconclusive"] == []
    assert run.check(check)["outcome"] == "failed"
    assert run.check(check)["severity"] == "advisory"
    root = ET.parse(run.report_dir / "junit.xml").getroot()
    assert list(root.iter("failure")) == [] and list(root.iter("error")) == []
    props = junit_props(junit_cases(run)[check])
    assert props["severity"] == "advisory" and props["outcome"] == "failed"
    assert props["advisory"].startswith("advisory finding (reported, does not fail the run)")
    rows = html_rows(run)
    assert [r["result"] for r in rows] == ["Passed"]  # pytest-html's category (filters)
    assert "Advisory</td>" in rows[0]["resultsTableRow"][0]


# -- inconclusive --------------------------------------------------------------------------

DROPPING_ACS = """
import socket


def app(environ, start_response):
    if environ.get("PATH_INFO", "/").startswith("/saml/acs"):
        # The ACS drops every connection: nothing the harness posts is ever answered.
        sock = environ.get("werkzeug.socket")
        if sock is not None:
            linger = (1).to_bytes(4, "little") + (0).to_bytes(4, "little")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            sock.close()
        raise ConnectionAbortedError("the ACS drops every connection")
    start_response("200 OK", [("Content-Type", "text/html")])
    return [b"<p>nobody is signed in</p>"]
"""

DROPPING_TARGET = """
[app]
name = "Drops"
serve = "dropacs:app"
[app.test_user]
username = "ada@example.com"
[app.signed_in]
url = "/me"
[harness]
timeout = 1
[saml]
acs_url = "/saml/acs"
audience = "drops"
"""


@pytest.mark.slow
def test_inconclusive_blocking_check_fails_the_run(tmp_path: Path) -> None:
    """A real suite check against an ACS that never answers: it cannot judge the app."""
    (tmp_path / "dropacs.py").write_text(DROPPING_ACS)
    target = write_target(tmp_path, DROPPING_TARGET)
    checks = ["saml.signs_in_with_idp_initiated_sso", "saml.refuses_hostile_response[unsigned]"]
    run = run_plugin(
        f"--oin-target={target}", *(f"--oin-check={c}" for c in checks), "-v", cwd=tmp_path
    )
    assert run.returncode == 1, run.stdout
    data = run.readiness
    valid(data)
    assert run.outcomes() == dict.fromkeys(checks, "inconclusive"), run.stdout[-3000:]
    assert sorted(data["inconclusive"]) == sorted(checks)
    assert data["blocking_failures"] == []
    assert data["protocols"]["saml"]["status"] == "not_ready"
    assert data["verdict"] == "not_ready"
    for cid in checks:
        check = run.check(cid)
        assert check["failure"]["title"] and check["fix"] and check["seen"]
    assert "could not be reached" in run.check(checks[0])["seen"]
    assert run.stdout.count(" INCONCLUSIVE") == 2
    assert "2 inconclusive" in run.stdout.splitlines()[-1]
    cases = junit_cases(run)
    for cid in checks:
        failures = list(cases[cid].iter("failure"))
        assert len(failures) == 1, cid
        assert failures[0].get("message", "").startswith("Could not judge"), cid
        assert junit_props(cases[cid])["outcome"] == "inconclusive"
    rows = html_rows(run)
    assert {r["result"] for r in rows} == {"Failed"}
    assert all("Inconclusive</td>" in r["resultsTableRow"][0] for r in rows)


def test_unreachable_base_url_fails_once_and_protocol_checks_are_inconclusive(
    tmp_path: Path,
) -> None:
    target = write_target(
        tmp_path,
        f"""
        [app]
        name = "Down"
        base_url = "http://127.0.0.1:{closed_port()}"
        [app.test_user]
        username = "ada@example.com"
        [app.signed_in]
        url = "/me"
        [saml]
        acs_url = "/saml/acs"
        audience = "down"
        [scim]
        base_url = "/scim/v2"
        [scim.auth]
        mode = "bearer"
        token = "${{DOWN_TOKEN}}"
        """,
    )
    run = run_plugin(f"--oin-target={target}", cwd=tmp_path, env={"DOWN_TOKEN": "t0k3n-down"})
    assert run.returncode == 1, run.stdout[-3000:]
    data = run.readiness
    valid(data)
    # The general reachability check is the one failure, with its fix.
    assert data["blocking_failures"] == ["general.app_is_reachable"]
    assert "Start the app" in run.check("general.app_is_reachable")["fix"]
    protocol = [c for c in data["checks"] if c["protocol"] in ("saml", "scim")]
    assert len(protocol) > 30
    assert {c["outcome"] for c in protocol} == {"inconclusive"}, {
        c["id"]: c["outcome"] for c in protocol if c["outcome"] != "inconclusive"
    }
    assert all("the app could not be reached at http://127.0.0.1:" in c["seen"] for c in protocol)
    assert data["protocols"]["saml"]["status"] == "not_ready"
    assert data["protocols"]["scim"]["status"] == "not_ready"
    assert "Traceback" not in run.stdout
    # One grouped line in the terminal, not one traceback per check.
    assert run.stdout.count("INCONCLUSIVE  ") == 1


# -- [app] serve that does not import: usage error ------------------------------------------


@pytest.mark.parametrize(
    ("serve", "expected"),
    [
        ("nosuchmodule:app", "cannot import 'nosuchmodule': ModuleNotFoundError"),
        ("tinyapp:nothing_here", "module 'tinyapp' has no attribute 'nothing_here'"),
        ("brokenapp:app", "cannot import 'brokenapp': RuntimeError: settings missing"),
    ],
)
def test_serve_that_does_not_import_is_a_usage_error(
    tiny_app: Path, serve: str, expected: str
) -> None:
    (tiny_app / "brokenapp.py").write_text("raise RuntimeError('settings missing')\n")
    target = write_target(tiny_app, TINY_TARGET.replace("tinyapp:app", serve))
    run = run_plugin(f"--oin-target={target}", cwd=tiny_app)
    assert run.returncode == 4, run.stdout + run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1, run.stderr
    assert f"[app] serve = '{serve}'" in errors[0] and expected in errors[0]
    assert "Fix:" in errors[0]
    assert "Traceback" not in run.stdout + run.stderr
    assert "collected" not in run.stdout  # before any check
    assert not (run.report_dir / "readiness.json").exists()


# -- --oin-check: exact ids, globs, and no match ---------------------------------------------


def test_oin_check_matches_a_parametrized_id_exactly(tiny_app: Path) -> None:
    target = write_target(tiny_app, TINY_TARGET)
    check = "saml.refuses_hostile_response[xsw1]"
    run = run_plugin(f"--oin-target={target}", f"--oin-check={check}", cwd=tiny_app)
    assert run.returncode == 0, run.stdout + run.stderr
    assert list(run.outcomes()) == [check]  # skipped: SAML is not configured
    # A glob keeps brackets literal: every wrapping variant, nothing else.
    run = run_plugin(
        f"--oin-target={target}", "--oin-check=saml.refuses_hostile_response[xsw*]", cwd=tiny_app
    )
    ids = list(run.outcomes())
    assert len(ids) >= 8 and check in ids
    assert all(i.startswith("saml.refuses_hostile_response[xsw") for i in ids), ids


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_oin_check_matching_nothing_is_a_usage_error_naming_nearest_ids(
    tiny_app: Path, workers: list[str]
) -> None:
    target = write_target(tiny_app, TINY_TARGET)
    run = run_plugin(
        f"--oin-target={target}",
        "--oin-check=saml.refuses_hostile_respnse[xsw1]",
        "--oin-check=general.app_is_reachable",
        *workers,
        cwd=tiny_app,
    )
    assert run.returncode == 4, run.stdout + run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1, run.stderr
    assert "--oin-check 'saml.refuses_hostile_respnse[xsw1]' matches no check" in errors[0]
    assert "nearest: saml.refuses_hostile_response[xsw1]" in errors[0]
    assert "oin-conformance checks" in errors[0]
    assert "Traceback" not in run.stdout + run.stderr
    for name in ("readiness.json", "junit.xml", "readiness.html"):
        assert not (run.report_dir / name).exists(), name


# -- the verdict rules, on the model ---------------------------------------------------------


def result(check_id: str, outcome: str, severity: str = "blocking") -> CheckResult:
    meta = {"id": check_id, "protocol": check_id.split(".")[0], "severity": severity}
    return CheckResult(meta=meta, outcome=outcome)  # type: ignore[arg-type]


CONFIGURED = {"saml": True, "oidc": False, "scim": False, "submission": False}


def test_ready_needs_the_positive_flow_and_every_check() -> None:
    base = [result("general.app_is_reachable", "passed")]
    ready = [
        *base,
        result("saml.signs_in_with_idp_initiated_sso", "passed"),
        result("saml.signs_in_with_sp_initiated_sso", "skipped"),
        result("saml.refuses_hostile_response[xsw1]", "passed"),
    ]
    verdicts = protocol_verdicts(ready, CONFIGURED)
    assert verdicts["saml"]["status"] == "ready" and app_verdict(verdicts) == "ready"
    # Refusals alone prove nothing when nobody can sign in.
    no_flow = [
        *base,
        result("saml.signs_in_with_idp_initiated_sso", "skipped"),
        result("saml.refuses_hostile_response[xsw1]", "passed"),
    ]
    verdicts = protocol_verdicts(no_flow, CONFIGURED)
    assert verdicts["saml"]["status"] == "not_ready"
    assert "positive flow" in verdicts["saml"]["reason"]
    # A blocking inconclusive blocks; an advisory one is reported only.
    unjudged = [*ready, result("saml.refuses_hostile_response[xsw2]", "inconclusive")]
    verdicts = protocol_verdicts(unjudged, CONFIGURED)
    assert verdicts["saml"]["status"] == "not_ready"
    assert verdicts["saml"]["inconclusive"] == ["saml.refuses_hostile_response[xsw2]"]
    soft = [*ready, result("saml.refuses_hostile_response[sha1]", "inconclusive", "advisory")]
    verdicts = protocol_verdicts(soft, CONFIGURED)
    assert verdicts["saml"]["status"] == "ready"
    assert verdicts["saml"]["advisories"] == ["saml.refuses_hostile_response[sha1]"]
    # Left out of the run: incomplete (never ready), and so is the app.
    verdicts = protocol_verdicts(ready, CONFIGURED, ["saml.refuses_hostile_response[xsw2]"])
    assert verdicts["saml"]["status"] == "incomplete" and app_verdict(verdicts) == "incomplete"
    # Selected but never reported (-x): not_run, incomplete.
    stopped = [*ready, result("saml.refuses_hostile_response[xsw3]", "not_run")]
    assert protocol_verdicts(stopped, CONFIGURED)["saml"]["status"] == "incomplete"


def test_every_positive_flow_id_is_a_shipped_check() -> None:
    from oin_conformance.catalogue import all_checks
    from oin_conformance.report.model import POSITIVE_FLOWS

    ids = {c["id"] for c in all_checks()}
    for proto, flows in POSITIVE_FLOWS.items():
        assert set(flows) <= ids, (proto, set(flows) - ids)


def test_skip_reason_and_error_outcomes_are_kept(tiny_app: Path) -> None:
    """A check that breaks (no typed outcome) is an error, never inconclusive or passed."""
    (tiny_app / "crashing.py").write_text(
        textwrap.dedent(
            """
            def create(harness, options):
                raise RuntimeError("database is not configured")
            """
        )
    )
    target = write_target(
        tiny_app,
        TINY_TARGET.replace(
            'serve = "tinyapp:app"', 'serve = "crashing:create"\nserve_factory = true'
        ),
    )
    run = run_plugin(f"--oin-target={target}", "--oin-check=general.*", cwd=tiny_app)
    assert run.returncode == 1
    data = run.readiness
    assert data["checks"][0]["outcome"] == "error"
    assert "general.app_is_reachable" in data["blocking_failures"]


def test_inconclusive_is_redacted_and_keeps_its_outcome() -> None:
    from types import SimpleNamespace

    from oin_conformance.failures import Inconclusive, inconclusive
    from oin_conformance.roles.browser import BrowserError
    from oin_conformance.runtime import OinRuntime, typed_failure
    from oin_conformance.transcript import Redactor

    fake = SimpleNamespace(context=SimpleNamespace(redactor=Redactor(["s3cret-value"])))
    raw = inconclusive("Control failed", seen="token s3cret-value", expected="e", fix="f")
    clean = OinRuntime.redacted(fake, raw)  # type: ignore[arg-type]
    assert isinstance(clean, Inconclusive) and clean.outcome == "inconclusive"
    assert "s3cret-value" not in clean.render()
    assert clean.render().startswith("Could not judge: Control failed")
    # A browser that cannot reach the app, escaping a check: the check could not judge.
    unreachable = typed_failure(BrowserError("POST http://127.0.0.1:1/acs failed: timeout"))
    assert isinstance(unreachable, Inconclusive)
    assert unreachable.seen.startswith("the app could not be reached: POST")
    assert typed_failure(ValueError("a bug")) is None
