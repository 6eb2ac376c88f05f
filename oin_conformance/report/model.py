"""The readiness model: check results and the verdict per protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from oin_conformance.plugin import PROTOCOLS as PROTOCOL_ORDER

Outcome = Literal["passed", "failed", "error", "skipped"]
Status = Literal["ready", "not_ready", "not_configured", "not_run"]


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
        return self.outcome in ("failed", "error")

    @property
    def blocking_failure(self) -> bool:
        return self.bad and self.severity == "blocking"

    def update(self, when: str, outcome: str, duration: float, info: dict[str, Any]) -> None:
        self.phases.append(when)
        self.duration += duration
        for key in ("failure", "message", "transcript", "notes"):
            if info.get(key):
                self.meta[key] = info[key]
        if outcome == "skipped" and self.outcome == "passed":
            self.outcome = "skipped"
        elif outcome == "failed":
            if when == "call":
                self.outcome = "failed"
            elif self.outcome != "failed":
                self.outcome = "error"


def sort_key(result: CheckResult, order: dict[str, int]) -> tuple[int, int, str]:
    """Protocols in a fixed order; within one, the order the checks were collected in."""
    proto = result.protocol
    index = PROTOCOL_ORDER.index(proto) if proto in PROTOCOL_ORDER else len(PROTOCOL_ORDER)
    nodeid = str(result.meta.get("nodeid", ""))
    return (index, order.get(nodeid, len(order)), nodeid)


def protocol_verdicts(
    results: list[CheckResult], configured: dict[str, bool]
) -> dict[str, dict[str, Any]]:
    """ready / not_ready / not_configured / not_run for each protocol, with counts."""
    verdicts: dict[str, dict[str, Any]] = {}
    for proto in PROTOCOL_ORDER:
        mine = [r for r in results if r.protocol == proto]
        counts = {
            "passed": sum(r.outcome == "passed" for r in mine),
            "failed": sum(r.bad for r in mine),
            "skipped": sum(r.outcome == "skipped" for r in mine),
            "blocking_failures": [r.id for r in mine if r.blocking_failure],
            "advisories": [r.id for r in mine if r.bad and r.severity == "advisory"],
        }
        is_configured = configured.get(proto, proto == "general")
        status: Status
        if counts["blocking_failures"]:
            status = "not_ready"
        elif not is_configured:
            status = "not_configured"
        elif counts["passed"] == 0 and not counts["advisories"]:
            status = "not_run"
        else:
            status = "ready"
        verdicts[proto] = {"status": status, "configured": is_configured, **counts}
    return verdicts
