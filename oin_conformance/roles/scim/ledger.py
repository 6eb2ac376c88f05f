"""The data-safety ledger: a resource is written down (and journaled in the state folder) before
the request that creates it is sent; cleanup re-reads each one and removes it only when it
still carries the run's name; what cannot be cleaned stays in the journal for the next run."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oin_conformance.roles.scim.common import Kind

if TYPE_CHECKING:
    from oin_conformance.roles.scim.client import ScimClient


# --- the ledger ------------------------------------------------------------------------------


@dataclass
class LedgerEntry:
    kind: Kind
    name: str
    check: str = ""
    id: str = ""
    #: pending (request sent, no id yet), created, deleted, deactivated, left
    state: str = "pending"
    names: list[str] = field(default_factory=list)
    note: str = ""
    #: the create was answered 201 with an id: exactly this resource exists (the sweep
    #: need not look for twins or strays under its names)
    answered: bool = False

    def label(self) -> str:
        return f"{self.kind} {self.name!r}" + (f" (id {self.id})" if self.id else "")


@dataclass
class CleanupReport:
    deleted: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.left

    def merge(self, other: CleanupReport) -> None:
        self.deleted += other.deleted
        self.deactivated += other.deactivated
        self.left += other.left

    def text(self) -> str:
        lines = [f"left behind: {x}" for x in self.left]
        lines += [f"only deactivated (the server refused DELETE): {x}" for x in self.deactivated]
        return "\n".join(lines)


JOURNAL_DIR = "scim-ledger"


class Ledger:
    """Every resource the run creates, recorded before it is created.

    ``journal_dir`` (in the state folder) receives one JSON file per process, rewritten on
    every change; a file that outlives its process lists what the next run must clean.
    """

    def __init__(
        self,
        prefix: str,
        *,
        scim_base: str = "",
        journal_dir: Path | None = None,
        run_id: str = "",
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.prefix = prefix
        #: Where notices for the person at the terminal go (the run wiring sets it).
        self.say: Callable[[str], None] = say or (lambda text: None)
        self.scim_base = scim_base
        self.run_id = run_id
        self.entries: list[LedgerEntry] = []
        #: prefixes of earlier runs whose leftovers this ledger adopted
        self.extra_prefixes: set[str] = set()
        #: a second Ctrl-C / SIGTERM stopped a cleanup: this process cleans no more (the
        #: journal lists what is left, for the next run)
        self.stopped = False
        self._lock = threading.RLock()
        self.journal: Path | None = None
        if journal_dir is not None:
            self.journal = (
                journal_dir / f"{run_id or 'run'}-{socket.gethostname()}-{os.getpid()}.json"
            )

    def is_ours(self, name: str) -> bool:
        return name.lower().startswith(self.prefix.lower())

    def new_name(self, rng: Any, what: str = "user") -> str:
        tag = "".join(rng.choice("abcdefghijkmnpqrstuvwxyz23456789") for _ in range(6))
        return f"{self.prefix}-{what}-{tag}"

    def intend(self, kind: Kind, name: str, check: str = "") -> LedgerEntry:
        with self._lock:
            entry = LedgerEntry(kind=kind, name=name, check=check, names=[name])
            self.entries.append(entry)
            self._persist()
            return entry

    def settle(self, entry: LedgerEntry, rid: str, status: int | None) -> None:
        with self._lock:
            if rid:
                entry.id = rid
                entry.state = "created"
            entry.answered = bool(rid) and status == 201
            entry.note = f"create answered {status}"
            self._persist()

    def add_name(self, entry: LedgerEntry, name: str) -> None:
        with self._lock:
            if name not in entry.names:
                entry.names.append(name)
            self._persist()

    def find(self, kind: Kind, rid: str) -> LedgerEntry | None:
        with self._lock:
            for entry in self.entries:
                if entry.kind == kind and entry.id and entry.id == rid:
                    return entry
            return None

    def open_entries(self, check: str | None = None) -> list[LedgerEntry]:
        with self._lock:
            return [
                e
                for e in self.entries
                if e.state in ("pending", "created", "left") and (check is None or e.check == check)
            ]

    # -- persistence ----------------------------------------------------------------------

    def _persist(self) -> None:
        if self.journal is None:
            return
        open_ = [asdict(e) for e in self.entries if e.state in ("pending", "created", "left")]
        if not open_:
            with contextlib.suppress(FileNotFoundError):
                self.journal.unlink()
            return
        self.journal.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "run_id": self.run_id,
            "prefix": self.prefix,
            "scim_base": self.scim_base,
            "written": time.time(),
            "entries": open_,
        }
        tmp = self.journal.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.journal)

    @staticmethod
    def stale_journals(journal_dir: Path, scim_base: str, run_id: str) -> list[Path]:
        """Journals of earlier (dead) processes that point at this SCIM server."""
        found: list[Path] = []
        if not journal_dir.is_dir():
            return found
        for path in sorted(journal_dir.glob("*.json")):
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if data.get("run_id") == run_id or data.get("scim_base") != scim_base:
                continue
            if data.get("host") == socket.gethostname() and _alive(int(data.get("pid", 0))):
                continue  # a run in progress right now: not ours to clean
            found.append(path)
        return found

    @classmethod
    def adopt(cls, path: Path, into: Ledger) -> None:
        """Take over an earlier run's leftovers (its prefix stays the proof of ownership)."""
        data = json.loads(path.read_text())
        prefix = str(data.get("prefix", ""))
        with into._lock:
            for raw in data.get("entries", []):
                entry = LedgerEntry(
                    kind=raw["kind"],
                    name=raw["name"],
                    check="earlier run",
                    id=raw.get("id", ""),
                    state="created" if raw.get("id") else "pending",
                    names=list(raw.get("names") or [raw["name"]]),
                    note=f"left over by run {data.get('run_id', '?')} (prefix {prefix})",
                )
                if all(n.lower().startswith(prefix.lower()) for n in entry.names) and prefix:
                    into.entries.append(entry)
                    into.extra_prefixes.add(prefix)
            into._persist()
        path.unlink()

    # -- cleanup --------------------------------------------------------------------------

    def cleanup(
        self, client: ScimClient, check: str | None = None, shield: Shield | None = None
    ) -> CleanupReport:
        """Delete (or deactivate) what the run created: only ids the ledger holds, and only
        after reading the resource back and finding the name the run gave it.

        A Ctrl-C or SIGTERM lets the cleanup finish (and is raised after it); a second one
        stops it at once with a :class:`KeyboardInterrupt` saying where the journal is. The
        journal then lists what is left, and the next run removes it.
        """
        report = CleanupReport()
        if self.stopped:
            report.left.extend(
                f"{e.label()}: not cleaned (the cleanup was stopped)"
                for e in self.open_entries(check)
            )
            return report
        try:
            with shield(self.interrupt_notice) if shield else contextlib.nullcontext():
                for entry in self.open_entries(check):
                    try:
                        self._clean_one(client, entry, report)
                    except Exception as exc:  # noqa: BLE001 - every entry gets its turn
                        entry.state = "left"
                        entry.note = f"cleanup error: {type(exc).__name__}: {exc}"
                        report.left.append(f"{entry.label()}: {entry.note}")
        except CleanupStopped:
            self.stopped = True
            raise KeyboardInterrupt(self.stopped_message()) from None
        finally:
            with self._lock:
                self._persist()
        return report

    def where_left(self) -> str:
        """Where what a stopped or failed cleanup left is written down, and what happens."""
        if self.journal is None:
            return "this run keeps no journal (no state folder): nothing will remove it"
        return (
            f"the journal {self.journal} (in the state folder) lists what is left, and the "
            "next run against this SCIM server removes it"
        )

    def stopped_message(self) -> str:
        left = len(self.open_entries())
        return (
            f"oin-conformance SCIM cleanup stopped by a second interrupt: {left} resource(s) "
            f"this run created may be left on the server; {self.where_left()}"
        )

    def interrupt_notice(self, signum: int) -> None:
        """The first Ctrl-C / SIGTERM during a cleanup: say what happens and how to stop
        (through :attr:`say`, which the run wiring points at the terminal)."""
        self.say(
            f"oin-conformance SCIM: {signal.Signals(signum).name} received while removing what "
            "this run created; finishing that first (interrupt again to stop now: "
            f"{self.where_left()})"
        )

    def _names_match(self, entry: LedgerEntry, data: Mapping[str, Any]) -> bool:
        key = "userName" if entry.kind == "User" else "displayName"
        value = data.get(key)
        return isinstance(value, str) and value.lower() in {n.lower() for n in entry.names}

    def _clean_one(self, client: ScimClient, entry: LedgerEntry, report: CleanupReport) -> None:
        if not entry.id:
            # The create's answer was lost (timeout, error): find it by the name it carries.
            found = self._lookup_ids(client, entry)
            if not found:
                entry.state = "deleted"
                report.deleted.append(f"{entry.label()} (never created)")
                return
            with self._lock:
                entry.id = found[0]
                extra = []
                for rid in found[1:]:  # the same name twice (a server without uniqueness)
                    twin = LedgerEntry(entry.kind, entry.name, entry.check, rid, "created")
                    twin.names = list(entry.names)
                    self.entries.append(twin)
                    extra.append(twin)
                self._persist()
            for twin in extra:
                self._clean_one(client, twin, report)
        ids = [entry.id]
        remaining: list[str] = []
        for rid in ids:
            outcome = self._remove(client, entry, rid)
            if outcome == "deleted":
                report.deleted.append(f"{entry.kind} {entry.name!r} (id {rid})")
            elif outcome == "deactivated":
                report.deactivated.append(f"{entry.kind} {entry.name!r} (id {rid})")
            else:
                remaining.append(f"{entry.kind} {entry.name!r} (id {rid}): {outcome}")
        if remaining:
            entry.state = "left"
            entry.note = "; ".join(remaining)
            report.left.extend(remaining)
        elif any(f"(id {rid})" in x for x in report.deactivated for rid in ids):
            entry.state = "deactivated"
        else:
            entry.state = "deleted"

    def _gone_by_name(self, client: ScimClient, entry: LedgerEntry) -> bool:
        """True only when every lookup by the entry's names answered and found nothing."""
        for name in entry.names:
            res = (
                client.find_user(name, note="cleanup: is it gone?", validate=False)
                if entry.kind == "User"
                else client.find_group(name, note="cleanup: is it gone?", validate=False)
            )
            if not res.ok or any(self._names_match(entry, r) for r in res.resources()):
                return False
        return True

    def _lookup_ids(self, client: ScimClient, entry: LedgerEntry) -> list[str]:
        ids: list[str] = []
        for name in entry.names:
            res = (
                client.find_user(name, note="cleanup: find by name", validate=False)
                if entry.kind == "User"
                else client.find_group(name, note="cleanup: find by name", validate=False)
            )
            for r in res.resources():
                if self._names_match(entry, r) and isinstance(r.get("id"), str):
                    ids.append(r["id"])
        return list(dict.fromkeys(ids))

    def _remove(self, client: ScimClient, entry: LedgerEntry, rid: str) -> str:
        """'deleted', 'deactivated', or why it is still there."""
        get = client.get_user if entry.kind == "User" else client.get_group
        current = get(rid, note="cleanup: is it still ours?", validate=False)
        if current.status == 404:
            return "deleted"
        if not current.ok:
            if self._gone_by_name(client, entry):
                # The server cannot answer for the id (some answer 500 for a deleted one), but
                # no resource carries the run's name any more: it is gone.
                return "deleted"
            return f"could not read it back (HTTP {current.status or current.error})"
        if not self._names_match(entry, current.json_object):
            return "the id now carries another name; not touched (it may not be ours)"
        delete = client.delete_user if entry.kind == "User" else client.delete_group
        gone = delete(rid, note="cleanup: delete what this run created")
        if gone.status in (200, 202, 204, 404):
            after = get(rid, note="cleanup: verify the delete", validate=False)
            if not (after.ok and self._names_match(entry, after.json_object)):
                return "deleted"
            if entry.kind == "Group":
                return f"DELETE answered {gone.status} but the group is still there"
        elif entry.kind == "Group":
            return f"DELETE answered {gone.status or gone.error}"
        # Users: the server cannot delete; deactivate instead (what Okta does).
        res = client.set_active(rid, False)
        back = get(rid, note="cleanup: verify the deactivation", validate=False)
        if res.ok and back.ok and back.json_object.get("active") is False:
            return "deactivated"
        return f"DELETE answered {gone.status or gone.error} and deactivation did not hold"

    def sweep(self, client: ScimClient) -> list[str]:
        """Resources under this run's names that the ledger does not know (should be none).

        It works from the journal, not by listing the server (whose size is the ISV's): a
        create answered 201 with an id made exactly that resource, which the cleanup removed
        by id and verified; every other name the ledger holds (a lost or failed answer, an
        earlier run's leftover, a twin) is looked up with Okta's ``eq`` filter, one request
        per name, and what carries it under an id the ledger does not know is taken in.
        """
        found: list[str] = []
        prefixes = {self.prefix.lower(), *(p.lower() for p in self.extra_prefixes)}
        with self._lock:
            doubtful = [(e.kind, n) for e in self.entries if not e.answered for n in e.names]
        for kind, name in dict.fromkeys(doubtful):
            if not any(name.lower().startswith(p) for p in prefixes):
                continue
            note = "cleanup: sweep for this run's name"
            res = (
                client.find_user(name, note=note, validate=False)
                if kind == "User"
                else client.find_group(name, note=note, validate=False)
            )
            key = "userName" if kind == "User" else "displayName"
            for r in res.resources():
                rid, got = r.get("id"), r.get(key)
                if not (isinstance(rid, str) and isinstance(got, str)):
                    continue
                if got.lower() == name.lower() and self.find(kind, rid) is None:
                    entry = self.intend(kind, got, "sweep")
                    self.settle(entry, rid, None)
                    found.append(f"{kind} {got!r} (id {rid})")
        return found


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class CleanupStopped(KeyboardInterrupt):
    """A second Ctrl-C / SIGTERM stopped a cleanup at once (raised by the caller's shield)."""


#: A shield for a cleanup: ``shield(notice)`` is a context manager that lets the cleanup
#: finish on a first interrupt (``notice(signum)`` tells the person why it goes on) and
#: raises :class:`CleanupStopped` on a second one. The run wiring provides it.
Shield = Callable[[Callable[[int], None]], contextlib.AbstractContextManager[None]]
