"""A dress rehearsal of Okta's OIN Submission Tester: ``-m submission_tester`` runs the
checks that stand for its four cases (IdP flow, SP flow, JIT with either), each JIT case
with a user the app has never seen, and the run exports their record
(``submission-tester.json`` and its HAR) with a timestamp, each case's result, steps and
exchanges, and "valid until" (48 h, as Okta's tester record)."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from haralyzer import HarPage, HarParser

from oin_conformance.report import history, submission_tester
from tests.conftest import FIXTURES, REFERENCE_TARGET, PluginRun, once_per_session, run_plugin
from tests.test_har import HAR_1_2

#: protocol -> Okta's case -> the check that stands for it.
CASES: dict[str, dict[str, str]] = {
    "saml": {
        "idp_flow": "saml.signs_in_with_idp_initiated_sso",
        "sp_flow": "saml.signs_in_with_sp_initiated_sso",
        "jit_idp_flow": "saml.jit_creates_an_unknown_user",
        "jit_sp_flow": "saml.jit_creates_an_unknown_user_with_sp_initiated_sso",
    },
    "oidc": {
        "idp_flow": "oidc.third_party_initiated_sign_in",
        "sp_flow": "oidc.sp_initiated_sign_in",
        "jit_idp_flow": "oidc.jit_creates_a_new_user_from_the_okta_dashboard",
        "jit_sp_flow": "oidc.jit_creates_a_new_user_at_first_sign_in",
    },
}
JIT_NOTE = re.compile(
    r"^Okta signs in (?:a user the app has never seen|a new user): (?P<user>\S+)$"
)
SEED = "--oin-seed=7"


@dataclass
class Runs:
    first: PluginRun  # -m submission_tester
    first_readiness: dict[str, Any]  # (read at once: "part" writes over them)
    first_html: str
    first_record: dict[str, Any]
    again: PluginRun  # the same command and seed, under pytest -n 2 (another folder)
    again_record: dict[str, Any]
    part: PluginRun  # one of the cases only, in the first run's folder
    broken: PluginRun  # the app does not create unknown users (SAML and OIDC)


def broken_jit_target(folder: Path) -> Path:
    """The reference app with JIT switched off in its SAML SP and OIDC RP (the target
    still claims JIT)."""
    text = REFERENCE_TARGET.read_text()
    text = text.replace('pythonpath = [".."]', f'pythonpath = ["{FIXTURES}"]')
    text = text.replace('state_dir = ".oin-state"', f'state_dir = "{folder / "state"}"')
    text = text.replace(
        "[app.test_user]",
        '[app.serve_options]\nflaw = "no_jit"\nsaml_jit = false\n\n[app.test_user]',
    )
    folder.mkdir(parents=True)
    path = folder / "target.toml"
    path.write_text(text)
    return path


def record_of(run: PluginRun) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run.report_dir / submission_tester.RECORD).read_text())
    return data


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    return once_per_session(tmp_path_factory, "tester-runs", _runs)


def _runs(base: Path) -> Runs:
    folder = base / "first"
    folder.mkdir()
    target = f"--oin-target={REFERENCE_TARGET}"
    first = run_plugin(target, SEED, "-m", "submission_tester", cwd=folder)
    first_readiness, first_record = first.readiness, record_of(first)
    first_html = (first.report_dir / "readiness.html").read_text()
    part = run_plugin(target, SEED, f"--oin-check={CASES['saml']['idp_flow']}", cwd=folder)
    other = base / "again"
    other.mkdir()
    again = run_plugin(target, SEED, "-m", "submission_tester", "-n", "2", cwd=other)
    again_record = record_of(again)
    broken_dir = base / "broken"
    broken_dir.mkdir()
    broken = run_plugin(
        f"--oin-target={broken_jit_target(broken_dir / 'app')}",
        "-m",
        "submission_tester",
        cwd=broken_dir,
    )
    return Runs(first, first_readiness, first_html, first_record, again, again_record, part, broken)


def jit_users(record: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(protocol, case) -> the new user a JIT case signed in (from its notes)."""
    found = {}
    for proto, inst in record["instances"].items():
        for case, entry in inst["cases"].items():
            if case.startswith("jit"):
                (user,) = [m["user"] for n in entry["notes"] if (m := JIT_NOTE.match(n))]
                found[(proto, case)] = user
    return found


