"""What changed since last time: the run history kept in the report folder, the comparison
with the last comparable run, and where a partial run writes its report.

* Every run that writes ``readiness.json`` also keeps a copy in ``<reports>/history/``
  (``<UTC time>-<target sha256 prefix>-<run id>.json``, without the transcripts, which the
  full report and the HAR file hold). The newest :data:`KEEP` are kept.
* A run is compared with ``--oin-compare FILE`` when given, else with the newest run in
  the history of the *same target file* (same SHA-256) that was a full run or made the
  same selection (``-m``, ``-k``, ``--oin-check`` ...). The comparison lists new failures,
  fixed ones and the ones still failing; "failing" means failed, broke (error) or could
  not judge the app (inconclusive), of either severity.
* A partial run (any selection) writes its reports into ``<reports>/partial/`` when
  ``<reports>/`` holds a full run's report, so the last full report is never overwritten
  by a part of it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import pytest

HISTORY_DIR = "history"
PARTIAL_DIR = "partial"
#: How many runs the history keeps (the oldest are removed first).
KEEP = 100
#: Outcomes that count as failing in a comparison.
FAILING = frozenset({"failed", "error", "inconclusive"})
SHOWN = 12


@dataclass(frozen=True)
class Selection:
    """How the run chose its checks: ``full`` (all of them), or what narrowed it."""

    by: tuple[str, ...] = ()

    @property
    def full(self) -> bool:
        return not self.by

    def as_dict(self) -> dict[str, Any]:
        return {"full": self.full, "by": list(self.by)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Selection:
        return cls(tuple(str(b) for b in data.get("by") or ()))


def selection_of(config: pytest.Config, narrowed: bool) -> Selection:
    """The options and arguments that leave checks out of this run (``narrowed``: the
    command line named suite paths or node ids that leave some suites out)."""
    by: list[str] = []
    option = config.option
    if getattr(option, "markexpr", ""):
        by.append(f"-m {option.markexpr}")
    if getattr(option, "keyword", ""):
        by.append(f"-k {option.keyword}")
    by += [f"--oin-check {c}" for c in config.getoption("oin_check", None) or []]
    by += [f"--deselect {d}" for d in getattr(option, "deselect", None) or []]
    for flag, name in (("lf", "--last-failed"), ("stepwise", "--stepwise")):
        if getattr(option, flag, False):
            by.append(name)
    if narrowed:
        by.append("paths: " + " ".join(str(a) for a in config.args))
    return Selection(tuple(by))


def _selection_of_report(data: Mapping[str, Any]) -> Selection | None:
    """The selection a readiness.json was made with (None: unknown, an older report that
    did not say and was incomplete)."""
    found = data.get("selection")
    if isinstance(found, Mapping):
        return Selection.from_dict(found)
    return Selection() if data.get("verdict") != "incomplete" else None


def holds_full_report(folder: Path) -> bool:
    """Whether ``folder`` holds the readiness.json of a full run."""
    try:
        data = json.loads((folder / "readiness.json").read_text())
    except (OSError, ValueError):
        return False
    selection = _selection_of_report(data) if isinstance(data, dict) else None
    return selection is not None and selection.full


def load_report(path: Path) -> dict[str, Any]:
    """A readiness.json to compare with; ``ValueError`` saying why it cannot be used."""
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise ValueError(f"cannot read {path} ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise ValueError(f"{path} is not JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("checks"), list):
        raise ValueError(f"{path} is not a readiness.json (it has no list of checks)")
    if not all(isinstance(c, dict) and "id" in c and "outcome" in c for c in data["checks"]):
        raise ValueError(f"{path} is not a readiness.json (a check without id or outcome)")
    return data


def find_baseline(
    root: Path, target_sha256: str, selection: Selection
) -> tuple[dict[str, Any], Path] | None:
    """The newest run in ``root``'s history of the same target that was a full run or
    made the same selection."""
    folder = root / HISTORY_DIR
    if not folder.is_dir():
        return None
    for path in sorted(folder.glob("*.json"), reverse=True):
        try:
            data = load_report(path)
        except ValueError:
            continue
        if data.get("target_sha256") != target_sha256:
            continue
        theirs = _selection_of_report(data)
        if theirs is not None and (theirs.full or theirs == selection):
            return data, path
    return None


def compare(current: Mapping[str, Any], baseline: Mapping[str, Any], source: str) -> dict[str, Any]:
    """The changes from ``baseline`` to ``current`` (both readiness.json payloads), over
    the checks this run ran; ``source`` says where the baseline came from."""
    before = {str(c["id"]): c for c in baseline.get("checks", [])}
    new_failures: list[dict[str, Any]] = []
    fixed: list[dict[str, Any]] = []
    still_failing: list[dict[str, Any]] = []
    other: list[dict[str, Any]] = []
    new_checks: list[str] = []
    unchanged = 0
    ran: set[str] = set()
    for check in current.get("checks", []):
        now = str(check["outcome"])
        if now == "not_run":
            continue
        cid = str(check["id"])
        ran.add(cid)
        old = before.get(cid)
        was = str(old["outcome"]) if old is not None else "absent"
        item = {
            "id": cid,
            "severity": check.get("severity", ""),
            "before": was,
            "now": now,
            "title": ((check.get("failure") or {}).get("title") or check.get("title", "")),
        }
        if now in FAILING and was in FAILING:
            still_failing.append(item)
        elif now in FAILING:
            new_failures.append(item)
        elif was in FAILING and now == "passed":
            fixed.append(item)
        elif was == "absent":
            new_checks.append(cid)
        elif was != now:
            other.append(item)
        else:
            unchanged += 1
    sel = _selection_of_report(baseline)
    return {
        "baseline": {
            "source": source,
            "run_id": baseline.get("run_id", ""),
            "started": baseline.get("started", ""),
            "verdict": baseline.get("verdict", ""),
            "target_sha256": baseline.get("target_sha256", ""),
            "same_target": baseline.get("target_sha256") == current.get("target_sha256"),
            "selection": sel.as_dict() if sel is not None else None,
            "harness_version": baseline.get("harness_version", ""),
        },
        "new_failures": new_failures,
        "fixed": fixed,
        "still_failing": still_failing,
        "other_changes": other,
        "unchanged": unchanged,
        "new_checks": new_checks,
        "not_compared": sorted(set(before) - ran),
    }


def no_baseline(reason: str) -> dict[str, Any]:
    return {"baseline": None, "reason": reason}


def changes(
    current: Mapping[str, Any], root: Path, selection: Selection, compare_with: Path | None
) -> dict[str, Any]:
    """The ``changes`` section of readiness.json (before this run joins the history).

    Paths in it are relative to the report folder ``root`` (the folder can move, e.g. as a
    CI artefact), except an ``--oin-compare`` file outside it."""
    if compare_with is not None:
        try:
            data = load_report(compare_with)
        except ValueError as exc:
            return no_baseline(f"--oin-compare: {exc}")
        return compare(current, data, f"--oin-compare {relative(compare_with, root)}")
    found = find_baseline(root, str(current.get("target_sha256", "")), selection)
    if found is None:
        kind = "full run" if selection.full else "full run or run with the same selection"
        return no_baseline(
            f"no earlier {kind} of this target file in {HISTORY_DIR}/ (the first run "
            "of this target here, or the target file changed)"
        )
    data, path = found
    return compare(current, data, relative(path, root))


def relative(path: Path, root: Path) -> str:
    """``path`` relative to the report folder ``root`` when it lies in it."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def save(root: Path, payload: Mapping[str, Any]) -> Path:
    """Keep this run in ``root``'s history (without transcripts); prune the oldest."""
    folder = root / HISTORY_DIR
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    sha = str(payload.get("target_sha256", ""))[:12] or "no-target"
    path = folder / f"{stamp}-{sha}-{payload.get('run_id', 'run')}.json"
    kept = {k: v for k, v in payload.items() if k != "changes"}
    kept["checks"] = [
        {k: v for k, v in check.items() if k not in ("transcript", "notes", "har")}
        for check in payload.get("checks", [])
    ]
    path.write_text(json.dumps(kept, indent=1, ensure_ascii=False) + "\n")
    runs = sorted(folder.glob("*.json"))
    for old in runs[: max(len(runs) - KEEP, 0)]:
        old.unlink(missing_ok=True)
    return path


