"""Data safety under pytest-xdist: the data-safety check (``scim.leaves_no_test_data_behind``)
is decided on the controller once every worker has finished, from every worker's journal —
whichever worker the check ran on, and in readiness.json, JUnit and the HTML alike.

Real plugin runs (``-n 2``) against the reference app's SCIM server on 127.0.0.1, and the
controller's journal reading and report amendment on their own.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from oin_conformance.wiring.scim_workers import (
    CHECK_ID,
    across_workers,
    read_run_journals,
    verdict,
)
from tests.conftest import PluginRun
from tests.scim.test_scim_suite import assert_ready, run, scim_target

CHECK_NODE = "scim/test_cleanup.py::test_leaves_no_test_data_behind"
WORKER_NOTE = re.compile(r"This check ran on xdist worker (gw\d+); after every worker had finished")


def journals(folder: Path) -> list[dict[str, Any]]:
    """The journals the run left in the target's state folder (scim_target: .oin-state)."""
    return [
        json.loads(p.read_text()) | {"path": str(p)}
        for p in sorted((folder / ".oin-state" / "scim-ledger").glob("*.json"))
    ]


def junit_case(result: PluginRun) -> tuple[dict[str, str], list[str]]:
    """The data-safety check's JUnit properties and the tags of its other children."""
    root = ET.parse(result.report_dir / "junit.xml").getroot()
    for case in root.iter("testcase"):
        if case.get("name") == "test_leaves_no_test_data_behind":
            props = {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
            return props, [child.tag for child in case if child.tag != "properties"]
    raise AssertionError("no data-safety testcase in junit.xml")


def html_text(result: PluginRun) -> str:
    raw = (result.report_dir / "readiness.html").read_text()
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", raw)))


@pytest.mark.parametrize("dist", ["load", "worksteal"])
def test_without_a_flaw_two_workers_leave_nothing_and_the_check_passes(
    tmp_path: Path, dist: str
) -> None:
    target = scim_target(tmp_path)
    result = run(target, "-n", "2", "--dist", dist)
    assert "bringing up nodes" in result.stdout, result.stdout[-2000:]
    assert_ready(result)  # no false failure, in particular not of the data-safety check
    check = result.check(CHECK_ID)
    assert check["outcome"] == "passed", check
    # It was decided on the controller, after every worker had finished.
    assert any(WORKER_NOTE.search(n) for n in check["notes"]), check["notes"]
    props, children = junit_case(result)
    assert props["outcome"] == "passed"
    assert "advisory" not in props
    assert children == []
    assert journals(tmp_path) == []


@pytest.mark.parametrize(
    ("worker", "dist"), [("gw0", "load"), ("gw1", "load"), ("gw1", "worksteal")]
)
def test_one_workers_leftovers_fail_the_check_whichever_worker_ran_it(
    tmp_path: Path, worker: str, dist: str
) -> None:
    """Exactly one worker (``worker``) cannot clean up: its leftovers are the check's finding
    (listed by worker, prefix and journal), also when the check ran on the other worker, and
    with the scheduler that moves checks between workers (``--dist worksteal``)."""
    target = scim_target(tmp_path, flaw=f"scim_keeps_data_of:-{worker}-")
    result = run(target, "-n", "2", "--dist", dist)
    assert "bringing up nodes" in result.stdout, result.stdout[-2000:]
    # Only the worker whose data the server keeps left a journal; it lists what is left.
    left = journals(tmp_path)
    assert len(left) == 1, left
    journal = left[0]
    assert journal["prefix"].endswith(f"-{worker}")
    names = [e["name"] for e in journal["entries"]]
    assert names and all(f"-{worker}-" in n for n in names)

    check = result.check(CHECK_ID)
    assert check["outcome"] == "failed", check
    assert check["severity"] == "advisory"
    failure = check["failure"]
    assert failure["title"] == "Test users or groups could not be cleaned up"
    seen = failure["seen"]
    assert f"worker {worker} (prefix {journal['prefix']!r}, journal {journal['path']}):" in seen
    assert all(repr(n) in seen for n in names), seen
    other = "gw1" if worker == "gw0" else "gw0"
    assert f"-{other}-" not in seen
    # The reason is the server's own answer: the in-process app is stopped only after the
    # worker's last cleanup, which therefore still reaches it (no "connection refused").
    assert "403" in seen and "refused" not in seen.replace("refused DELETE", ""), seen
    assert journal["path"] in failure["fix"]
    assert failure["fix"].startswith("Delete these by hand, or let the next run retry")
    ran_on = {m.group(1) for n in check["notes"] if (m := WORKER_NOTE.search(n))}
    assert ran_on <= {"gw0", "gw1"} and len(ran_on) == 1, check["notes"]
    if ran_on == {worker}:  # it saw its own worker's leftovers too: kept in the notes
        assert any(n.startswith("At the check's own end, on worker") for n in check["notes"])

    # An advisory finding: the pytest outcome stays passed, JUnit carries the OIN outcome.
    props, children = junit_case(result)
    assert props["outcome"] == "failed"
    assert props["advisory"] == (
        "advisory finding (reported, does not fail the run): "
        "Test users or groups could not be cleaned up"
    )
    assert "failure" not in children and "error" not in children
    assert re.search(r"\d+ advisory", result.stdout), result.stdout[-2000:]
    assert f"{CHECK_NODE} " not in result.stdout.split("short test summary info")[-1]

    # The HTML shows the same finding, with the leftovers.
    text = html_text(result)
    found = [m.start() for m in re.finditer(re.escape(f"{CHECK_ID} What was found"), text)]
    assert found, "no finding for the data-safety check in the HTML"
    section = text[found[0] : found[0] + 3000]
    assert "Test users or groups could not be cleaned up" in section
    assert f"worker {worker} (prefix" in section
    assert names[0] in section


# --- the controller's reading of the journals -------------------------------------------------


def write_journal(folder: Path, name: str, run_id: str, prefix: str, entries: list[Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    data = {"pid": 999_999_999, "host": "elsewhere", "run_id": run_id, "prefix": prefix}
    path.write_text(json.dumps(data | {"scim_base": "x", "entries": entries}))
    return path


def entry(name: str, state: str, rid: str = "", kind: str = "User", note: str = "") -> Any:
    return {"kind": kind, "name": name, "id": rid, "state": state, "note": note, "names": [name]}


def test_journals_of_this_run_count_others_are_ignored_and_broken_ones_reported(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "scim-ledger"
    assert read_run_journals(folder, "abc123").clean  # no folder: nothing left
    write_journal(
        folder, "ffffff-host-1.json", "ffffff", "oin-test-ffffff-gw0", [entry("x", "left")]
    )
    # A worker that crashed: what it created is still "created" (never cleaned).
    crashed = write_journal(
        folder,
        "abc123-host-2.json",
        "abc123",
        "oin-test-abc123-gw1",
        [
            entry("oin-test-abc123-gw1-user-a", "created", "7"),
            entry("oin-test-abc123-gw1-Group-b", "left", "8", "Group", "Group 'g' (id 8): 403"),
            entry("oin-test-abc123-gw1-user-c", "pending"),
            entry("oin-test-abc123-gw1-user-d", "deleted", "9"),
        ],
    )
    (folder / "abc123-host-3.json").write_text("{not json")
    (folder / "ffffff-host-4.json").write_text("{not json either")
    (folder / "abc123-host-5.json.tmp").write_text("{half written")

    view = read_run_journals(folder, "abc123")
    assert not view.clean
    [journal] = view.left
    assert journal.path == crashed and journal.worker == "gw1"
    assert [x.state for x in journal.leftovers] == ["created", "left", "pending"]
    text = view.text()
    assert text.startswith(f"worker gw1 (prefix 'oin-test-abc123-gw1', journal {crashed}):")
    assert "User 'oin-test-abc123-gw1-user-a' (id 7): created, never cleaned up" in text
    assert "Group 'oin-test-abc123-gw1-Group-b' (id 8): Group 'g' (id 8): 403" in text
    assert "user-c': create sent, answer never read; it may exist" in text
    assert "user-d" not in text and "ffffff" not in text
    assert len(view.unreadable) == 1 and "abc123-host-3.json" in view.unreadable[0]

    outcome, failure = verdict(view, "oin-test-abc123")
    assert outcome == "failed" and failure is not None
    assert "oin-test-abc123" in failure["expected"] and str(crashed) in failure["fix"]

    # Only an unreadable journal: the run's data safety cannot be judged (never a pass).
    crashed.unlink()
    outcome, failure = verdict(read_run_journals(folder, "abc123"), "oin-test-abc123")
    assert outcome == "inconclusive" and failure is not None
    assert "abc123-host-3.json" in failure["seen"]
    (folder / "abc123-host-3.json").unlink()
    assert verdict(read_run_journals(folder, "abc123"), "oin-test-abc123") == ("passed", None)


# --- holding and amending the check's reports on the controller -------------------------------


class FakeDSession:
    """xdist's DSession as far as the controller logic uses it."""

    def __init__(self) -> None:
        self.released: list[tuple[str, pytest.TestReport]] = []
        self.session_finished = True

    def worker_testreport(self, node: Any, rep: pytest.TestReport) -> None:
        self.released.append((node.gateway.id, rep))


def fake_runtime(tmp_path: Path) -> Any:
    """The runtime as far as the controller logic uses it (notices collected)."""
    from oin_conformance.runtime import OinRuntime

    notices: list[str] = []
    terminal = SimpleNamespace(
        ensure_newline=lambda: None, write_line=lambda text, **kw: notices.append(text)
    )
    runtime = SimpleNamespace(
        state=SimpleNamespace(path=tmp_path),
        target=SimpleNamespace(scim=SimpleNamespace(prefix="oin-test-")),
        run_id="abc123",
        context=SimpleNamespace(redactor=SimpleNamespace(text=lambda text: text)),
        config=SimpleNamespace(pluginmanager=SimpleNamespace(get_plugin=lambda name: terminal)),
        notices=notices,
    )
    runtime.redacted = lambda failure: OinRuntime.redacted(runtime, failure)  # type: ignore[arg-type]
    return runtime


def node(worker: str) -> Any:
    return SimpleNamespace(gateway=SimpleNamespace(id=worker))


def report(nodeid: str, when: str, check_id: str, outcome: str = "passed") -> pytest.TestReport:
    props = [("check_id", check_id), ("outcome", outcome)] if when == "teardown" else []
    rep = pytest.TestReport(nodeid, ("f.py", 1, "t"), {}, "passed", None, when, [], 0.1, props)  # type: ignore[arg-type]
    rep.oin = {"id": check_id, "severity": "advisory", "outcome": outcome, "notes": []}  # type: ignore[attr-defined]
    return rep


def test_a_passing_check_on_one_worker_fails_for_another_workers_leftovers(
    tmp_path: Path,
) -> None:
    journal = write_journal(
        tmp_path / "scim-ledger",
        "abc123-host-2.json",
        "abc123",
        "oin-test-abc123-gw1",
        [entry("oin-test-abc123-gw1-user-a", "left", "7", note="DELETE answered 403")],
    )
    runtime = fake_runtime(tmp_path)
    dsession = FakeDSession()
    nodeid = f"suites/{CHECK_NODE}"
    other = report("suites/scim/test_users.py::test_x", "call", "scim.x")
    setup, call, teardown = (report(nodeid, w, CHECK_ID) for w in ("setup", "call", "teardown"))
    with across_workers(runtime, dsession):
        for rep in (setup, call, other, teardown):
            dsession.worker_testreport(node=node("gw0"), rep=rep)
        # Held back until every worker has finished; everything else goes through.
        assert [r for _, r in dsession.released] == [setup, other]
    assert [r for _, r in dsession.released] == [setup, other, call, teardown]
    assert "worker_testreport" not in vars(dsession)  # the wrapper is gone again
    info = call.oin
    assert info["outcome"] == "failed"
    assert info["failure"]["title"] == "Test users or groups could not be cleaned up"
    assert (
        f"worker gw1 (prefix 'oin-test-abc123-gw1', journal {journal})" in info["failure"]["seen"]
    )
    assert (
        "User 'oin-test-abc123-gw1-user-a' (id 7): DELETE answered 403" in info["failure"]["seen"]
    )
    assert call.passed and "Fix:" in str(call.longrepr)  # advisory: pytest outcome passed
    props = {str(k): str(v) for k, v in teardown.user_properties}
    assert props["outcome"] == "failed"
    assert props["advisory"].startswith("advisory finding (reported, does not fail the run)")
    assert any("ran on xdist worker gw0" in n for n in teardown.oin["notes"])
    assert runtime.notices == []


def test_the_workers_own_finding_is_kept_and_never_lowered(tmp_path: Path) -> None:
    nodeid = f"suites/{CHECK_NODE}"
    own = {"title": "Test users or groups could not be cleaned up", "seen": "left behind: X"}

    def failed_on_its_worker() -> tuple[pytest.TestReport, pytest.TestReport]:
        call = report(nodeid, "call", CHECK_ID, "failed")
        call.oin["failure"] = dict(own, expected="nothing", fix="fix it")
        return call, report(nodeid, "teardown", CHECK_ID, "failed")

    # The journals list more than the worker saw: the run-wide view, the worker's in a note.
    write_journal(
        tmp_path / "scim-ledger", "abc123-h-2.json", "abc123", "p-gw1", [entry("u", "left")]
    )
    dsession = FakeDSession()
    call, teardown = failed_on_its_worker()
    with across_workers(fake_runtime(tmp_path), dsession):
        dsession.worker_testreport(node=node("gw1"), rep=call)
        dsession.worker_testreport(node=node("gw1"), rep=teardown)
    assert call.oin["outcome"] == "failed"
    assert call.oin["failure"]["seen"].startswith("worker gw1 (prefix 'p-gw1'")
    assert "At the check's own end, on worker gw1, it saw: left behind: X" in teardown.oin["notes"]
    assert {str(k): str(v) for k, v in teardown.user_properties}["outcome"] == "failed"

    # Nothing left in any journal (its worker's last cleanup got it): the finding stands.
    (tmp_path / "scim-ledger" / "abc123-h-2.json").unlink()
    dsession = FakeDSession()
    call, teardown = failed_on_its_worker()
    with across_workers(fake_runtime(tmp_path), dsession):
        dsession.worker_testreport(node=node("gw1"), rep=call)
        dsession.worker_testreport(node=node("gw1"), rep=teardown)
    assert call.oin["outcome"] == "failed" and call.oin["failure"]["seen"] == "left behind: X"
    assert [r for _, r in dsession.released] == [call, teardown]


def test_reports_are_released_unchanged_when_the_run_was_interrupted(tmp_path: Path) -> None:
    write_journal(
        tmp_path / "scim-ledger", "abc123-h-2.json", "abc123", "p-gw1", [entry("u", "created")]
    )
    runtime = fake_runtime(tmp_path)
    dsession = FakeDSession()
    dsession.session_finished = False
    call = report(f"suites/{CHECK_NODE}", "call", CHECK_ID)

    def interrupted_loop() -> None:
        with across_workers(runtime, dsession):
            dsession.worker_testreport(node=node("gw0"), rep=call)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted_loop()
    assert [r for _, r in dsession.released] == [call]
    assert call.oin["outcome"] == "passed"
    assert any("before every xdist worker finished" in n for n in runtime.notices)


def test_another_xdist_without_the_method_leaves_reports_alone_and_says_so(
    tmp_path: Path,
) -> None:
    write_journal(
        tmp_path / "scim-ledger", "abc123-h-2.json", "abc123", "p-gw1", [entry("u", "created")]
    )
    runtime = fake_runtime(tmp_path)
    with across_workers(runtime, SimpleNamespace(session_finished=True)):
        pass
    assert "no DSession.worker_testreport(node, rep)" in runtime.notices[0]
    assert "User 'u': created, never cleaned up" in runtime.notices[1]


def test_without_the_check_the_leftovers_are_still_printed(tmp_path: Path) -> None:
    write_journal(
        tmp_path / "scim-ledger", "abc123-h-2.json", "abc123", "p-gw1", [entry("u", "left")]
    )
    runtime = fake_runtime(tmp_path)
    dsession = FakeDSession()
    with across_workers(runtime, dsession):
        pass
    assert len(runtime.notices) == 1
    assert "the run left SCIM test data behind" in runtime.notices[0]


def test_the_controller_module_imports_nothing_heavy() -> None:
    code = (
        "import sys, oin_conformance.wiring.scim_workers; "
        "print([m for m in sys.modules if m.split('.')[0] in ('httpx', 'requests', 'scim2', "
        "'pydantic', 'lxml', 'cryptography')])"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip() == "[]"
