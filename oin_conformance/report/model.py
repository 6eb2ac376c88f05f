"""The readiness model: check results and the verdict per protocol and for the app.

Outcomes of a check (SPEC §10): ``passed``, ``failed`` (blocking, or advisory: an advisory
finding), ``inconclusive`` (the check could not judge the app), ``skipped`` (with its
reason), ``error`` (the check broke without a typed outcome) and ``not_run`` (selected but
never reported, e.g. after ``-x``).

A protocol is ``ready`` only when every check of it that applies to the target ran, none
blocking failed or was inconclusive, and its positive flow passed; ``incomplete`` when the
run left some of its checks out; ``not_ready``, ``not_configured`` or ``not_run`` otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from oin_conformance.names import PROTOCOLS as PROTOCOL_ORDER

Outcome = Literal["passed", "failed", "inconclusive", "skipped", "error", "not_run"]
OUTCOMES: tuple[str, ...] = ("passed", "failed", "inconclusive", "skipped", "error", "not_run")
Status = Literal["ready", "not_ready", "incomplete", "not_configured", "not_run"]
Verdict = Literal["ready", "not_ready", "incomplete", "not_run"]

#: The positive flow of each protocol: one of these must pass for it to be ready (the
#: refusals of a protocol mean nothing when nobody can sign in through it at all).
POSITIVE_FLOWS: dict[str, tuple[str, ...]] = {
    "general": ("general.app_is_reachable",),
    "saml": ("saml.signs_in_with_idp_initiated_sso", "saml.signs_in_with_sp_initiated_sso"),
    "oidc": ("oidc.sp_initiated_sign_in",),
    "scim": ("scim.answers_okta_connection_test",),
    # A logout observed: a session ended (per sign-in protocol and subject format), or,
    # for partial support, a refresh token revoked.
    "universal_logout": (
        *(
            f"universal_logout.ends_user_sessions[{via}-{fmt}]"
            for via in ("oidc", "saml")
            for fmt in ("email", "iss_sub")
        ),
        "universal_logout.revokes_refresh_tokens",
    ),
}


@dataclass
class CheckResult:
    """One check's metadata and outcome, merged over its setup/call/teardown reports."""

    meta: dict[str, Any]
    outcome: Outcome = "passed"
    duration: float = 0.0
    skip_reason: str = ""
    phases: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.meta["id"])

    @property
    def protocol(self) -> str:
        return str(self.meta["protocol"])

    @property
    def severity(self) -> str:
        return str(self.meta["severity"])

    @property
    def bad(self) -> bool:
        """Failed or broke (an inconclusive check is not counted here: see ``unjudged``)."""
        return self.outcome in ("failed", "error")

    @property
    def unjudged(self) -> bool:
        return self.outcome == "inconclusive"

    @property
    def blocking_failure(self) -> bool:
        return self.bad and self.severity == "blocking"

    @property
    def blocking_inconclusive(self) -> bool:
        return self.unjudged and self.severity == "blocking"

    @property
    def advisory_finding(self) -> bool:
        """An advisory check that failed, broke or could not judge: reported, not blocking."""
        return self.severity == "advisory" and (self.bad or self.unjudged)

    def update(self, when: str, outcome: str, duration: float, info: dict[str, Any]) -> None:
        """Merge one phase. ``outcome`` is the runtime's (``info["outcome"]``) when given."""
        self.phases.append(when)
        self.duration += duration
        for key in ("failure", "message", "transcript", "notes"):
            if info.get(key):
                self.meta[key] = info[key]
        phase = str(info.get("outcome") or _pytest_outcome(when, outcome))
        if phase == "skipped" and self.outcome == "passed":
            self.outcome = "skipped"
        elif phase in ("failed", "inconclusive", "error") and self.outcome in (
            "passed",
            "skipped",
        ):
            # The first bad phase is the check's outcome (a teardown error after a failed
            # call does not hide the failure).
            self.outcome = phase  # type: ignore[assignment]


