"""The SCIM data-safety check under pytest-xdist, decided where it can be: on the controller.

Each xdist worker has its own prefix, ledger and journal (:mod:`oin_conformance.wiring.scim`),
and cleans up at its own session end; the data-safety check
(``scim.leaves_no_test_data_behind``) runs on one worker and sees that worker's ledger only.
What the run as a whole left behind is known once every worker has finished: then every
journal of this run in the state folder (``scim-ledger/{run_id}-{host}-{pid}.json``, which a
worker removes when nothing of it is open) lists exactly what is still on the server, also
for a worker that crashed.

So the controller holds the check's reports back as xdist delivers them (its ``dsession``
plugin's ``worker_testreport``), reads every journal once the loop is over, amends the
held reports (a finding when anything is left; inconclusive when a journal of the run
cannot be read) and only then releases them: junitxml, pytest-html and the readiness
writer see one verdict. The check's own result on its worker is never lowered.

Imported only under xdist, on the controller, when the target configures SCIM; it imports
nothing heavy at import time.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from oin_conformance.runtime import OinRuntime

CHECK_ID = "scim.leaves_no_test_data_behind"
CHECK_NODE = "scim/test_cleanup.py::test_leaves_no_test_data_behind"
#: The state folder's journal directory (``roles.scim.ledger.JOURNAL_DIR``; not imported
#: here, which would import the whole SCIM role at start-up).
JOURNAL_DIR = "scim-ledger"
TITLE = "Test users or groups could not be cleaned up"

_WORKER = re.compile(r"-(gw\d+)$")
#: The worst outcome wins (the runtime's JUnit ``outcome`` property, per phase).
_RANK = {"passed": 0, "skipped": 0, "inconclusive": 1, "failed": 2, "error": 3}


# --- the journals -------------------------------------------------------------------------


@dataclass(frozen=True)
class Leftover:
    """One resource a journal still lists as open (pending, created or left)."""

    kind: str
    name: str
    id: str
    state: str
    note: str

    def text(self) -> str:
        label = f"{self.kind} {self.name!r}" + (f" (id {self.id})" if self.id else "")
        if self.state == "left":
            note = self.note or "could not be removed"
            return note if note.startswith(f"{self.kind} {self.name!r}") else f"{label}: {note}"
        if self.state == "created":
            return f"{label}: created, never cleaned up (its worker ended before its cleanup)"
        return (
            f"{label}: create sent, answer never read; it may exist (its worker ended before "
            "its cleanup)"
        )


@dataclass
class WorkerJournal:
    """One worker's journal of this run, with what it still lists."""

    path: Path
    prefix: str
    worker: str
    host: str
    pid: int
    leftovers: list[Leftover] = field(default_factory=list)

    def heading(self) -> str:
        who = f"worker {self.worker}" if self.worker else f"process {self.pid} on {self.host}"
        return f"{who} (prefix {self.prefix!r}, journal {self.path}):"


@dataclass
class RunJournals:
    """Every journal of one run in the state folder, read after every worker finished."""

    folder: Path
    run_id: str
    journals: list[WorkerJournal] = field(default_factory=list)
    #: journals of this run (by file name) that could not be read: path and why
    unreadable: list[str] = field(default_factory=list)

    @property
    def left(self) -> list[WorkerJournal]:
        return [j for j in self.journals if j.leftovers]

    @property
    def clean(self) -> bool:
        return not self.left and not self.unreadable

    def text(self) -> str:
        """What was left, by worker (prefix, journal), then the journals that were unreadable."""
        lines: list[str] = []
        for journal in self.left:
            lines.append(journal.heading())
            lines += [f"  {x.text()}" for x in journal.leftovers]
        if self.unreadable:
            lines.append("journals of this run that could not be read (what they list is unknown):")
            lines += [f"  {x}" for x in self.unreadable]
        return "\n".join(lines)


