"""Workers of one run that share a SCIM server: while one of them pages it (Okta's import,
the pagination check), the others' creates and deletes wait, so the pages hold still and a
correct server is never failed for users moving between pages (roles/scim/gate.py).

The gate is a lock on a file shared by processes; its tests use real processes. The last
test runs the SCIM suite with four workers against one live reference SCIM server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from benchmarks.latency import DelayProxy
from oin_conformance.roles.scim.gate import ChangeGate
from oin_conformance.roles.serve import ServedApp
from tests.scim.safety import TOKEN, USER, standalone_server, write_target

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="fcntl locks")

HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from oin_conformance.roles.scim.gate import ChangeGate

    lock, how, log, release = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
    gate = ChangeGate(lock)
    held = gate.listing() if how == "listing" else gate.changing("DELETE")
    with held:
        with log.open("a") as fh:
            fh.write(f"{how} held\\n")
        while not release.exists():
            time.sleep(0.01)
        with log.open("a") as fh:
            fh.write(f"{how} released\\n")
    """
)


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[object]:
    """Start a process holding the gate (``listing`` or ``changing``) until released."""
    procs: list[subprocess.Popen[bytes]] = []
    release = tmp_path / "release"
    log = tmp_path / "log"

    def start(how: str) -> None:
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", HOLDER, str(tmp_path / "g.lock"), how, str(log)]
                + [str(release)]
            )
        )
        for _ in range(1000):
            if log.exists() and f"{how} held" in log.read_text():
                return
            time.sleep(0.01)
        pytest.fail(f"the holding process did not take the gate ({how})")

    yield start
    release.touch()
    for proc in procs:
        proc.wait(timeout=10)


def test_a_change_waits_while_another_process_pages(tmp_path: Path, holder: object) -> None:
    holder("listing")  # type: ignore[operator]
    log = tmp_path / "log"
    gate = ChangeGate(tmp_path / "g.lock")
    with gate.changing("GET"):  # reading never waits
        log.open("a").write("read done\n")
    # Let the holder go a moment after this process starts waiting to change the server.
    subprocess.Popen(
        [sys.executable, "-c", f"import time, pathlib; time.sleep(0.3); "
         f"pathlib.Path({str(tmp_path / 'release')!r}).touch()"]
    )  # fmt: skip
    with gate.changing("POST"):
        log.open("a").write("change done\n")
    lines = log.read_text().splitlines()
    assert lines.index("read done") < lines.index("listing released")
    assert lines.index("listing released") < lines.index("change done"), lines


def test_paging_waits_for_changes_in_flight_and_says_when_it_could_not(
    tmp_path: Path, holder: object
) -> None:
    holder("changing")  # type: ignore[operator]
    gate = ChangeGate(tmp_path / "g.lock", wait=0.2)
    with gate.listing() as quiet:
        assert quiet is False  # another process kept changing the server
    (tmp_path / "release").touch()
    for _ in range(1000):
        if "changing released" in (tmp_path / "log").read_text():
            break
        time.sleep(0.01)
    with gate.listing() as quiet:
        assert quiet is True


def test_this_process_may_change_the_server_while_it_pages(tmp_path: Path) -> None:
    """Its own changes inside its own listing pass (a second lock would wait for itself)."""
    gate = ChangeGate(tmp_path / "g.lock", wait=1)
    with gate.listing() as quiet:
        assert quiet
        with gate.changing("DELETE"), gate.listing() as nested:
            assert nested


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[str]:
    with standalone_server(tmp_path) as url:
        # 30 ms a request, as a staging server is away: a page read overlaps the other
        # workers' creates and deletes, as it would in an ISV's run.
        port = int(url.rsplit(":", 1)[1])
        proxy = ServedApp(DelayProxy(("127.0.0.1", port), delay_ms=30))
        try:
            yield proxy.url
        finally:
            proxy.stop()