def _pytest_outcome(when: str, outcome: str) -> str:
    if outcome == "failed":
        return "failed" if when == "call" else "error"
    return outcome


def sort_key(result: CheckResult, order: dict[str, int]) -> tuple[int, int, str]:
    """Protocols in a fixed order; within one, the order the checks were collected in."""
    proto = result.protocol
    index = PROTOCOL_ORDER.index(proto) if proto in PROTOCOL_ORDER else len(PROTOCOL_ORDER)
    nodeid = str(result.meta.get("nodeid", ""))
    return (index, order.get(nodeid, len(order)), nodeid)


def protocol_of(check_id: str) -> str:
    return check_id.split(".", 1)[0]


def protocol_verdicts(
    results: list[CheckResult],
    configured: dict[str, bool],
    not_run: Iterable[str] = (),
) -> dict[str, dict[str, Any]]:
    """The verdict of each protocol, with counts and what decided it.

    ``not_run`` are ids of checks that apply but were left out of the run (deselected, or
    outside the paths given on the command line); checks selected but never reported are
    results with outcome ``not_run``.
    """
    left_out = list(not_run)
    verdicts: dict[str, dict[str, Any]] = {}
    for proto in PROTOCOL_ORDER:
        mine = [r for r in results if r.protocol == proto]
        is_configured = configured.get(proto, proto == "general")
        missing = [r.id for r in mine if r.outcome == "not_run"]
        missing += [i for i in left_out if protocol_of(i) == proto and i not in missing]
        ran = [r for r in mine if r.outcome != "not_run"]
        blocking = [r.id for r in mine if r.blocking_failure]
        unjudged = [r.id for r in mine if r.blocking_inconclusive]
        counts: dict[str, Any] = {
            "passed": sum(r.outcome == "passed" for r in mine),
            "failed": sum(r.bad for r in mine),
            "skipped": sum(r.outcome == "skipped" for r in mine),
            "blocking_failures": blocking,
            "inconclusive": unjudged,
            "advisories": [r.id for r in mine if r.advisory_finding],
            "not_run": missing if is_configured else [],
        }
        status: Status
        positive = POSITIVE_FLOWS.get(proto, ())
        flows = {r.id: r.outcome for r in mine if r.id in positive}
        if blocking or unjudged:
            status = "not_ready"
            parts = []
            if blocking:
                parts.append(f"{len(blocking)} blocking check(s) failed")
            if unjudged:
                parts.append(f"{len(unjudged)} blocking check(s) could not judge the app")
            reason = " and ".join(parts)
        elif not is_configured:
            status = "not_configured"
            reason = f"the target has no [{proto}] section"
        elif not ran:
            status = "not_run"
            reason = "none of its checks ran in this run"
        elif missing:
            status = "incomplete"
            reason = f"{len(missing)} of its checks did not run in this run"
        elif positive and not any(o == "passed" for o in flows.values()):
            status = "not_ready"
            seen = ", ".join(f"{i} {o}" for i, o in flows.items()) or "not collected"
            reason = f"its positive flow did not pass ({' or '.join(positive)}: {seen})"
        else:
            status = "ready"
            reason = "every check that applies ran; none blocking failed or was inconclusive"
        verdicts[proto] = {
            "status": status,
            "configured": is_configured,
            "reason": reason,
            "positive_flow": list(positive),
            **counts,
        }
    return verdicts


def app_verdict(verdicts: dict[str, dict[str, Any]]) -> Verdict:
    """The app's verdict: ready only if every configured protocol is ready."""
    statuses = [v["status"] for v in verdicts.values() if v["configured"]]
    if "not_ready" in statuses:
        return "not_ready"
    if statuses and all(s == "not_run" for s in statuses):
        return "not_run"
    if "incomplete" in statuses or "not_run" in statuses:
        return "incomplete"
    return "ready"
