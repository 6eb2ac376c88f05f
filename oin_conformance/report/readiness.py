"""The readiness writer: collects every check's record and writes the verdict.

Registered only in the controller process (never on an xdist worker), like pytest's own
junitxml writer, and never for ``--collect-only``. It fills pytest-html through its hooks,
writes ``readiness.json``, prints the verdict in the terminal, and makes sure the exit
status is non-zero when a blocking check failed or was inconclusive. It never lowers the
exit status: advisory findings are not test failures in the first place (the runtime
reports them with a status of their own), and anything else that failed — an ISV's own
test in the same run, a check that broke — keeps pytest's exit status.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import re
import shlex
import sys
import time
from html import escape
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import pytest

from oin_conformance import __version__
from oin_conformance.report import har, history, submission_tester
from oin_conformance.report.html import anchor, last_line, summary_html
from oin_conformance.report.model import (
    CheckResult,
    app_verdict,
    protocol_of,
    protocol_verdicts,
    sort_key,
)
from oin_conformance.target import Target
from oin_conformance.transcript import Exchange, Redactor


class RunSource(Protocol):
    """What the report reads of the run (the runtime provides it; the report does not
    import the runtime)."""

    target: Target
    seed: int
    run_id: str
    report_dir: Path
    #: Every suite check collected (node id -> metadata) and the node ids deselected.
    collected: dict[str, dict[str, Any]]
    deselected: set[str]
    #: The command line named paths or node ids that leave some suites out.
    narrowed: bool
    #: --oin-report (history/ lives here; report_dir is it or its partial/ subfolder).
    report_root: Path
    #: What narrowed the run's checks, and the readiness.json of --oin-compare.
    selection: history.Selection
    compare_with: Path | None

    def shipped_check_ids(self) -> tuple[list[str], str]:
        """Every shipped check id, or ([], why it could not be read)."""
        ...

    def requirement_catalogue(self) -> dict[str, list[dict[str, str]]]:
        """Every OIN requirement of the catalogue (id, title, url), by protocol."""
        ...


SCHEMA_VERSION = 2
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


VERDICT_TEXT = {
    "ready": "READY: every configured protocol is ready",
    "not_ready": "NOT READY: a blocking check failed or could not judge the app",
    "incomplete": "INCOMPLETE: part of the checks did not run; run them all for a verdict",
    "not_run": "NOT RUN: no check of the suites ran",
}
NOT_RUN_SHOWN = 12


class ReadinessReport:
    def __init__(self, runtime: RunSource) -> None:
        self.runtime = runtime
        self.results: dict[str, CheckResult] = {}
        self.started = dt.datetime.now(dt.UTC)
        self._t0 = time.monotonic()
        self._payload: dict[str, Any] | None = None
        #: What a worker reported it collected (under xdist).
        self.worker_collection: dict[str, Any] = {}
        #: Things that kept the report from being complete (shown in the terminal).
        self.problems: list[str] = []
        #: Collection order (after every reordering), so the report lists checks as they run.
        self.order: dict[str, int] = {}
        #: Output pytest captured per check (already redacted by the runtime), shown in the
        #: check's HTML details instead of pytest-html's log.
        self.captured: dict[str, list[tuple[str, str]]] = {}
        #: The Submission Tester rehearsal's record and where it was written (if any ran).
        self.tester_record: dict[str, Any] | None = None
        self.tester_path: Path | None = None

    # -- collecting ----------------------------------------------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self.order = {item.nodeid: i for i, item in enumerate(items)}

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        # Under xdist the controller does not collect; every worker reports the same order.
        if not self.order:
            self.order = {nodeid: i for i, nodeid in enumerate(ids)}

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        # What a worker collected and deselected (every worker collects the same).
        out = getattr(node, "workeroutput", None) or {}
        collection = out.get("oin_collection")
        if isinstance(collection, dict) and not self.worker_collection:
            self.worker_collection = collection

    def collection(self) -> tuple[dict[str, dict[str, Any]], set[str]] | None:
        """(every collected suite check by node id, the deselected node ids), if known."""
        if self.runtime.collected or self.runtime.deselected:
            return self.runtime.collected, self.runtime.deselected
        if self.worker_collection:
            return (
                dict(self.worker_collection.get("checks", {})),
                set(self.worker_collection.get("deselected", [])),
            )
        return None

    def not_run(self) -> tuple[list[CheckResult], list[str]]:
        """Checks that apply but did not run: (selected but never reported, as results;
        ids of checks left out by deselection or by the paths on the command line)."""
        configured = self.runtime.target.protocols
        applies = {p for p, on in configured.items() if on} | {"general"}
        collection = self.collection()
        unreported: list[CheckResult] = []
        left_out: list[str] = []
        if collection is not None:
            checks, deselected = collection
            for nodeid, meta in checks.items():
                if meta["protocol"] not in applies or nodeid in self.results:
                    continue
                if nodeid in deselected:
                    left_out.append(str(meta["id"]))
                elif nodeid in self.order:
                    result = CheckResult(meta=dict(meta), outcome="not_run")
                    result.meta["rerun"] = self.rerun_command(str(meta["id"]))
                    unreported.append(result)
        if self.runtime.narrowed or collection is None:
            # Some suites were never collected: the catalogue says what exists.
            seen = {str(r.id) for r in self.results.values()} | {str(r.id) for r in unreported}
            seen |= set(left_out)
            universe, problem = self.runtime.shipped_check_ids()
            if problem:
                self.problems.append(problem)
            left_out += [i for i in universe if i not in seen and protocol_of(i) in applies]
        return unreported, left_out

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
        for title, content in report.sections:
            if report.when in title and content.strip():
                self.captured.setdefault(report.nodeid, []).append((title, content))

    def rerun_command(self, check_id: str) -> str:
        target = self.runtime.target.path
        return (
            f"pytest --oin-target={shlex.quote(str(target))} --oin-seed={self.runtime.seed} "
            f"--oin-check={shlex.quote(check_id)}"
        )

    # -- verdict -------------------------------------------------------------------------

    def payload(self) -> dict[str, Any]:
        unreported, left_out = self.not_run()
        results = sorted(
            [*self.results.values(), *unreported], key=lambda r: sort_key(r, self.order)
        )
        target = self.runtime.target
        verdicts = protocol_verdicts(results, target.protocols, left_out)
        verdict = app_verdict(verdicts)
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
                    "references": meta.get("references", []),
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
                    "submission_tester": meta.get("submission_tester"),
                }
            )
        not_run = [i for v in verdicts.values() for i in v["not_run"]]
        payload = {
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
            "verdict": verdict,
            "ready": verdict == "ready",
            "protocols": verdicts,
            "blocking_failures": [r.id for r in results if r.blocking_failure],
            "inconclusive": [r.id for r in results if r.blocking_inconclusive],
            "advisories": [r.id for r in results if r.advisory_finding],
            "not_run": not_run,
            "selection": self.runtime.selection.as_dict(),
            "checks": checks,
        }
        payload["summary_line"] = summary_line(payload)
        return payload

    # -- outputs -------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if session.exitstatus in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERNAL_ERROR):
            return
        self._payload = payload = self.payload()
        self.runtime.report_dir.mkdir(parents=True, exist_ok=True)
        self.add_evidence(payload)
        write_json(self.runtime.report_dir / "readiness.json", payload)
        history.save(self.runtime.report_root, payload)
        blocked = payload["blocking_failures"] or payload["inconclusive"]
        if blocked and session.exitstatus == pytest.ExitCode.OK:
            # Only ever raised: what failed outside the suites keeps its own status.
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def add_evidence(self, payload: dict[str, Any]) -> None:
        """Write the HAR file (and link each check to its entries), compare with the last
        comparable run, and write the Submission Tester rehearsal's record."""
        run = self.runtime
        doc, links = har.build(payload["checks"], started=payload["started"])
        har.write(run.report_dir / har.RUN_HAR, doc)
        for check in payload["checks"]:
            check["har"] = har.link(har.RUN_HAR, links, check["id"])
        payload["changes"] = history.changes(
            payload, run.report_root, run.selection, run.compare_with
        )
        tester_checks = submission_tester.checks_in(payload)
        if not tester_checks:
            return
        collection = self.collection()
        applies = {p for p, on in run.target.protocols.items() if on}
        is_complete = collection is not None and submission_tester.complete(
            collection[0].values(),
            {c["id"]: c["outcome"] for c in payload["checks"]},
            applies,
            run.narrowed,
        )
        folder = run.report_root if is_complete else run.report_root / history.PARTIAL_DIR
        folder.mkdir(parents=True, exist_ok=True)
        tester_har, tester_links = har.build(tester_checks, started=payload["started"])
        record = submission_tester.build(payload, is_complete=is_complete, har_links=tester_links)
        har.write(folder / submission_tester.RECORD_HAR, tester_har)
        write_json(folder / submission_tester.RECORD, record)
        self.tester_record, self.tester_path = record, folder / submission_tester.RECORD
        payload["submission_tester"] = {
            "file": history.relative(self.tester_path, run.report_root),
            "complete": record["complete"],
            "passed": record["passed"],
            "valid_until": record["valid_until"],
        }

    def evidence_lines(self) -> list[tuple[str, dict[str, bool]]]:
        """The terminal's lines on changes, the rehearsal and the evidence files."""
        payload = self._payload or {}
        lines = history.terminal_lines(payload["changes"]) if "changes" in payload else []
        if self.tester_record is not None and self.tester_path is not None:
            lines += submission_tester.terminal_lines(self.tester_record, str(self.tester_path))
        run = self.runtime
        if run.report_dir != run.report_root:
            lines.append(
                (
                    f"partial run: its reports are in {run.report_dir}; the last full run's "
                    f"report in {run.report_root} is kept",
                    {"yellow": True},
                )
            )
        lines.append(
            (
                f"evidence: {run.report_dir / har.RUN_HAR} (HAR 1.2, one page per check); "
                f"history: {run.report_root / history.HISTORY_DIR}",
                {},
            )
        )
        return lines

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """The OIN summary: verdict, protocols, then blocking failures, checks that could not
        judge the app and advisories, each apart; the one-line summary last. Colours go
        through pytest's terminal writer, so ``--color`` and ``NO_COLOR`` decide."""
        payload = self._payload
        if payload is None:
            return
        tr = terminalreporter
        tr.section("OIN readiness")
        verdict = payload["verdict"]
        verdict_markup = VERDICT_MARKUP[verdict]
        tr.line(f"{payload['app_name']}: {VERDICT_TEXT[verdict]}", bold=True, **verdict_markup)
        width = max((len(name) for name in payload["protocols"]), default=0)
        for name, v in payload["protocols"].items():
            status = v["status"]
            tr.write(f"{name:<{width}} ")
            tr.write(f"{status.replace('_', ' '):<15}", **STATUS_MARKUP[status])
            tr.line(
                f" {v['passed']} passed, {len(v['blocking_failures'])} blocking, "
                f"{len(v['inconclusive'])} inconclusive, {len(v['advisories'])} advisory, "
                f"{v['skipped']} skipped, {len(v['not_run'])} not run"
            )
        checks = {c["id"]: c for c in payload["checks"]}
        for cid in payload["blocking_failures"]:
            failure = checks[cid].get("failure") or {}
            title = failure.get("title") or last_line(checks[cid].get("message", ""))
            tr.line(f"BLOCKING  {cid}: {title}", red=True, bold=True)
            if failure.get("fix"):
                tr.line(f"          Fix: {failure['fix']}")
        # Inconclusive checks, grouped by what stopped them (one cause often stops many).
        groups: dict[tuple[str, str], list[str]] = {}
        for check in payload["checks"]:
            if check["outcome"] == "inconclusive":
                failure = check.get("failure") or {}
                key = (str(failure.get("title", "")), str(check.get("fix", "")))
                groups.setdefault(key, []).append(check["id"])
        for (title, fix), ids in groups.items():
            blocking = [i for i in ids if checks[i]["severity"] == "blocking"]
            shown = ", ".join(ids[:NOT_RUN_SHOWN])
            more = f" … and {len(ids) - NOT_RUN_SHOWN} more" if len(ids) > NOT_RUN_SHOWN else ""
            tr.line(
                f"INCONCLUSIVE  {len(ids)} check(s) ({len(blocking)} blocking) could not judge "
                f"the app: {title}: {shown}{more}",
                yellow=True,
            )
            if fix:
                tr.line(f"              Fix: {fix}")
        for cid in payload["advisories"]:
            if checks[cid]["outcome"] != "inconclusive":
                failure = checks[cid].get("failure") or {}
                title = failure.get("title") or last_line(checks[cid].get("message", ""))
                tr.line(f"advisory  {cid} (does not fail the run): {title}", cyan=True)
        missing = payload["not_run"]
        if missing:
            shown = ", ".join(missing[:NOT_RUN_SHOWN])
            more = (
                f" … and {len(missing) - NOT_RUN_SHOWN} more"
                if len(missing) > NOT_RUN_SHOWN
                else ""
            )
            tr.line(
                f"not run: {len(missing)} check(s) that apply to the target did not run: "
                f"{shown}{more} (all listed in readiness.json)",
                yellow=True,
            )
        for problem in self.problems:
            tr.line(f"oin-conformance: {problem}", red=True)
        for text, markup in self.evidence_lines():
            tr.line(text, **markup)
        report_dir = self.runtime.report_dir
        tr.line(f"reports: {report_dir / 'readiness.html'}, readiness.json, junit.xml")
        # One line for CI logs (grep '^OIN readiness:'), also in readiness.json.
        tr.line(payload["summary_line"], bold=True, **verdict_markup)

    # -- pytest-html ---------------------------------------------------------------------

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_report_title(self, report: Any) -> None:
        report.title = f"OIN readiness — {self.runtime.target.app.name}"

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(
        self, prefix: list[str], summary: list[str], postfix: list[str], session: Any
    ) -> None:
        payload = self._payload or self.payload()
        # What changed since the last run and the Submission Tester rehearsal belong on the
        # first screen, after the findings and before the requirement matrix.
        extra = []
        if "changes" in payload:
            extra.append(history.changes_html(payload["changes"]))
        if self.tester_record is not None:
            extra.append(submission_tester.summary_html(self.tester_record))
        captured = {
            self.results[nodeid].id: sections
            for nodeid, sections in self.captured.items()
            if nodeid in self.results
        }
        shown = dict(
            payload,
            checks=[dict(c, captured=captured.get(c["id"], [])) for c in payload["checks"]],
        )
        redact = Redactor(self.runtime.target.secrets()).text
        prefix.append(
            summary_html(shown, self.runtime.requirement_catalogue(), redact, extra=extra)
        )

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        cells.insert(2, '<th class="sortable" data-column-type="severity">Severity</th>')
        cells.insert(3, "<th>Requirement</th>")

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_row(self, report: Any, cells: list[str]) -> None:
        info = getattr(report, "oin", None) or {}
        status = oin_status(report, info) if report.when == "call" else None
        label = ROW_LABEL.get(status) if status else None
        if label and cells:
            cells[0] = relabel_result_cell(cells[0], *label)
        if info.get("id") and len(cells) > 1:
            cells[1] = linked_id_cell(str(info["id"]))
        cells.insert(2, f'<td class="col-severity">{escape(str(info.get("severity", "")))}</td>')
        url = escape(str(info.get("requirement_url", "")))
        req = escape(str(info.get("requirement", "")))
        cells.insert(3, f'<td><a href="{url}">{req}</a></td>' if url else "<td></td>")

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_html(self, report: Any, data: list[str]) -> None:
        # A check's details (failure, re-run command, conversation, captured output) live in
        # the requirement matrix, which its row links to. pytest-html's log would repeat
        # pytest's longrepr, say "No log output captured.", and draw every line that starts
        # with "E" in red (its log formatter takes such lines for error lines): a check's
        # row carries no log at all.
        if isinstance(getattr(report, "oin", None), dict):
            data[:] = []