@pytest.mark.slow
def test_four_workers_sharing_one_server_judge_it_as_one_would(
    tmp_path: Path, live_server: str
) -> None:
    target = write_target(tmp_path, live_server)
    for attempt in range(2):
        stdout, readiness = _run_scim(target, tmp_path / f"reports{attempt}", "4")
        assert "created: 4/4 workers" in stdout, stdout[-2000:]
        bad = {
            c["id"]: (c.get("failure") or {}).get("seen", c.get("message", ""))[:300]
            for c in readiness["checks"]
            if c["outcome"] in ("failed", "inconclusive", "error") and c["protocol"] == "scim"
        }
        assert not bad, bad
        assert readiness["protocols"]["scim"]["status"] == "ready", stdout[-3000:]
    # The workers coordinated through the lock file in the state folder.
    assert (tmp_path / "state" / "scim-ledger" / "changes.lock").exists()


def _run_scim(target: Path, out: Path, workers: str) -> tuple[str, dict[str, Any]]:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--oin-target={target}",
         "-m", "scim", f"--oin-report={out}", "-n", workers],
        cwd=target.parent,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTEST_XDIST_WORKER": "", "PYTEST_ADDOPTS": ""},
        check=False,
    )  # fmt: skip
    return proc.stdout, json.loads((out / "readiness.json").read_text())


@pytest.mark.slow
def test_another_workers_changes_wait_while_a_check_pages(tmp_path: Path, live_server: str) -> None:
    """Another process of the run creates and deletes users without pause (through the
    gate, as a worker's SCIM client does): the import and pagination checks still read
    still pages, and pass."""
    target = write_target(tmp_path, live_server)
    gate = ChangeGate(tmp_path / "state" / "scim-ledger" / "changes.lock")
    stop = threading.Event()
    churned: list[int] = []

    def churn() -> None:
        http = requests.Session()
        http.trust_env = False
        http.headers["Authorization"] = f"Bearer {TOKEN}"
        n = 0
        while not stop.is_set():
            n += 1
            body = {"schemas": [USER], "userName": f"churn-{n}@example.com"}
            with gate.changing("POST"):
                made = http.post(f"{live_server}/scim/v2/Users", json=body, timeout=10)
            with gate.changing("DELETE"):
                http.delete(f"{live_server}/scim/v2/Users/{made.json()['id']}", timeout=10)
            churned.append(n)

    worker = threading.Thread(target=churn, daemon=True)
    worker.start()
    try:
        stdout, readiness = _run_scim(target, tmp_path / "reports", "1")
    finally:
        stop.set()
        worker.join(timeout=30)
    assert len(churned) > 20, "the other process hardly changed anything"
    checks = {c["id"]: c for c in readiness["checks"]}
    for paging in (
        "scim.paginates_with_total_results",
        "scim.imports_users_as_okta_pages",
        "scim.imports_groups",
    ):
        assert checks[paging]["outcome"] == "passed", (paging, checks[paging].get("failure"))


class _Session:
    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def listing(self) -> Any:
        import contextlib

        return contextlib.nullcontext(self.quiet)


class _Check:
    def __init__(self, quiet: bool) -> None:
        from oin_conformance.transcript import Transcript

        self.session = _Session(quiet)
        self.transcript = Transcript()


@pytest.mark.parametrize("quiet", [True, False])
def test_a_finding_made_while_others_kept_changing_the_server_is_inconclusive(
    quiet: bool,
) -> None:
    from oin_conformance.failures import CheckFailure, Inconclusive, fail
    from suites.scim.okta import quiet_server

    check = _Check(quiet)
    with pytest.raises(CheckFailure) as info, quiet_server(check):  # type: ignore[arg-type]
        raise fail("totalResults depends on the page size", seen="5 vs 6", expected="=", fix="x")
    assert isinstance(info.value, Inconclusive) is not quiet
    assert info.value.title == "totalResults depends on the page size"
    if not quiet:
        assert "Other workers of this run were creating and deleting" in info.value.seen
        assert any("kept changing" in n for n in check.transcript.notes)
