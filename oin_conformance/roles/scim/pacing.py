"""Okta's pacing: how its provisioning engine handles a SCIM server that rate-limits it (HTTP
429), and how long each request took against Okta's 60-second socket timeout.

Okta's rule (``shared/reference/scim.md`` §1.1, Okta's SCIM concepts page, "Handle SCIM
server rate limiting"): on a 429 Okta pauses the task and waits ``Retry-After`` seconds when
that header is an integer, otherwise (absent, an HTTP-date, a fraction) 5 minutes; each
further 429 for the same request doubles the wait; after 10 attempts it gives up and the task
fails. Where Okta's page is silent we read it as: the wait for the n-th 429 in a row is
``base × 2^(n-1)``, ``base`` coming from that answer's own ``Retry-After``; the 10 attempts
count every request sent, the first included.

The harness keeps its own deadline as well: it never spends more than ``budget`` seconds on
one request (waits included). When Okta's next wait would go past it, the harness stops and
says so; the check that sent the request then cannot judge the app (inconclusive).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

#: Okta's wait when Retry-After is absent or not a whole number of seconds (5 minutes).
OKTA_DEFAULT_WAIT = 300.0
#: Okta gives up on a request after this many attempts (every request sent counts).
OKTA_MAX_ATTEMPTS = 10

#: retried: the harness waited as Okta does and sent the request again; okta_gave_up: this
#: was Okta's last attempt; deadline: Okta would wait longer than the harness may.
Outcome = Literal["retried", "okta_gave_up", "deadline"]


def retry_after_seconds(value: str) -> int | None:
    """``Retry-After`` as Okta reads it: whole seconds, or None (Okta then waits 5 minutes)."""
    text = value.strip()
    return int(text) if text.isascii() and text.isdigit() else None


@dataclass(frozen=True)
class RateLimitEvent:
    """One 429 answer and what Okta (and the harness) did about it."""

    check: str
    method: str
    url: str
    #: 1 for the first request, 2 for the first retry, ...
    attempt: int
    #: the header as the server sent it ("" when absent)
    retry_after: str
    #: how long Okta waits before its next attempt (seconds)
    okta_wait: float
    #: how long the harness waited (0 when it stopped)
    waited: float
    outcome: Outcome

    def describe(self) -> str:
        header = f"Retry-After {self.retry_after!r}" if self.retry_after else "no Retry-After"
        why = []
        if retry_after_seconds(self.retry_after) is None:
            why.append(
                "not whole seconds: Okta's default of 5 minutes"
                if self.retry_after
                else "Okta's default of 5 minutes"
            )
        earlier = self.attempt - 1
        if earlier:
            why.append(
                "doubled for the 429 before it"
                if earlier == 1
                else f"doubled for each of the {earlier} 429s before it"
            )
        wait = f"Okta waits {self.okta_wait:g} s" + (f" ({'; '.join(why)})" if why else "")
        then = {
            "retried": f"the harness waited {self.waited:g} s and sent it again",
            "okta_gave_up": f"Okta gives up after {OKTA_MAX_ATTEMPTS} attempts: the task fails",
            "deadline": "longer than the harness may spend on one request: it stopped here",
        }[self.outcome]
        if self.outcome == "okta_gave_up":
            wait = "no further wait"
        return (
            f"HTTP 429 to {self.method} {self.url} (attempt {self.attempt} of Okta's "
            f"{OKTA_MAX_ATTEMPTS}), {header}: {wait}; {then}"
        )


@dataclass
class RateLimitPolicy:
    """Okta's 429 handling with the harness's deadline; ``sleep`` and ``clock`` are injectable
    (tests use a fake clock, never real waits)."""

    default_wait: float = OKTA_DEFAULT_WAIT
    max_attempts: int = OKTA_MAX_ATTEMPTS
    #: the most the harness spends on one request, waits included (seconds)
    budget: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def okta_wait(self, retry_after: str, earlier_429s: int) -> float:
        """How long Okta waits after a 429 carrying ``retry_after``, when ``earlier_429s``
        answers to the same request were 429 before it."""
        seconds = retry_after_seconds(retry_after)
        base = float(seconds) if seconds is not None else self.default_wait
        return base * (2**earlier_429s)


@dataclass(frozen=True)
class Timing:
    """How long one exchange took (the transcript has the rest)."""

    check: str
    method: str
    url: str
    status: int | None
    elapsed_ms: float
    error: str = ""

    def describe(self) -> str:
        answer = f"HTTP {self.status}" if self.status is not None else self.error or "no answer"
        return f"{self.elapsed_ms / 1000:.3f} s  {self.method} {self.url} -> {answer}"


@dataclass
class Traffic:
    """Everything the SCIM clients of one process sent: each exchange's time, each 429."""

    timings: list[Timing] = field(default_factory=list)
    rate_limits: list[RateLimitEvent] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_timing(self, timing: Timing) -> None:
        with self._lock:
            self.timings.append(timing)

    def add_rate_limit(self, event: RateLimitEvent) -> None:
        with self._lock:
            self.rate_limits.append(event)

    def slowest(self, count: int = 5) -> list[Timing]:
        """The ``count`` slowest exchanges, slowest first."""
        with self._lock:
            ordered = sorted(self.timings, key=lambda t: t.elapsed_ms, reverse=True)
        return ordered[:count]

    def over(self, limit_s: float) -> list[Timing]:
        """Exchanges slower than ``limit_s`` seconds, slowest first."""
        return [t for t in self.slowest(len(self.timings)) if t.elapsed_ms > limit_s * 1000]