def linked_id_cell(check_id: str) -> str:
    """pytest-html's Test cell: the check id, a link to its entry in the requirement matrix.

    pytest-html reads the sortable value (and the row's element id) with
    ``<td.*?>(.*?)</td>``; the plain id is written first, in an attribute, where that
    expression finds it.
    """
    cid = escape(check_id)
    return (
        f'<td class="col-testId" data-id="<td>{cid}</td>">'
        f'<a href="#{escape(anchor(check_id))}">{cid}</a></td>'
    )


VERDICT_MARKUP: dict[str, dict[str, bool]] = {
    "ready": {"green": True},
    "not_ready": {"red": True},
    "incomplete": {"yellow": True},
    "not_run": {"yellow": True},
}
STATUS_MARKUP: dict[str, dict[str, bool]] = {**VERDICT_MARKUP, "not_configured": {}}


def summary_line(payload: dict[str, Any]) -> str:
    """The run in one line, for CI logs: verdict, what blocks, counts, protocols (the same for
    a serial and a parallel run; the terminal's line above it names the report files)."""
    counts: dict[str, int] = {}
    for check in payload["checks"]:
        key = check["outcome"]
        if key == "failed" and check["severity"] == "advisory":
            key = "advisory"
        counts[key] = counts.get(key, 0) + 1
    order = ("passed", "failed", "error", "inconclusive", "advisory", "skipped", "not_run")
    spelled = ", ".join(f"{counts[k]} {k.replace('_', ' ')}" for k in order if counts.get(k))
    protocols = ", ".join(
        f"{name} {v['status'].replace('_', ' ')}"
        for name, v in payload["protocols"].items()
        if v["status"] != "not_configured"
    )
    return (
        f"OIN readiness: {payload['verdict'].replace('_', ' ').upper()} · {payload['app_name']} · "
        f"{len(payload['blocking_failures'])} blocking, {len(payload['inconclusive'])} "
        f"inconclusive, {len(payload['advisories'])} advisory, {len(payload['not_run'])} not run"
        f" · {len(payload['checks'])} checks: {spelled or 'none'} · {protocols}"
    )


