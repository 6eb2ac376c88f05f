"""The plugin through real pytest runs in a subprocess (real entry-point loading)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TINY_TARGET, run_plugin, write_target

HEAVY = ("pydantic", "lxml", "requests", "cryptography", "signxml", "xmlsec", "authlib", "scim2")


def test_plugin_module_imports_nothing_heavy() -> None:
    code = (
        "import sys, oin_conformance.plugin; "
        f"print([m for m in sys.modules if m.split('.')[0] in {HEAVY!r}])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_without_a_target_the_plugin_does_nothing(tmp_path: Path) -> None:
    (tmp_path / "test_host.py").write_text(
        textwrap.dedent(
            f"""
            import sys
            def test_host_project():
                heavy = [m for m in sys.modules if m.split('.')[0] in {HEAVY[:2]!r}]
                assert heavy == [], heavy
            """
        )
    )
    run = run_plugin("-v", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "test_host.py::test_host_project PASSED" in run.stdout
    assert "1 passed" in run.stdout
    assert "oin-conformance 0" not in run.stdout
    assert not (tmp_path / "reports").exists()


def test_broken_target_is_one_error_line_per_mistake_and_exit_4(tmp_path: Path) -> None:
    target = write_target(tmp_path, TINY_TARGET + '\n[saml]\nacs_ulr = "/acs"\n')
    run = run_plugin(f"--oin-target={target}", cwd=tmp_path)
    assert run.returncode == 4
    errors = [line for line in run.stderr.splitlines() if line.startswith("ERROR:")]
    # Every mistake at once; the misspelt key stands for the acs_url it was meant to be.
    assert len(errors) == 2, run.stderr
    # Each names how the target was given (--oin-target here), then the file.
    assert all(e.startswith(f"ERROR: --oin-target {target}") for e in errors), errors
    assert "[saml] unknown key 'acs_ulr'" in errors[0]
    assert "Did you mean 'acs_url'?" in errors[0]
    assert "[saml] missing required key 'audience'" in errors[1]
    assert not [ln for ln in run.stderr.splitlines() if ln.strip() and ln[:6] != "ERROR:"]
    assert "Traceback" not in run.stderr + run.stdout


def test_help_works_with_a_broken_target(tmp_path: Path) -> None:
    target = write_target(tmp_path, "[app\n")
    run = run_plugin(f"--oin-target={target}", "--help", cwd=tmp_path)
    assert run.returncode == 0
    assert "--oin-target=PATH" in run.stdout


def test_missing_target_file(tmp_path: Path) -> None:
    run = run_plugin("--oin-target=nope.toml", cwd=tmp_path)
    assert run.returncode == 4
    assert "nope.toml: the target file does not exist" in run.stderr


def test_all_checks_pass_exit_0(tiny_app: Path) -> None:
    target = write_target(tiny_app, TINY_TARGET)
    run = run_plugin(f"--oin-target={target}", "--oin-check=general.app_is_reachable", cwd=tiny_app)
    assert run.returncode == 0, run.stdout
    assert run.outcomes() == {"general.app_is_reachable": "passed"}
    assert "1 deselected" not in run.stdout or "passed" in run.stdout


def test_blocking_failure_exit_1_and_report(tiny_app: Path) -> None:
    target = write_target(tiny_app, TINY_TARGET)
    run = run_plugin(f"--oin-target={target}", "--oin-seed=1234", cwd=tiny_app)
    assert run.returncode == 1, run.stdout
    data = run.readiness
    assert data["harness_version"] == "0.1.0"
    assert len(data["target_sha256"]) == 64
    assert data["seed"] == 1234
    assert data["protocols"]["general"]["status"] == "not_ready"
    assert data["protocols"]["saml"]["status"] == "not_configured"
    assert data["blocking_failures"] == ["general.target_describes_a_protocol"]
    check = run.check("general.target_describes_a_protocol")
    for key in (
        "id",
        "title",
        "requirement",
        "severity",
        "outcome",
        "seen",
        "expected",
        "fix",
        "rerun",
        "transcript",
    ):
        assert key in check, key
    assert check["outcome"] == "failed" and check["severity"] == "blocking"
    assert check["requirement"] == "GEN-PROTOCOL"
    assert check["requirement_url"].startswith("https://developer.okta.com/")
    assert "--oin-check=general.target_describes_a_protocol" in check["rerun"]
    reach = run.check("general.app_is_reachable")
    assert reach["transcript"][0]["method"] == "GET" and reach["transcript"][0]["status"] == 200
    # The same failure text in the terminal, JUnit and HTML.
    text = "The target describes no integration protocol"
    assert text in run.stdout
    junit = ET.parse(run.report_dir / "junit.xml").getroot()
    failures = [f.text or "" for f in junit.iter("failure")]
    assert any(text in f and "Fix:" in f for f in failures)
    html = (run.report_dir / "readiness.html").read_text()
    assert "OIN readiness of Tiny" in html and "NOT READY" in html


def test_advisory_failure_does_not_fail_the_run(tiny_app: Path) -> None:
    target = write_target(
        tiny_app,
        TINY_TARGET.replace('serve = "tinyapp:app"', 'base_url = "http://127.0.0.1:9"'),
    )
    run = run_plugin(
        f"--oin-target={target}",
        "--oin-check=general.loopback_urls_are_for_testing_only",
        cwd=tiny_app,
    )
    assert run.returncode == 0, run.stdout
    check = run.check("general.loopback_urls_are_for_testing_only")
    assert check["outcome"] == "failed" and check["severity"] == "advisory"
    assert run.readiness["advisories"] == ["general.loopback_urls_are_for_testing_only"]
    assert "advisory  general.loopback_urls_are_for_testing_only" in run.stdout


def test_target_from_ini_and_environment(tiny_app: Path) -> None:
    target = write_target(tiny_app, TINY_TARGET)
    run = run_plugin(
        "--oin-check=general.app_is_reachable", cwd=tiny_app, env={"OIN_TARGET": str(target)}
    )
    assert run.returncode == 0 and run.outcomes() == {"general.app_is_reachable": "passed"}
    (tiny_app / "pytest.ini").write_text(f"[pytest]\noin_target = {target}\n")
    run = run_plugin("--oin-check=general.app_is_reachable", cwd=tiny_app)
    assert run.returncode == 0 and run.outcomes() == {"general.app_is_reachable": "passed"}


def test_suites_are_collected_even_if_python_files_hides_them(tiny_app: Path) -> None:
    target = write_target(tiny_app, TINY_TARGET)
    (tiny_app / "pytest.ini").write_text(
        "[pytest]\npython_files = check_*.py\npython_functions = check_*\n"
    )
    run = run_plugin(f"--oin-target={target}", "-m", "general", "--co", "-q", cwd=tiny_app)
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"\b4(/\d+)? tests collected", run.stdout), run.stdout
    assert run.stdout.count("test_app_is_reachable") == 1


def test_protocol_marker_selects_one_suite(tiny_app: Path) -> None:
    target = write_target(tiny_app, TINY_TARGET)
    run = run_plugin(f"--oin-target={target}", "-m", "general", cwd=tiny_app)
    assert run.returncode == 1
    ids = set(run.outcomes())
    assert len(ids) == 4
    assert all(i.startswith("general.") for i in ids), ids


def _comparable(data: dict[str, Any]) -> dict[str, Any]:
    data = json.loads(json.dumps(data))
    for key in ("started", "duration_s", "run_id"):
        data.pop(key)
    for check in data["checks"]:
        check.pop("duration_s")
        for ex in check["transcript"]:
            ex.pop("elapsed_ms")
            ex.pop("started_at", None)
            ex.pop("curl")
            ex["response_headers"].pop("Date", None)
            ex["url"] = ex["url"].split(":", 2)[0]
            ex["request_headers"].pop("Host", None)
    return data


@pytest.mark.slow
def test_xdist_report_matches_serial_run(tiny_app: Path) -> None:
    target = write_target(tiny_app, TINY_TARGET)
    serial = run_plugin(f"--oin-target={target}", "--oin-seed=7", cwd=tiny_app)
    parallel_dir = tiny_app / "par"
    parallel_dir.mkdir()
    parallel = run_plugin(f"--oin-target={target}", "--oin-seed=7", "-n", "2", cwd=parallel_dir)
    assert serial.returncode == parallel.returncode == 1
    assert _comparable(serial.readiness) == _comparable(parallel.readiness)
    assert (parallel.report_dir / "readiness.html").exists()


@pytest.mark.slow
def test_explicit_tx_workers_report_like_a_serial_run(tiny_app: Path) -> None:
    """Workers named with --tx (as remote ssh workers are, here two local popen ones running
    the same installed interpreter; no --rsyncdir) give the serial run's report."""
    target = write_target(tiny_app, TINY_TARGET)
    serial = run_plugin(f"--oin-target={target}", "--oin-seed=7", cwd=tiny_app)
    tx_dir = tiny_app / "tx"
    tx_dir.mkdir()
    workers = run_plugin(
        f"--oin-target={target}",
        "--oin-seed=7",
        "--dist",
        "load",
        "--tx",
        f"2*popen//python={sys.executable}",
        cwd=tx_dir,
    )
    assert "2 workers" in workers.stdout, workers.stdout[-2000:]
    assert serial.returncode == workers.returncode == 1
    assert _comparable(serial.readiness) == _comparable(workers.readiness)