@pytest.mark.slow
def test_the_marker_selects_exactly_the_four_cases_of_each_protocol(runs: Runs) -> None:
    run = runs.first
    assert run.returncode == 0, run.stdout[-3000:]
    marked = {c["id"]: c["submission_tester"] for c in runs.first_readiness["checks"]}
    expected = {
        check: {"case": case, "okta_case": submission_tester.CASES[case]}
        for proto in CASES.values()
        for case, check in proto.items()
    }
    assert marked == expected
    # The report says which of Okta's cases each check stands for.
    section = runs.first_html.split('id="oin-submission-tester"', 1)[1]
    for case, check in CASES["oidc"].items():
        assert submission_tester.CASES[case] in section and check in section


@pytest.mark.slow
def test_the_record_has_each_case_with_result_steps_and_exchanges(runs: Runs) -> None:
    record = runs.first_record
    assert record["complete"] is True and record["passed"] is True
    assert record["run_id"] == runs.first_readiness["run_id"]
    assert record["timestamp"] == dt.datetime.fromisoformat(
        runs.first_readiness["started"]
    ).isoformat(timespec="seconds")
    checks = {c["id"]: c for c in runs.first_readiness["checks"]}
    for proto, cases in CASES.items():
        inst = record["instances"][proto]
        assert inst["passed"] is True
        assert set(inst["cases"]) == set(submission_tester.CASES)
        for case, check_id in cases.items():
            entry = inst["cases"][case]
            check = checks[check_id]
            assert entry["check"] == check_id and entry["result"] == "passed"
            assert entry["okta_case"] == submission_tester.CASES[case]
            assert entry["exchanges"] == check["transcript"] and entry["exchanges"]
            assert len(entry["steps"]) == len(check["transcript"])
            first = check["transcript"][0]
            assert entry["steps"][0].startswith(f"1. {first['method']} {first['url']} -> ")
            started = min(dt.datetime.fromisoformat(e["started_at"]) for e in entry["exchanges"])
            assert entry["timestamp"] == started.isoformat(timespec="seconds")
            valid = dt.datetime.fromisoformat(entry["valid_until"])
            assert valid - dt.datetime.fromisoformat(entry["timestamp"]) == dt.timedelta(hours=48)
    stamps = [
        dt.datetime.fromisoformat(e["timestamp"])
        for inst in record["instances"].values()
        for e in inst["cases"].values()
        if e["required"]
    ]
    assert dt.datetime.fromisoformat(record["valid_until"]) == min(stamps) + dt.timedelta(hours=48)
    summary = runs.first_readiness["submission_tester"]
    assert summary["passed"] is True and summary["valid_until"] == record["valid_until"]
    assert "Submission Tester rehearsal: every required case passed; valid until" in (
        runs.first.stdout
    )


@pytest.mark.slow
def test_okta_requires_the_cases_its_tester_runs_for_this_app(runs: Runs) -> None:
    """The reference app supports the IdP and SP flows and JIT: Okta's tester runs IdP
    flow, SP flow and JIT with the IdP flow; JIT with the SP flow is rehearsed anyway."""
    for inst in runs.first_record["instances"].values():
        assert inst["required"] == ["idp_flow", "sp_flow", "jit_idp_flow"]
        assert inst["cases"]["jit_sp_flow"]["required"] is False
        assert "rehearsed" in inst["cases"]["jit_sp_flow"]["required_because"]


@pytest.mark.slow
def test_the_record_has_its_traffic_in_a_har_file(runs: Runs) -> None:
    path = runs.first.report_dir / submission_tester.RECORD_HAR
    data = json.loads(path.read_text())
    jsonschema.Draft202012Validator(HAR_1_2).validate(data)
    parser = HarParser(data)
    assert {p.page_id for p in parser.pages} == {c for p in CASES.values() for c in p.values()}
    entries = data["log"]["entries"]
    for inst in runs.first_record["instances"].values():
        for entry in inst["cases"].values():
            link = entry["har"]
            assert link["file"] == submission_tester.RECORD_HAR
            assert link["pageref"] == entry["check"]
            assert len(HarPage(entry["check"], har_parser=parser).entries) == len(link["entries"])
            urls = [entries[i]["request"]["url"] for i in link["entries"]]
            assert urls == [e["url"] for e in entry["exchanges"]]