# -- presentation ------------------------------------------------------------------------


def _since(change: Mapping[str, Any]) -> str:
    base = change["baseline"]
    sel = base.get("selection") or {}
    kind = "full run" if sel.get("full", True) else "run with this selection"
    where = base["source"]
    other = "" if base.get("same_target") else " (another target file)"
    return f"the {kind} of {base['started']} (run {base['run_id']}{other}; {where})"


def terminal_lines(change: Mapping[str, Any]) -> list[tuple[str, dict[str, bool]]]:
    """The terminal's "changes" lines, each with its markup."""
    if change.get("baseline") is None:
        return [(f"changes: nothing to compare with: {change.get('reason', '')}", {})]
    counts = (
        f"{len(change['new_failures'])} new failure(s), {len(change['fixed'])} fixed, "
        f"{len(change['still_failing'])} still failing, {change['unchanged']} unchanged"
    )
    lines: list[tuple[str, dict[str, bool]]] = [(f"changes since {_since(change)}: {counts}", {})]
    for key, word, markup in (
        ("new_failures", "NEW FAILURE  ", {"red": True}),
        ("fixed", "FIXED        ", {"green": True}),
        ("still_failing", "STILL FAILING", {"yellow": True}),
        ("other_changes", "CHANGED      ", {}),
    ):
        items = change[key]
        for item in items[:SHOWN]:
            lines.append(
                (f"{word} {item['id']} ({item['before']} before, {item['now']} now)", markup)
            )
        if len(items) > SHOWN:
            lines.append((f"{word} … and {len(items) - SHOWN} more (readiness.json)", markup))
    return lines


def changes_html(change: Mapping[str, Any]) -> str:
    """The report's small "what changed" section."""
    out = ['<section id="oin-changes"><h2>Changes since the last comparable run</h2>']
    if change.get("baseline") is None:
        out.append(f"<p>Nothing to compare with: {escape(str(change.get('reason', '')))}</p>")
        return "".join(out) + "</section>"
    out.append(
        f"<p>Compared with {escape(_since(change))}: {change['unchanged']} check(s) unchanged.</p>"
    )
    for key, title in (
        ("new_failures", "New failures"),
        ("fixed", "Fixed"),
        ("still_failing", "Still failing"),
        ("other_changes", "Other changes"),
    ):
        items: Iterable[Mapping[str, Any]] = change[key]
        rows = [
            f"<li><code>{escape(str(i['id']))}</code> ({escape(str(i['severity']))}): "
            f"{escape(str(i['before']))} → {escape(str(i['now']))}"
            f"{' — ' + escape(str(i['title'])) if i.get('title') else ''}</li>"
            for i in items
        ]
        out.append(
            f'<h3 class="oin-changes-{key}">{title} ({len(rows)})</h3>'
            + (f"<ul>{''.join(rows)}</ul>" if rows else "")
        )
    return "".join(out) + "</section>"
