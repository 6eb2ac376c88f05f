"""What changed since last time: every run kept in the report folder's history/, each run
compared with the last comparable one (same target file; a full run or the same selection)
or with --oin-compare FILE, the changes in readiness.json, the HTML and the terminal; and a
partial run writes beside the last full report, never over it.

The app changes between runs, the target file does not: the reference SP's planted flaw
comes from an environment variable (``flaw = "${OIN_TEST_FLAW}"``), as an ISV's fix
changes their app and not the file that describes it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from oin_conformance.report import history
from tests.conftest import PluginRun, once_per_session, run_plugin
from tests.saml.test_saml_suite import variant

H = "saml.refuses_hostile_response"
EXPIRED, NOT_YET_VALID, AUDIENCE = f"{H}[expired]", f"{H}[not_yet_valid]", f"{H}[wrong_audience]"
SIGN_IN = "saml.signs_in_with_idp_initiated_sso"
PICKED = (EXPIRED, AUDIENCE, SIGN_IN)


@dataclass
class Run:
    """One run in the shared report folder, and the readiness.json it wrote (read at once:
    the next run writes over it)."""

    result: PluginRun
    readiness: dict[str, Any]

    @property
    def stdout(self) -> str:
        return self.result.stdout


@dataclass
class Runs:
    folder: Path
    target: Path
    first_full: Run  # ignores_expiry: [expired] and [not_yet_valid] fail
    partial: Run  # ignores_audience, three checks: [wrong_audience] fails
    second_full: Run  # ignores_audience: [wrong_audience] fails
    compared: Run  # --oin-compare the first full run's history file
    other_target: Run  # the same app under a different target file


def run(runs_dir: Path, target: Path, flaw: str, *args: str) -> Run:
    result = run_plugin(f"--oin-target={target}", *args, cwd=runs_dir, env={"OIN_TEST_FLAW": flaw})
    assert result.returncode in (0, 1), result.stdout[-3000:] + result.stderr[-3000:]
    reports = result.report_dir
    partial = any(line.startswith("partial run: ") for line in result.stdout.splitlines())
    written = reports / history.PARTIAL_DIR if partial else reports
    return Run(result, read(written / "readiness.json"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    return once_per_session(tmp_path_factory, "history-runs", _runs)


def _runs(base: Path) -> Runs:
    target = variant(base / "app", flaw="${OIN_TEST_FLAW}")
    folder = base / "work"
    folder.mkdir()
    picked = [f"--oin-check={c}" for c in PICKED]
    first = run(folder, target, "ignores_expiry")
    partial = run(folder, target, "ignores_audience", *picked)
    second = run(folder, target, "ignores_audience")
    oldest = sorted((folder / "reports" / history.HISTORY_DIR).glob("*.json"))[0]
    compared = run(
        folder, target, "ignores_audience", f"--oin-check={AUDIENCE}", f"--oin-compare={oldest}"
    )
    other = base / "other" / "target.toml"
    other.parent.mkdir()
    other.write_text("# the same app, another target file\n" + target.read_text())
    other_target = run(folder, other, "none", f"--oin-check={SIGN_IN}")
    return Runs(folder, target, first, partial, second, compared, other_target)


def read(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def ids(items: list[dict[str, Any]]) -> set[str]:
    return {i["id"] for i in items}


@pytest.mark.slow
def test_the_first_run_has_nothing_to_compare_with(runs: Runs) -> None:
    first = runs.first_full
    assert first.result.returncode == 1, first.stdout[-3000:]
    assert {EXPIRED, NOT_YET_VALID} <= set(first.readiness["blocking_failures"])
    changes = first.readiness["changes"]
    assert changes["baseline"] is None
    assert "no earlier full run of this target file" in changes["reason"]
    assert "changes: nothing to compare with: no earlier full run" in first.stdout


@pytest.mark.slow
def test_a_partial_run_writes_beside_the_full_report_and_says_what_changed(
    runs: Runs,
) -> None:
    partial, first = runs.partial, runs.first_full
    reports = runs.folder / "reports"
    data = partial.readiness
    assert data["selection"]["full"] is False
    assert {c["id"] for c in data["checks"]} == set(PICKED)
    for name in ("readiness.html", "junit.xml", "readiness.har"):
        assert (reports / history.PARTIAL_DIR / name).is_file(), name
    assert f"partial run: its reports are in {reports / history.PARTIAL_DIR}" in partial.stdout
    # Compared with the last full run of the same target, over the three checks it ran.
    changes = data["changes"]
    assert changes["baseline"]["run_id"] == first.readiness["run_id"]
    assert changes["baseline"]["selection"] == {"full": True, "by": []}
    assert ids(changes["new_failures"]) == {AUDIENCE}
    assert ids(changes["fixed"]) == {EXPIRED}
    assert changes["still_failing"] == [] and changes["unchanged"] == 1
    assert NOT_YET_VALID in changes["not_compared"]
    assert re.search(rf"^NEW FAILURE +{re.escape(AUDIENCE)} \(passed before, failed now\)$",
                     partial.stdout, re.M)  # fmt: skip
    assert re.search(rf"^FIXED +{re.escape(EXPIRED)} \(failed before, passed now\)$",
                     partial.stdout, re.M)  # fmt: skip
    assert "1 new failure(s), 1 fixed, 0 still failing, 1 unchanged" in partial.stdout


@pytest.mark.slow
def test_a_full_run_compares_with_the_last_full_run_not_a_partial_one(runs: Runs) -> None:
    second, first = runs.second_full, runs.first_full
    reports = runs.folder / "reports"
    # The full report in reports/ is the newest full run's (the partial one went beside it).
    assert read(reports / "readiness.json")["run_id"] == second.readiness["run_id"]
    changes = second.readiness["changes"]
    assert changes["baseline"]["run_id"] == first.readiness["run_id"]
    assert changes["baseline"]["same_target"] is True
    assert ids(changes["new_failures"]) == {AUDIENCE}
    assert ids(changes["fixed"]) == {EXPIRED, NOT_YET_VALID}
    assert changes["still_failing"] == [] and changes["other_changes"] == []
    ran = [c for c in second.readiness["checks"] if c["outcome"] != "not_run"]
    assert changes["unchanged"] == len(ran) - 3
    new = changes["new_failures"][0]
    assert (new["before"], new["now"], new["severity"]) == ("passed", "failed", "blocking")
    assert "2 fixed" in second.stdout and "1 new failure(s)" in second.stdout
    # (The target configures SAML only: the Submission Tester rehearsal has no OIDC instance.)
    rehearsal = read(reports / "submission-tester.json")
    assert rehearsal["run_id"] == second.readiness["run_id"]
    assert set(rehearsal["instances"]) == {"saml"}
    html = (reports / "readiness.html").read_text()
    assert 'id="oin-changes"' in html
    assert AUDIENCE in html.split('id="oin-changes"', 1)[1]


@pytest.mark.slow
def test_the_history_keeps_every_run_without_transcripts(runs: Runs) -> None:
    kept = sorted((runs.folder / "reports" / history.HISTORY_DIR).glob("*.json"))
    assert len(kept) == 5
    sha = runs.first_full.readiness["target_sha256"]
    assert [k.name.split("-")[1] for k in kept[:4]] == [sha[:12]] * 4
    order = [read(k)["run_id"] for k in kept[:3]]
    assert order == [r.readiness["run_id"] for r in (runs.first_full, runs.partial,
                                                      runs.second_full)]  # fmt: skip
    for path in kept:
        data = read(path)
        assert data["checks"] and all("transcript" not in c for c in data["checks"])
        assert "changes" not in data


@pytest.mark.slow
def test_oin_compare_names_the_run_to_compare_with(runs: Runs) -> None:
    """The last comparable run is the second full run ([wrong_audience] failing there too);
    --oin-compare picks the first one, where it passed."""
    changes = runs.compared.readiness["changes"]
    assert changes["baseline"]["source"].startswith("--oin-compare ")
    assert changes["baseline"]["run_id"] == runs.first_full.readiness["run_id"]
    assert ids(changes["new_failures"]) == {AUDIENCE}


@pytest.mark.slow
def test_another_target_file_is_not_comparable(runs: Runs) -> None:
    changes = runs.other_target.readiness["changes"]
    assert changes["baseline"] is None, changes
    assert "the target file changed" in changes["reason"]


def test_oin_compare_with_a_file_that_is_no_report_is_a_usage_error(tmp_path: Path) -> None:
    target = variant(tmp_path / "app", flaw="none")
    bogus = tmp_path / "bogus.json"
    bogus.write_text('{"verdict": "ready"}')
    result = run_plugin(f"--oin-target={target}", f"--oin-compare={bogus}", cwd=tmp_path)
    assert result.returncode == 4
    assert f"ERROR: --oin-compare={bogus}: {bogus} is not a readiness.json" in result.stderr
    assert not (tmp_path / "reports").exists()


def test_compare_sorts_every_kind_of_change() -> None:
    before = {
        "target_sha256": "a" * 64,
        "checks": [
            {"id": "p.fixed", "outcome": "failed", "severity": "blocking"},
            {"id": "p.still", "outcome": "inconclusive", "severity": "blocking"},
            {"id": "p.new", "outcome": "passed", "severity": "advisory"},
            {"id": "p.same", "outcome": "passed", "severity": "blocking"},
            {"id": "p.skip", "outcome": "passed", "severity": "blocking"},
            {"id": "p.gone", "outcome": "failed", "severity": "blocking"},
        ],
    }
    now = {
        "target_sha256": "a" * 64,
        "checks": [
            {"id": "p.fixed", "outcome": "passed", "severity": "blocking"},
            {"id": "p.still", "outcome": "failed", "severity": "blocking"},
            {"id": "p.new", "outcome": "error", "severity": "advisory"},
            {"id": "p.same", "outcome": "passed", "severity": "blocking"},
            {"id": "p.skip", "outcome": "skipped", "severity": "blocking"},
            {"id": "p.added", "outcome": "passed", "severity": "blocking"},
            {"id": "p.later", "outcome": "not_run", "severity": "blocking"},
        ],
    }
    changes = history.compare(now, before, "test")
    assert ids(changes["fixed"]) == {"p.fixed"}
    assert ids(changes["still_failing"]) == {"p.still"}
    assert ids(changes["new_failures"]) == {"p.new"}
    assert ids(changes["other_changes"]) == {"p.skip"}
    assert changes["new_checks"] == ["p.added"]
    assert changes["unchanged"] == 1
    assert changes["not_compared"] == ["p.gone"]
