"""A dress rehearsal of Okta's OIN Submission Tester, and its record.

Okta's tester (in the OIN Wizard) runs four single sign-on cases against an instance of
the integration in a real org — IdP flow, SP flow, JIT provisioning with the IdP flow and
JIT provisioning with the SP flow — and records for each the result, a timestamp, the steps
and the network traffic. A submission needs every required case passed within the last
48 hours (reference/oin-submission.md §2.1). One protocol per instance: SAML and OIDC are
tested separately.

The checks that stand for those cases carry ``@pytest.mark.submission_tester(case)``;
``pytest --oin-target=… -m submission_tester`` runs just them (JIT cases with a user the
app has never seen, made fresh for every run). Their record is ``submission-tester.json``
with its traffic in ``submission-tester.har`` (HAR 1.2, one page per case).

Which cases Okta requires (the same rule as the tester): the IdP and SP flows the app
supports (a check skipped for lack of configuration means the flow is not supported), and
one JIT case when the app supports JIT — with the IdP flow, or with the SP flow when the
app supports the SP flow only. The other JIT case is still rehearsed and recorded, marked
not required.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

#: Okta's test cases, by the marker's case name, in the tester's own words.
CASES: dict[str, str] = {
    "idp_flow": "IdP flow",
    "sp_flow": "SP flow",
    "jit_idp_flow": "JIT provisioning (with IdP flow)",
    "jit_sp_flow": "JIT provisioning (with SP flow)",
}
#: What Okta's tester does in each case (shown beside the check that stands for it).
OKTA_DOES: dict[str, str] = {
    "idp_flow": "signs in to Okta as an assigned user and opens the app's tile",
    "sp_flow": "starts at the app's sign-in page, which sends the user to Okta",
    "jit_idp_flow": "creates a temporary Okta user the app has never seen, assigns it and "
    "opens the app's tile; the app must create the user",
    "jit_sp_flow": "creates a temporary Okta user the app has never seen and starts at the "
    "app's sign-in page; the app must create the user (shown for apps with the SP flow "
    "only)",
}
MARKER = "submission_tester"
RECORD = "submission-tester.json"
RECORD_HAR = "submission-tester.har"
#: How long Okta accepts a passed test case for a submission.
VALID_FOR = dt.timedelta(hours=48)
RECORD_FORMAT = 1


def case_of(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, str]:
    """The marker's case, as carried in a check's metadata; ``ValueError`` when unknown."""
    case = kwargs.get("case", args[0] if args else None)
    if case not in CASES:
        raise ValueError(
            f"@pytest.mark.{MARKER}({case!r}): the case must be one of "
            f"{', '.join(repr(c) for c in CASES)}"
        )
    return {"case": str(case), "okta_case": CASES[str(case)]}


def complete(
    collected: Iterable[Mapping[str, Any]],
    outcomes: Mapping[str, str],
    applies: Iterable[str],
    narrowed: bool,
) -> bool:
    """Whether the run ran every Submission Tester case that applies to the target.

    ``collected``: the metadata of every check collected (before deselection);
    ``outcomes``: check id -> outcome of the checks reported; ``applies``: the protocols
    the target configures; ``narrowed``: paths on the command line left suites out.
    """
    if narrowed:
        return False
    wanted = set(applies)
    cases = [str(m["id"]) for m in collected if m.get(MARKER) and m.get("protocol") in wanted]
    return bool(cases) and all(outcomes.get(i, "not_run") != "not_run" for i in cases)


def _when(text: str) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _stamp(when: dt.datetime | None) -> str | None:
    return when.isoformat(timespec="seconds") if when is not None else None


def steps(check: Mapping[str, Any]) -> list[str]:
    """The case's steps as Okta's tester lists them: each request, where it went, what
    came back (and why the harness made it)."""
    out = []
    for i, ex in enumerate(check.get("transcript") or [], 1):
        answer = ex["status"] if ex.get("status") is not None else f"no answer: {ex.get('error')}"
        note = f" ({ex['note']})" if ex.get("note") else ""
        out.append(f"{i}. {ex['method']} {ex['url']} -> {answer}{note}")
    return out


def _result(check: Mapping[str, Any] | None) -> tuple[str, str]:
    if check is None:
        return "not_run", "no check of this run stands for this case"
    outcome = str(check["outcome"])
    if outcome == "skipped":
        return "not_applicable", str(check.get("skip_reason", ""))
    failure = check.get("failure") or {}
    reason = str(failure.get("title") or check.get("message") or "")
    return outcome, reason


def _required(cases: Mapping[str, dict[str, Any]]) -> None:
    """Mark which cases Okta's tester requires (see the module docstring)."""

    def supported(case: str) -> bool:
        return cases[case]["result"] not in ("not_applicable", "not_run")

    idp = supported("idp_flow")
    rules = {
        "idp_flow": (idp, "the app supports the IdP flow"),
        "sp_flow": (supported("sp_flow"), "the app supports the SP flow"),
        "jit_idp_flow": (
            supported("jit_idp_flow") and idp,
            "the app supports JIT and the IdP flow",
        ),
        "jit_sp_flow": (
            supported("jit_sp_flow") and not idp,
            "the app supports JIT and the SP flow only",
        ),
    }
    for case, entry in cases.items():
        required, why = rules[case]
        entry["required"] = required
        if required:
            entry["required_because"] = why
        elif entry["result"] == "not_run":
            entry["required_because"] = "the case did not run in this run"
        elif entry["result"] == "not_applicable":
            entry["required_because"] = "the case does not apply to this app"
        else:
            entry["required_because"] = "rehearsed; Okta's tester does not run it for this app"