def test_readiness_json_validates_against_the_published_schema(tiny_app: Path) -> None:
    import importlib.resources

    import jsonschema

    schema = json.loads(
        importlib.resources.files("oin_conformance")
        .joinpath("schema/readiness.schema.json")
        .read_text()
    )
    jsonschema.Draft202012Validator.check_schema(schema)
    target = write_target(tiny_app, TINY_TARGET)
    run = run_plugin(f"--oin-target={target}", cwd=tiny_app)
    jsonschema.validate(run.readiness, schema)
    broken = dict(run.readiness, protocols={"general": {"status": "maybe"}})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_rerun_command_reruns_exactly_that_check(tiny_app: Path) -> None:
    import shlex

    target = write_target(tiny_app, TINY_TARGET)
    first = run_plugin(f"--oin-target={target}", "-m", "general", cwd=tiny_app)
    rerun = first.check("general.app_is_reachable")["rerun"]
    args = shlex.split(rerun)
    assert args[0] == "pytest"
    again = run_plugin(*args[1:], cwd=tiny_app)
    assert again.outcomes() == {"general.app_is_reachable": "passed"}
    assert again.readiness["seed"] == first.readiness["seed"]
    exchange = again.check("general.app_is_reachable")["transcript"][0]
    assert exchange["curl"].startswith("curl -sS -X GET 'http://127.0.0.1:")


