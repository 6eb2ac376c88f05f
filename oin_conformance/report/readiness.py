"""The readiness writer: collects every check's record and writes the verdict.

Registered only in the controller process (never on an xdist worker), like pytest's own
junitxml writer. It fills pytest-html through its hooks, writes ``readiness.json``, prints
the verdict in the terminal, and sets the exit status: non-zero exactly when a blocking
check failed (advisory failures are reported but never fail the run).
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import shlex
import sys
import time
from html import escape
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from oin_conformance import __version__
from oin_conformance.report.html import check_html, summary_html
from oin_conformance.report.model import CheckResult, protocol_verdicts, sort_key
from oin_conformance.transcript import Exchange

if TYPE_CHECKING:
    from oin_conformance.runtime import OinRuntime

SCHEMA_VERSION = 1
LIBRARIES = (
    "pytest",
    "pytest-html",
    "pytest-xdist",
    "requests",
    "cryptography",
    "lxml",
    "xmlsec",
    "signxml",
    "python3-saml",
    "authlib",
    "joserfc",
    "scim2-client",
    "scim2-models",
    "pydantic",
)


def library_versions() -> dict[str, str]:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


class ReadinessReport:
    def __init__(self, runtime: OinRuntime) -> None:
        self.runtime = runtime
        self.results: dict[str, CheckResult] = {}
        self.started = dt.datetime.now(dt.UTC)
        self._t0 = time.monotonic()
        self._payload: dict[str, Any] | None = None
        #: Collection order (after every reordering), so the report lists checks as they run.
        self.order: dict[str, int] = {}

    # -- collecting ----------------------------------------------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self.order = {item.nodeid: i for i, item in enumerate(items)}

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        # Under xdist the controller does not collect; every worker reports the same order.
        if not self.order:
            self.order = {nodeid: i for i, nodeid in enumerate(ids)}

    @pytest.hookimpl(tryfirst=True)  # before pytest-html renders the row from our record
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        info = getattr(report, "oin", None)
        if not isinstance(info, dict):
            return
        result = self.results.get(report.nodeid)
        if result is None:
            meta = {k: v for k, v in info.items() if k not in ("failure", "message")}
            meta["rerun"] = self.rerun_command(str(info["id"]))
            result = self.results[report.nodeid] = CheckResult(meta=meta)
        if report.skipped and isinstance(report.longrepr, tuple):
            result.skip_reason = str(report.longrepr[2]).removeprefix("Skipped: ")
        result.update(report.when, report.outcome, report.duration, info)

    def rerun_command(self, check_id: str) -> str:
        target = self.runtime.target.path
        return (
            f"pytest --oin-target={shlex.quote(str(target))} --oin-seed={self.runtime.seed} "
            f"--oin-check={shlex.quote(check_id)}"
        )

    # -- verdict -------------------------------------------------------------------------

    def payload(self) -> dict[str, Any]:
        results = sorted(self.results.values(), key=lambda r: sort_key(r, self.order))
        target = self.runtime.target
        verdicts = protocol_verdicts(results, target.protocols)
        checks = []
        for r in results:
            meta = r.meta
            failure = meta.get("failure") or {}
            checks.append(
                {
                    "id": r.id,
                    "title": meta["title"],
                    "description": meta.get("description", ""),
                    "protocol": r.protocol,
                    "requirement": meta["requirement"],
                    "requirement_title": meta["requirement_title"],
                    "requirement_url": meta["requirement_url"],
                    "severity": r.severity,
                    "outcome": r.outcome,
                    "failure": failure or None,
                    "seen": failure.get("seen", ""),
                    "expected": failure.get("expected", ""),
                    "fix": failure.get("fix", ""),
                    "message": meta.get("message", "") if not failure else "",
                    "skip_reason": r.skip_reason,
                    "rerun": meta["rerun"],
                    "transcript": [
                        {**ex, "curl": Exchange(**ex).curl()} for ex in meta.get("transcript", [])
                    ],
                    "notes": meta.get("notes", []),
                    "duration_s": round(r.duration, 3),
                }
            )
        return {
            "schema_version": SCHEMA_VERSION,
            "harness_version": __version__,
            "app_name": target.app.name,
            "target_path": str(target.path),
            "target_sha256": target.sha256,
            "seed": self.runtime.seed,
            "run_id": self.runtime.run_id,
            "started": self.started.isoformat(timespec="seconds"),
            "duration_s": round(time.monotonic() - self._t0, 3),
            "python": platform.python_version(),
            "platform": sys.platform,
            "libraries": library_versions(),
            "ready": not any(r.blocking_failure for r in results),
            "protocols": verdicts,
            "blocking_failures": [r.id for r in results if r.blocking_failure],
            "advisories": [r.id for r in results if r.bad and r.severity == "advisory"],
            "checks": checks,
        }

    # -- outputs -------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self._payload = payload = self.payload()
        self.runtime.report_dir.mkdir(parents=True, exist_ok=True)
        write_json(self.runtime.report_dir / "readiness.json", payload)
        if session.exitstatus == pytest.ExitCode.TESTS_FAILED and payload["ready"]:
            # Only advisory checks failed: reported, but they do not fail the run.
            session.exitstatus = pytest.ExitCode.OK
        elif payload["blocking_failures"] and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        payload = self._payload or self.payload()
        tr = terminalreporter
        tr.section("OIN readiness")
        for name, verdict in payload["protocols"].items():
            tr.line(
                f"{name:<11} {verdict['status'].replace('_', ' '):<15} "
                f"{verdict['passed']} passed, {len(verdict['blocking_failures'])} blocking, "
                f"{len(verdict['advisories'])} advisory, {verdict['skipped']} skipped"
            )
        for cid in payload["blocking_failures"]:
            tr.line(f"BLOCKING  {cid}", red=True)
        for cid in payload["advisories"]:
            tr.line(f"advisory  {cid} (does not fail the run)", yellow=True)
        report_dir = self.runtime.report_dir
        tr.line(f"reports: {report_dir / 'readiness.html'}, readiness.json, junit.xml")

    # -- pytest-html ---------------------------------------------------------------------

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_report_title(self, report: Any) -> None:
        report.title = f"OIN readiness — {self.runtime.target.app.name}"

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(
        self, prefix: list[str], summary: list[str], postfix: list[str], session: Any
    ) -> None:
        prefix.append(summary_html(self._payload or self.payload()))

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        cells.insert(2, '<th class="sortable" data-column-type="severity">Severity</th>')
        cells.insert(3, "<th>Requirement</th>")

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_row(self, report: Any, cells: list[str]) -> None:
        info = getattr(report, "oin", None) or {}
        if info.get("id") and len(cells) > 1:
            cells[1] = f'<td class="col-testId">{escape(str(info["id"]))}</td>'
        cells.insert(2, f'<td class="col-severity">{escape(str(info.get("severity", "")))}</td>')
        url = escape(str(info.get("requirement_url", "")))
        req = escape(str(info.get("requirement", "")))
        cells.insert(3, f'<td><a href="{url}">{req}</a></td>' if url else "<td></td>")

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_html(self, report: Any, data: list[str]) -> None:
        info = getattr(report, "oin", None)
        if not isinstance(info, dict):
            return
        # The rerun command was made when the report was collected (pytest_runtest_logreport).
        check = dict(info, rerun=self.results[report.nodeid].meta["rerun"])
        if report.skipped and isinstance(report.longrepr, tuple):
            # pytest-html would print the raw (path, line, reason) tuple.
            reason = str(report.longrepr[2]).removeprefix("Skipped: ")
            data[:] = [check_html(check), f"<p>Skipped: {escape(reason)}</p>"]
            return
        if report.when != "call" and not report.failed:
            return
        data.insert(0, check_html(check))


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