#: The label and colour of a pytest-html row whose OIN outcome pytest has no word for.
ROW_LABEL = {
    "inconclusive": ("Inconclusive", "#7d4e00"),
    "advisory": ("Advisory", "#7d4e00"),
}


def oin_status(report: Any, info: dict[str, Any]) -> str | None:
    """``inconclusive`` or ``advisory`` (a report status of their own), else None."""
    if info.get("outcome") == "inconclusive":
        return "inconclusive"
    if info.get("outcome") == "failed" and info.get("severity") == "advisory":
        return "advisory"
    return None


def relabel_result_cell(cell: str, label: str, colour: str) -> str:
    """Show ``label`` in pytest-html's Result cell, keeping its filter category.

    pytest-html reads a row's category (passed, failed ...; its filters know no others)
    from the text of this cell with ``<td.*?>(.*?)</td>``. The category is kept where that
    expression finds it, in a ``data-category`` attribute written first, and the cell shows
    the OIN outcome.
    """
    match = re.search(r"<td[^>]*>(.*?)</td>", cell)
    category = match.group(1) if match else "Passed"
    return (
        f'<td class="col-result" data-category="<td>{escape(category)}</td>" '
        f'style="color:{colour}" title="pytest category: {escape(category)}">{label}</td>'
    )


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