def test_unwritable_report_folder_is_one_error_line_and_exit_4(tiny_app: Path) -> None:
    target = write_target(tiny_app, TINY_TARGET)
    # run_plugin passes its own --oin-report first; the later option wins.
    run = run_plugin(f"--oin-target={target}", "--oin-report=/proc/nope", cwd=tiny_app)
    assert run.returncode == 4, run.stdout + run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1, run.stderr
    assert errors[0].startswith("ERROR: --oin-report=/proc/nope: cannot write the reports")
    assert "Traceback" not in run.stderr + run.stdout
    assert not run.report_dir.exists()


# -- an exported OIN_TARGET (or the ini key) never hijacks an unrelated project ------------

UNRELATED_TEST = """
def test_own_behaviour():
    assert True

def test_own_failure():
    assert 1 + 1 == 3
"""


@pytest.mark.parametrize("where", ["env", "ini"])
def test_exported_target_does_not_hijack_a_project_with_testpaths(
    tiny_app: Path, where: str
) -> None:
    target = write_target(tiny_app, TINY_TARGET)
    project = tiny_app / "unrelated"
    (project / "tests").mkdir(parents=True)
    (project / "tests" / "test_own.py").write_text(UNRELATED_TEST)
    ini = "[pytest]\ntestpaths = tests\n"
    env = {"OIN_TARGET": str(target)}
    if where == "ini":
        ini += f"oin_target = {target}\n"
        env = {}
    (project / "pytest.ini").write_text(ini)
    run = run_plugin("-v", cwd=project, env=env)
    assert run.returncode == 1, run.stdout + run.stderr  # its own failing test
    assert "test_own.py::test_own_behaviour PASSED" in run.stdout
    assert "test_own.py::test_own_failure FAILED" in run.stdout
    assert "1 failed, 1 passed" in run.stdout
    assert "general/test_general.py" not in run.stdout and "oin-conformance 0" not in run.stdout
    assert not run.report_dir.exists()
    # Its own test paths on the command line: the same.
    run = run_plugin("tests/test_own.py::test_own_behaviour", cwd=project, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout
    assert not run.report_dir.exists()
    # A broken exported target does not break it either (it is not even read).
    target.write_text("[app\n")
    run = run_plugin("-q", cwd=project, env=env)
    assert run.returncode == 1 and "1 failed, 1 passed" in run.stdout, run.stdout + run.stderr


def test_exported_target_without_test_paths_runs_the_suites(tiny_app: Path) -> None:
    target = write_target(tiny_app, TINY_TARGET)
    run = run_plugin(
        "--oin-check=general.app_is_reachable", cwd=tiny_app, env={"OIN_TARGET": str(target)}
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.outcomes() == {"general.app_is_reachable": "passed"}


def test_a_run_without_any_oin_check_writes_no_report(tiny_app: Path) -> None:
    (tiny_app / "test_own.py").write_text(UNRELATED_TEST)
    target = write_target(tiny_app, TINY_TARGET)
    run = run_plugin(f"--oin-target={target}", "test_own.py", cwd=tiny_app)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 failed, 1 passed" in run.stdout
    assert not run.report_dir.exists()