@pytest.mark.slow
def test_every_jit_case_signs_in_a_user_the_app_has_never_seen(runs: Runs) -> None:
    """Fresh users each run, even with the same seed (under xdist too): each carries the
    run's id, and no two JIT cases share one."""
    first, again = jit_users(runs.first_record), jit_users(runs.again_record)
    assert (
        set(first) == set(again) == {(p, c) for p in CASES for c in ("jit_idp_flow", "jit_sp_flow")}
    )
    assert len(set(first.values())) == len(first)
    assert not set(first.values()) & set(again.values())
    for users, record in ((first, runs.first_record), (again, runs.again_record)):
        assert all(record["run_id"] in u for u in users.values()), users
    assert runs.again.returncode == 0, runs.again.stdout[-3000:]
    assert runs.again_record["complete"] is True and runs.again_record["passed"] is True


@pytest.mark.slow
def test_a_run_of_part_of_the_cases_writes_its_record_beside_the_full_one(runs: Runs) -> None:
    reports = runs.part.report_dir
    partial = json.loads((reports / history.PARTIAL_DIR / submission_tester.RECORD).read_text())
    assert partial["complete"] is False and partial["passed"] is False
    assert partial["valid_until"] is None
    cases = partial["instances"]["saml"]["cases"]
    assert cases["idp_flow"]["result"] == "passed"
    assert cases["sp_flow"]["result"] == "not_run"
    # The last complete rehearsal stays where it was.
    assert record_of(runs.part)["run_id"] == runs.first_record["run_id"]
    assert "Submission Tester rehearsal: not every case ran (a partial run)" in runs.part.stdout


@pytest.mark.slow
def test_an_app_without_jit_would_not_pass_the_tester(runs: Runs) -> None:
    run = runs.broken
    assert run.returncode == 1, run.stdout[-3000:]
    record = record_of(run)
    assert record["complete"] is True and record["passed"] is False
    assert record["valid_until"] is None
    for proto in CASES:
        inst = record["instances"][proto]
        results = {case: entry["result"] for case, entry in inst["cases"].items()}
        assert results == {
            "idp_flow": "passed",
            "sp_flow": "passed",
            "jit_idp_flow": "failed",
            "jit_sp_flow": "failed",
        }
        jit = inst["cases"]["jit_idp_flow"]
        assert jit["valid_until"] is None and jit["reason"]
        assert inst["passed"] is False
    assert (
        "Submission Tester rehearsal: would not pass: saml JIT provisioning (with IdP flow), "
        "oidc JIT provisioning (with IdP flow)" in run.stdout
    )
    assert set(run.readiness["blocking_failures"]) == {
        CASES[p][c] for p in CASES for c in ("jit_idp_flow", "jit_sp_flow")
    }


def _check(case: str, outcome: str, skip_reason: str = "") -> dict[str, Any]:
    return {
        "id": f"saml.{case}",
        "protocol": "saml",
        "outcome": outcome,
        "skip_reason": skip_reason,
        "submission_tester": {"case": case, "okta_case": submission_tester.CASES[case]},
        "transcript": [],
    }


def test_an_sp_only_app_is_required_to_pass_jit_with_the_sp_flow() -> None:
    """Okta's tester shows the SP-flow JIT case only to apps with the SP flow only."""
    checks = [
        _check("idp_flow", "skipped", "the app has the SP flow only"),
        _check("sp_flow", "passed"),
        _check("jit_idp_flow", "skipped", "the app has the SP flow only"),
        _check("jit_sp_flow", "passed"),
    ]
    payload: dict[str, Any] = {"started": "2026-01-02T03:04:05+00:00", "checks": checks}
    record = submission_tester.build(payload, is_complete=True, har_links={})
    inst = record["instances"]["saml"]
    assert inst["required"] == ["sp_flow", "jit_sp_flow"]
    assert inst["cases"]["idp_flow"]["result"] == "not_applicable"
    assert inst["passed"] is True
    checks[3] = _check("jit_sp_flow", "failed")
    assert submission_tester.build(payload, is_complete=True, har_links={})["passed"] is False


def test_an_unknown_case_is_refused() -> None:
    with pytest.raises(ValueError, match="'idp_flow', 'sp_flow', 'jit_idp_flow'"):
        submission_tester.case_of(("idp",), {})
    assert submission_tester.case_of((), {"case": "sp_flow"})["okta_case"] == "SP flow"