def build(
    payload: Mapping[str, Any],
    *,
    is_complete: bool,
    har_links: Mapping[str, list[int]],
) -> dict[str, Any]:
    """The rehearsal's record from a readiness.json payload (its tester checks only).

    ``har_links``: check id -> the indices of its entries in :data:`RECORD_HAR`.
    """
    by_protocol: dict[str, dict[str, Mapping[str, Any]]] = {}
    for marked in checks_in(payload):
        meta = marked[MARKER]
        by_protocol.setdefault(str(marked["protocol"]), {})[str(meta["case"])] = marked
    started = _when(str(payload.get("started", "")))
    instances: dict[str, Any] = {}
    earliest: list[dt.datetime] = []
    every_passed = bool(by_protocol)
    for protocol, checks in by_protocol.items():
        cases: dict[str, dict[str, Any]] = {}
        for case, okta_case in CASES.items():
            check = checks.get(case)
            result, reason = _result(check)
            transcript = list((check or {}).get("transcript") or [])
            times = [w for w in (_when(str(e.get("started_at", ""))) for e in transcript) if w]
            when = min(times) if times else None
            passed = result == "passed"
            cases[case] = {
                "okta_case": okta_case,
                "okta_does": OKTA_DOES[case],
                "check": check["id"] if check else None,
                "check_title": check.get("title", "") if check else "",
                "result": result,
                "reason": reason,
                "timestamp": _stamp(when),
                "valid_until": _stamp(when + VALID_FOR) if passed and when else None,
                "steps": steps(check) if check else [],
                "notes": list((check or {}).get("notes") or []),
                "har": {
                    "file": RECORD_HAR,
                    "pageref": check["id"] if check and har_links.get(check["id"]) else None,
                    "entries": list(har_links.get(check["id"], [])) if check else [],
                },
                "exchanges": transcript,
                "rerun": check.get("rerun", "") if check else "",
            }
        _required(cases)
        required = [c for c, e in cases.items() if e["required"]]
        passed = bool(required) and all(cases[c]["result"] == "passed" for c in required)
        every_passed = every_passed and passed
        for case in required:
            stamp = cases[case]["timestamp"]
            when = _when(stamp) if stamp else None
            if when is not None:
                earliest.append(when)
        instances[protocol] = {
            "passed": passed,
            "required": required,
            "cases": cases,
        }
    all_passed = every_passed and is_complete
    valid_until = min(earliest) + VALID_FOR if all_passed and earliest else None
    return {
        "record_format": RECORD_FORMAT,
        "what": "A rehearsal of Okta's OIN Submission Tester by oin-conformance (not Okta's "
        "own record: run Okta's tester in the OIN Wizard before submitting)",
        "app_name": payload.get("app_name", ""),
        "target_sha256": payload.get("target_sha256", ""),
        "harness_version": payload.get("harness_version", ""),
        "run_id": payload.get("run_id", ""),
        "seed": payload.get("seed"),
        "timestamp": _stamp(started),
        "complete": is_complete,
        "passed": all_passed,
        "valid_for_hours": int(VALID_FOR.total_seconds() // 3600),
        "valid_until": _stamp(valid_until),
        "har": RECORD_HAR,
        "instances": instances,
    }


def checks_in(payload: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The payload's checks that stand for a tester case, of the protocols the target
    configures (Okta tests an instance of each; a protocol without a section has none)."""
    protocols = payload.get("protocols") or {}
    return [
        c
        for c in payload.get("checks", [])
        if c.get(MARKER) and (protocols.get(c["protocol"]) or {}).get("configured", True)
    ]


# -- presentation ------------------------------------------------------------------------


def verdict_line(record: Mapping[str, Any]) -> str:
    if not record["complete"]:
        return "not every case ran (a partial run)"
    if record["passed"]:
        return f"every required case passed; valid until {record['valid_until']}"
    failing = [
        f"{proto} {entry['okta_case']}"
        for proto, inst in record["instances"].items()
        for case, entry in inst["cases"].items()
        if entry["required"] and entry["result"] != "passed"
    ]
    return "would not pass: " + (", ".join(failing) or "no required case ran")


def terminal_lines(record: Mapping[str, Any], where: str) -> list[tuple[str, dict[str, bool]]]:
    markup = {"green": True} if record["passed"] else {"yellow": True}
    lines = [(f"Submission Tester rehearsal: {verdict_line(record)} ({where})", markup)]
    for proto, inst in record["instances"].items():
        shown = ", ".join(
            f"{entry['okta_case']} {entry['result'].replace('_', ' ')}"
            + ("" if entry["required"] else " (not required)")
            for entry in inst["cases"].values()
        )
        lines.append((f"  {proto:<5} {shown}", {}))
    return lines


def summary_html(record: Mapping[str, Any]) -> str:
    """The report's section: which of Okta's cases each check stands for, and the result."""
    out = [
        '<section id="oin-submission-tester"><h2>Okta OIN Submission Tester, rehearsed</h2>',
        f"<p>{escape(verdict_line(record))}. Record: <code>{RECORD}</code>, traffic: "
        f"<code>{RECORD_HAR}</code>. Okta accepts a passed case for "
        f"{record['valid_for_hours']} hours.</p>",
        "<table><tr><th>Instance</th><th>Okta's case</th><th>Check</th><th>Result</th>"
        "<th>Required</th></tr>",
    ]
    for proto, inst in record["instances"].items():
        for entry in inst["cases"].values():
            out.append(
                f"<tr><td>{escape(proto)}</td><td>{escape(entry['okta_case'])}</td>"
                f"<td><code>{escape(str(entry['check'] or '—'))}</code></td>"
                f"<td>{escape(entry['result'].replace('_', ' '))}</td>"
                f"<td>{'yes' if entry['required'] else 'no'}</td></tr>"
            )
    out.append("</table></section>")
    return "".join(out)