def read_run_journals(folder: Path, run_id: str) -> RunJournals:
    """Every journal of run ``run_id`` in ``folder`` (``state/scim-ledger``); journals of
    other runs are ignored, one that cannot be read is listed as such (never raises)."""
    found = RunJournals(folder=folder, run_id=run_id)
    try:
        paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
    except OSError as exc:
        found.unreadable.append(f"{folder}: {exc}")
        return found
    for path in paths:
        ours = path.name.startswith(f"{run_id}-")
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            if ours:
                found.unreadable.append(f"{path}: {exc}")
            continue
        if not isinstance(data, dict) or data.get("run_id") != run_id:
            if ours:
                found.unreadable.append(f"{path}: not a journal of run {run_id}")
            continue
        try:
            found.journals.append(_journal(path, data))
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            found.unreadable.append(f"{path}: malformed ({type(exc).__name__}: {exc})")
    return found


def _journal(path: Path, data: dict[str, Any]) -> WorkerJournal:
    prefix = str(data.get("prefix", ""))
    match = _WORKER.search(prefix)
    entries = data.get("entries", [])
    if not isinstance(entries, list):
        raise ValueError("'entries' is not a list")
    journal = WorkerJournal(
        path=path,
        prefix=prefix,
        worker=match.group(1) if match else "",
        host=str(data.get("host", "")),
        pid=int(data.get("pid", 0)),
    )
    for raw in entries:
        state = str(raw.get("state", "pending"))
        if state not in ("pending", "created", "left"):
            continue
        journal.leftovers.append(
            Leftover(
                kind=str(raw["kind"]),
                name=str(raw["name"]),
                id=str(raw.get("id") or ""),
                state=state,
                note=str(raw.get("note") or ""),
            )
        )
    return journal


# --- the verdict --------------------------------------------------------------------------


def verdict(view: RunJournals, base_prefix: str) -> tuple[str, dict[str, str] | None]:
    """The run-wide outcome ('passed', 'failed' or 'inconclusive') and its failure fields."""
    journals = ", ".join(str(j.path) for j in view.left) or str(view.folder)
    if view.left:
        return "failed", {
            "title": TITLE,
            "seen": view.text(),
            "expected": f"nothing left under the run's prefix {base_prefix!r} (any worker's)",
            "fix": "Delete these by hand, or let the next run retry (they are listed in "
            f"{journals}); make DELETE /Users/{{id}}, DELETE /Groups/{{id}} and deactivation "
            "work.",
        }
    if view.unreadable:
        return "inconclusive", {
            "title": "Could not read every xdist worker's record of what it created",
            "seen": view.text(),
            "expected": f"every journal of run {view.run_id} in {view.folder} readable as JSON",
            "fix": "Check what these journals list by hand (the state folder must not be "
            "edited while a run is in progress), then re-run this check.",
        }
    return "passed", None


def _held_key(report: Any) -> bool:
    info = getattr(report, "oin", None)
    if isinstance(info, dict) and info.get("id") == CHECK_ID:
        return True
    return str(getattr(report, "nodeid", "")).endswith(CHECK_NODE)


def _worker_of(node: Any) -> str:
    gateway = getattr(node, "gateway", None)
    return str(getattr(gateway, "id", "") or "?")


