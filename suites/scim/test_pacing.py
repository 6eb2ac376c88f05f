"""Okta's pacing, over every SCIM request of the run: how the server rate-limited Okta (HTTP
429 and ``Retry-After``), and how long each request took against Okta's 60-second socket
timeout. Both checks run after the other SCIM checks of their process and read what its
Okta client saw (under pytest-xdist: the requests of the worker that runs them); each also
sends Okta's connection test itself, so it judges something when run alone."""

from __future__ import annotations

import os

import pytest

from oin_conformance.failures import fail
from oin_conformance.roles.scim import (
    OKTA_MAX_ATTEMPTS,
    OKTA_SOCKET_TIMEOUT,
    Timing,
    retry_after_seconds,
)

from .okta import ScimCheck


def _check_id(nodeid: str) -> str:
    """``scim/test_users.py::test_creates_user_with_201`` as its check id (the cleanup's
    own clients are named by what they do: "session end", "earlier run")."""
    if "::" not in nodeid:
        return f"harness: {nodeid}" if nodeid else "harness"
    return "scim." + nodeid.rsplit("::", 1)[-1].removeprefix("test_")


def _whose() -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return f"by pytest-xdist worker {worker}" if worker else "in this run"


@pytest.mark.oin(requirement="SCIM-RATE-LIMITS", severity="advisory")
def test_rate_limits_as_okta_expects(scim: ScimCheck) -> None:
    """When the SCIM server rate-limits Okta it answers 429 with Retry-After in whole seconds
    (Okta otherwise pauses the task for 5 minutes, doubling on each further 429) and lets a
    request through within Okta's 10 attempts; how it rate-limited is listed either way."""
    scim.client.connection_test()
    traffic = scim.session.traffic
    events = list(traffic.rate_limits)
    requests = len(traffic.timings)
    if not events:
        scim.transcript.note(f"The SCIM server rate-limited none of the {requests} requests "
                             f"sent {_whose()}")  # fmt: skip
        return
    limited = {(e.check, e.method, e.url) for e in events}
    waited = sum(e.waited for e in events)
    scim.transcript.note(
        f"The SCIM server answered 429 {len(events)} time(s), to {len(limited)} of the "
        f"{requests} requests sent {_whose()}; the harness waited {waited:g} s in all:"
    )
    for event in events:
        scim.transcript.note(f"  {event.describe()} ({_check_id(event.check)})")
    no_seconds = [e for e in events if retry_after_seconds(e.retry_after) is None]
    gave_up = [e for e in events if e.outcome == "okta_gave_up"]
    if no_seconds or gave_up:
        shown = no_seconds + [e for e in gave_up if e not in no_seconds]
        raise fail(
            "The SCIM server rate-limits Okta in a way that stalls provisioning",
            seen="\n".join(f"{e.describe()} ({_check_id(e.check)})" for e in shown[:10]),
            expected="429 answers with Retry-After as whole seconds (e.g. Retry-After: 30), "
            f"and an answer other than 429 within Okta's {OKTA_MAX_ATTEMPTS} attempts",
            fix="Send Retry-After with the number of seconds to wait: Okta reads no HTTP-date "
            "and no fraction, and without whole seconds it pauses the task for 5 minutes, "
            "doubling the pause on every further 429 and giving up after ten attempts. Size "
            "the limit for Okta's traffic (an import reads 100 users per request).",
        )


@pytest.mark.oin(requirement="SCIM-LATENCY", severity="advisory")
def test_answers_within_okta_socket_timeout(scim: ScimCheck) -> None:
    """Every SCIM request is answered within Okta's 60-second socket timeout (or the lower
    ``[scim] latency_limit``); the slowest requests of the run are listed."""
    scim.client.connection_test()
    limit = scim.target.latency_limit
    rule = (
        f"Okta's {OKTA_SOCKET_TIMEOUT:g}-second socket timeout"
        if limit >= OKTA_SOCKET_TIMEOUT
        else f"the [scim] latency_limit of {limit:g} s (Okta closes the socket after "
        f"{OKTA_SOCKET_TIMEOUT:g} s)"
    )
    traffic = scim.session.traffic
    slowest = traffic.slowest(5)
    scim.transcript.note(
        f"The slowest of the {len(traffic.timings)} SCIM requests sent {_whose()}, against {rule}:"
    )
    for n, timing in enumerate(slowest, 1):
        share = timing.elapsed_ms / 1000 / OKTA_SOCKET_TIMEOUT
        scim.transcript.note(
            f"  {n}. {timing.describe()} ({share:.1%} of Okta's 60 s; {_check_id(timing.check)})"
        )
    harness_timeout = scim.session.ctx.timeout
    cut_off = [t for t in traffic.timings if t.status is None and "timeout" in t.error]
    over: list[Timing] = traffic.over(limit)
    if harness_timeout >= limit:
        over += [t for t in cut_off if t not in over]
    elif cut_off:
        scim.transcript.note(
            f"{len(cut_off)} request(s) got no answer within the harness's timeout of "
            f"{harness_timeout:g} s, shorter than {limit:g} s: raise [harness] timeout to "
            "see whether they would have been answered in time"
        )
    if over:
        raise fail(
            f"SCIM requests take longer than {rule}",
            seen="\n".join(f"{t.describe()} ({_check_id(t.check)})" for t in over[:10])
            + (f"\n… and {len(over) - 10} more" if len(over) > 10 else ""),
            expected=f"every request answered within {limit:g} s",
            fix="Answer Okta's requests well within 60 s: Okta closes the socket then and the "
            "provisioning task fails (a group membership PATCH carries up to 100 changes, an "
            "import page 100 users). Page large lists, index the userName filter, and do slow "
            "work after answering.",
        )