class WorkerLedgers:
    """Holds the data-safety check's reports on the controller, then decides it run-wide."""

    def __init__(self, runtime: OinRuntime, dsession: Any) -> None:
        self.runtime = runtime
        self.dsession = dsession
        self.folder = runtime.state.path / JOURNAL_DIR
        scim = runtime.target.scim
        self.base_prefix = f"{scim.prefix if scim else ''}{runtime.run_id}"
        #: (node, report) in the order xdist delivered them
        self.held: list[tuple[Any, Any]] = []
        #: notes for every phase of one check's reports: (node id, worker) -> notes
        self.notes: dict[tuple[str, str], list[str]] = {}
        self._original: Callable[..., Any] | None = None
        self._shadowed = False

    # -- holding -------------------------------------------------------------------------

    def install(self) -> bool:
        """Wrap ``dsession.worker_testreport``; False (and a notice) when it is not there."""
        original = getattr(self.dsession, "worker_testreport", None)
        try:
            params = inspect.signature(original).parameters if callable(original) else {}
        except (TypeError, ValueError):
            params = {}
        if not callable(original) or not {"node", "rep"} <= set(params):
            self.notice(
                "this pytest-xdist has no DSession.worker_testreport(node, rep): the SCIM "
                "data-safety check reports what its own worker saw; every worker's leftovers "
                "are listed below when there are any"
            )
            return False
        self._original = original
        self._shadowed = "worker_testreport" in vars(self.dsession)

        def worker_testreport(node: Any, rep: Any) -> None:
            if getattr(rep, "when", "") in ("call", "teardown") and _held_key(rep):
                self.held.append((node, rep))
                return
            original(node=node, rep=rep)

        self.dsession.worker_testreport = worker_testreport
        return True

    def uninstall(self) -> None:
        if self._original is None:
            return
        if self._shadowed:
            self.dsession.worker_testreport = self._original
        else:
            with contextlib.suppress(AttributeError):
                del self.dsession.worker_testreport

    # -- deciding ------------------------------------------------------------------------

    def finish(self, finished: bool) -> None:
        """After the loop: amend the held reports (when every worker finished) and release
        them; never raises."""
        original = self._original
        self.uninstall()
        try:
            if finished:
                self.decide()
            elif self.held:
                self.notice(
                    "the run stopped before every xdist worker finished: the SCIM data-safety "
                    "check reports what its own worker saw"
                )
        except Exception as exc:  # noqa: BLE001 - a report writer must never crash the run
            self.notice(f"could not read the workers' SCIM journals: {type(exc).__name__}: {exc}")
        finally:
            for node, rep in self.held:
                try:
                    if original is not None:
                        original(node=node, rep=rep)
                except Exception as exc:  # noqa: BLE001 - release every held report
                    self.notice(f"could not report {rep.nodeid} ({rep.when}): {exc}")
            self.held.clear()

    def decide(self) -> None:
        view = read_run_journals(self.folder, self.runtime.run_id)
        outcome, failure = verdict(view, self.base_prefix)
        calls = [(n, r) for n, r in self.held if r.when == "call"]
        if not calls:
            self.say_leftovers(view, "read from every xdist worker's journal after the run")
            return
        amended: dict[tuple[str, str], str] = {}
        for node, rep in calls:
            final = self.amend_call(node, rep, view, outcome, failure)
            if final is not None:
                amended[(rep.nodeid, _worker_of(node))] = final
        for node, rep in self.held:
            if rep.when == "teardown":
                final = amended.get((rep.nodeid, _worker_of(node)))
                if final is not None:
                    self.amend_teardown(rep, final, failure)
        for node, rep in self.held:
            # Every phase carries the check's notes (the report keeps the last phase's).
            for text in (
                *self.notes.get((rep.nodeid, _worker_of(node)), []),
                self.note(node, view),
            ):
                self.add_note(rep, text)

    def amend_call(
        self,
        node: Any,
        rep: Any,
        view: RunJournals,
        outcome: str,
        failure: dict[str, str] | None,
    ) -> str | None:
        """Amend the call report; the check's outcome now (None: left as it was)."""
        info = getattr(rep, "oin", None)
        if not isinstance(info, dict):
            return None
        before = str(info.get("outcome", "passed"))
        if failure is None or before not in ("passed", "failed", "inconclusive"):
            # An error or skip keeps its outcome; say what is left.
            self.say_leftovers(view, f"the check {CHECK_ID} ended {before}")
            return None
        if _RANK[outcome] < _RANK[before]:
            return None  # never lowered: the worker's own finding stands
        from oin_conformance.failures import CheckFailure, Inconclusive

        kind = Inconclusive if outcome == "inconclusive" else CheckFailure
        clean = self.runtime.redacted(
            kind(
                title=failure["title"],
                seen=failure["seen"],
                expected=failure["expected"],
                fix=failure["fix"],
            )
        )
        previous = info.get("failure")
        if isinstance(previous, dict) and previous.get("seen"):
            self.notes.setdefault((rep.nodeid, _worker_of(node)), []).append(
                f"At the check's own end, on worker {_worker_of(node)}, it saw: "
                f"{previous.get('seen')}"
            )
        info["failure"] = clean.as_dict()
        info["outcome"] = outcome
        info.pop("message", None)
        rep.longrepr = clean.render()
        rep.outcome = "passed" if info.get("severity") == "advisory" else "failed"
        return outcome

    def amend_teardown(self, rep: Any, final: str, failure: dict[str, str] | None) -> None:
        """The JUnit properties the runtime puts on the teardown report: outcome, advisory."""
        # The call phase comes first, so its (amended) outcome is the check's: the
        # runtime's property is the first bad phase's outcome.
        props = [tuple(p) for p in getattr(rep, "user_properties", [])]
        kept = [(k, v) for k, v in props if k not in ("outcome", "advisory")]
        kept.append(("outcome", final))
        info = getattr(rep, "oin", None)
        advisory = isinstance(info, dict) and info.get("severity") == "advisory"
        if advisory and final in ("failed", "inconclusive") and failure is not None:
            what = "advisory finding" if final == "failed" else "advisory check, inconclusive"
            title = self.runtime.context.redactor.text(failure["title"])
            kept.append(("advisory", f"{what} (reported, does not fail the run): {title}"))
        rep.user_properties = kept

    def note(self, node: Any, view: RunJournals) -> str:
        found = len(view.journals) + len(view.unreadable)
        return (
            f"This check ran on xdist worker {_worker_of(node)}; after every worker had "
            f"finished, the controller read every journal of run {view.run_id} in "
            f"{view.folder} ({found} found; a worker with nothing left removes its own)"
        )

    @staticmethod
    def add_note(rep: Any, text: str) -> None:
        info = getattr(rep, "oin", None)
        if isinstance(info, dict):
            notes = info.get("notes")
            if not isinstance(notes, list):
                notes = info["notes"] = []
            if text not in notes:
                notes.append(text)

    def leftovers_without_check(self) -> None:
        """Fallback (no hold): still say what the run left behind."""
        view = read_run_journals(self.folder, self.runtime.run_id)
        self.say_leftovers(view, "read from every xdist worker's journal after the run")

    def say_leftovers(self, view: RunJournals, how: str) -> None:
        """A notice of what the run left behind, if anything (``how``: how it is known)."""
        if not view.clean:
            self.notice(f"the run left SCIM test data behind ({how}):\n{view.text()}")

    def notice(self, text: str) -> None:
        line = f"oin-conformance SCIM: {self.runtime.context.redactor.text(text)}"
        terminal = self.runtime.config.pluginmanager.get_plugin("terminalreporter")
        with contextlib.suppress(Exception):
            if terminal is not None:
                terminal.ensure_newline()
                terminal.write_line(line, yellow=True)
                return
        with contextlib.suppress(OSError, ValueError):
            print(line, file=sys.stderr, flush=True)


@contextlib.contextmanager
def across_workers(runtime: OinRuntime, dsession: Any) -> Iterator[None]:
    """Around xdist's test loop on the controller: hold, then decide the data-safety check."""
    gate = WorkerLedgers(runtime, dsession)
    held = gate.install()
    ended = False
    try:
        yield
        ended = True
    finally:
        finished = bool(getattr(dsession, "session_finished", ended))
        if held:
            gate.finish(finished)
        elif finished:
            with contextlib.suppress(Exception):
                gate.leftovers_without_check()


__all__ = ["CHECK_ID", "RunJournals", "WorkerLedgers", "across_workers", "read_run_journals"]
