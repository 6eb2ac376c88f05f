"""The run's SCIM session: Okta's provisioning client set up once per process from the
target (credentials, the per-run and per-xdist-worker prefix, the ledger and its journal in
the state folder), the cleanups at check and session end, and what may interrupt them —
Ctrl-C and SIGTERM (a first one lets the cleanup finish, a second stops it at once), atexit
as a last resort — with notices for the person at the terminal.

The SCIM role (:mod:`oin_conformance.roles.scim`) is a plain library; everything of a
run is here.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from oin_conformance.interrupts import deliver
from oin_conformance.interrupts import prepare as prepare_interrupts
from oin_conformance.roles.scim import (
    JOURNAL_DIR,
    Auth,
    CleanupReport,
    CleanupStopped,
    Ledger,
    RateLimitPolicy,
    ScimClient,
    ScimClientError,
    Traffic,
)
from oin_conformance.roles.scim.gate import ChangeGate
from oin_conformance.runtime import RunContext
from oin_conformance.target import ScimTarget
from oin_conformance.transcript import Transcript

#: The run's lock file in the journal folder (one for every run on this state folder).
GATE_FILE = "changes.lock"


def say(text: str) -> None:
    """A line for the person at the terminal; never raises.

    pytest captures stderr while a check's fixtures tear down (where cleanups run), so the
    line goes to the controlling terminal when this process is in its foreground (the one
    Ctrl-C reached), and to stderr otherwise (no terminal, a background job, SIGTERM).
    """
    line = (text + "\n").encode()
    if hasattr(os, "tcgetpgrp"):
        try:
            tty = os.open("/dev/tty", os.O_WRONLY | os.O_NOCTTY)
        except OSError:
            tty = -1
        if tty >= 0:
            try:
                if os.tcgetpgrp(tty) == os.getpgrp():
                    os.write(tty, line)
                    return
            except OSError:
                pass
            finally:
                os.close(tty)
    with contextlib.suppress(OSError, ValueError):
        print(text, file=sys.stderr, flush=True)


@contextlib.contextmanager
def shielded(first: Callable[[int], None] | None = None) -> Iterator[None]:
    """Let cleanup finish when Ctrl-C / SIGTERM arrives, and re-raise the interrupt after it
    (``first`` is told of the signal). A second signal stops the cleanup at once: it raises
    :class:`CleanupStopped` wherever the cleanup is (a blocked read included)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def hold(signum: int, frame: Any) -> None:
        received.append(signum)
        if len(received) > 1:
            # (not inside lock code: a signal it sends again lands here again)
            deliver(signum, frame, lambda: CleanupStopped(signal.Signals(signum).name))
            return
        if first is not None:
            first(signum)

    prepare_interrupts()
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in previous:
        signal.signal(s, hold)
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if received:
        raise KeyboardInterrupt


#: The most the harness spends on one SCIM request when the server rate-limits it (waits
#: included), in [harness] timeouts; never less than a minute. Okta itself waits 5 minutes
#: and more; a run cannot.
RATE_LIMIT_BUDGET_TIMEOUTS = 4


def rate_limit_budget(timeout: float) -> float:
    """Seconds the harness may spend on one rate-limited request (its own deadline)."""
    return max(60.0, RATE_LIMIT_BUDGET_TIMEOUTS * timeout)


class ScimSession:
    """What the SCIM suite shares in one process: target, credentials, ledger, cleanup, and
    the traffic of every check (each exchange's time, each 429)."""

    def __init__(self, ctx: RunContext) -> None:
        scim = ctx.target.scim
        assert scim is not None
        self.ctx = ctx
        self.target: ScimTarget = scim
        self.version = scim.version
        self.auth = Auth.from_target(scim.auth, ctx.url)
        self.journal_dir = ctx.state.path / JOURNAL_DIR
        # Parallel workers (pytest-xdist) share the run id; each gets its own prefix so one
        # worker's cleanup and sweep never touch another's resources.
        worker = re.sub(r"[^A-Za-z0-9]", "", os.environ.get("PYTEST_XDIST_WORKER", ""))
        self.ledger = Ledger(
            f"{scim.prefix}{ctx.run_id}" + (f"-{worker}" if worker else ""),
            scim_base="",
            journal_dir=self.journal_dir,
            run_id=ctx.run_id,
            say=say,
        )
        self.findings: list[str] = []
        self.previous_runs: CleanupReport = CleanupReport()
        #: Okta's 429 handling, within the run's deadline for one request.
        self.pacing = RateLimitPolicy(budget=rate_limit_budget(ctx.timeout))
        #: What every client of this process sent (timings, 429s): the pacing checks read it.
        self.traffic = Traffic()
        #: Other xdist workers of this run send to the same SCIM server: their changes are
        #: held back while a check here pages it (roles/scim/gate.py), and the reverse.
        self.gate: ChangeGate | None = (
            ChangeGate(self.journal_dir / GATE_FILE, wait=max(30.0, 3 * ctx.timeout))
            if worker and self.shared_with_other_processes
            else None
        )
        self._closed = False
        #: how many ledger entries there were at the last sweep (None: never swept)
        self._swept_at: int | None = None
        self._started = False
        self._old_term: Any = None

    @property
    def shared_with_other_processes(self) -> bool:
        """Whether other processes of the run may send to this SCIM server: it is not part
        of an app this process serves itself (``[app] serve``, a relative ``[scim]
        base_url``)."""
        own_app = bool(self.ctx.target.app.serve)
        absolute = "://" in self.target.base_url
        return absolute or not own_app

    @contextlib.contextmanager
    def listing(self) -> Iterator[bool]:
        """While a check pages the server: True when no process of the run can change it
        meanwhile (always, when no other process sends to it)."""
        if self.gate is None:
            yield True
            return
        with self.gate.listing() as quiet:
            yield quiet

    @property
    def base_url(self) -> str:
        return self.ctx.url(self.target.base_url)

    @property
    def identity(self) -> str:
        """Which SCIM server this is, stable across runs (an in-process app's port is not):
        journals of earlier runs are adopted only by runs against the same server."""
        app = self.ctx.target.app
        where = app.base_url or f"serve:{app.serve}:{sorted(app.serve_options.items())}"
        return f"{where}|{self.target.base_url}"

    def client(self, transcript: Transcript, check: str = "") -> ScimClient:
        return ScimClient(
            self.base_url,
            version=self.version,
            auth=self.auth,
            transcript=transcript,
            timeout=self.ctx.timeout,
            ledger=self.ledger,
            check=check,
            pacing=self.pacing,
            traffic=self.traffic,
            gate=self.gate,
        )

    def start(self) -> None:
        """Once the app's URL is known: bind the ledger to it, clean earlier leftovers."""
        if self._started:
            return
        self._started = True
        # The journal lives in the state folder: made private (0700, .gitignore) first.
        self.ctx.state.prepare()
        self.ledger.scim_base = self.identity
        self._install_sigterm()
        atexit.register(self.close, raise_leftovers=False)
        for path in Ledger.stale_journals(self.journal_dir, self.identity, self.ctx.run_id):
            with contextlib.suppress(OSError, ValueError, KeyError):
                Ledger.adopt(path, self.ledger)
        if self.ledger.open_entries():
            client = self.client(self.ctx.transcript(), "earlier run")
            try:
                self.previous_runs = self.ledger.cleanup(client, shield=shielded)
            finally:
                client.close()

    def _install_sigterm(self) -> None:
        """SIGTERM unwinds like Ctrl-C, so fixture finalizers and closers clean up."""
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):

            def on_term(signum: int, frame: Any) -> None:
                deliver(signum, frame, lambda: KeyboardInterrupt("SIGTERM"))

            self._old_term = signal.SIG_DFL
            prepare_interrupts()
            signal.signal(signal.SIGTERM, on_term)

    def clean_after(self, client: ScimClient, check: str) -> CleanupReport:
        """What one check created, removed when the check ends (shielded from Ctrl-C)."""
        return self.ledger.cleanup(client, check, shield=shielded)

    def cleanup(self, transcript: Transcript | None = None) -> CleanupReport:
        """Clean everything still open, sweep for strays, and return the outcome.

        The sweep works from the journal (a lookup by name for each create whose answer was
        not a 201 with an id; none for a run whose creates all were), never by listing every
        user and group; it is skipped when the run has not tried to create anything since
        the last sweep: it could find nothing new.
        """
        transcript = transcript or self.ctx.transcript()
        client = self.client(transcript, "session end")
        try:
            report = self.ledger.cleanup(client, shield=shielded)
            strays: list[str] = []
            if not self.ledger.stopped and self._swept_at != len(self.ledger.entries):
                with contextlib.suppress(ScimClientError):
                    strays = self.ledger.sweep(client)
                    self._swept_at = len(self.ledger.entries)
            if strays:
                report.merge(self.ledger.cleanup(client, "sweep", shield=shielded))
        finally:
            client.close()
        return report

    def close(self, raise_leftovers: bool = True) -> None:
        """Session end (``ctx.on_close``; atexit as a last resort): the last cleanup.

        What could not be cleaned stays in the journal (the next run retries), is printed,
        and is raised so ``RunContext.close()`` lists it among the run's problems.
        """
        if self._closed:
            return
        self._closed = True
        try:
            report = self.cleanup() if self._started else CleanupReport()
        except KeyboardInterrupt:
            # Ctrl-C / SIGTERM during the last cleanup. The run is ending anyway: stop here
            # (no traceback), say what is left and where it is written down.
            report = CleanupReport(
                left=[f"{e.label()}: not cleaned" for e in self.ledger.open_entries()]
            )
        if self._old_term is not None and threading.current_thread() is threading.main_thread():
            with contextlib.suppress(ValueError):
                signal.signal(signal.SIGTERM, self._old_term)
        if report.left:
            text = (
                "oin-conformance SCIM: could not clean up what this run created; "
                f"{self.ledger.where_left()}:\n" + report.text()
            )
            self.findings.append(text)
            print(text, file=sys.stderr)
            if raise_leftovers:
                raise ScimClientError(text)


def session_for(ctx: RunContext) -> ScimSession:
    """The process's :class:`ScimSession` (created on first use, closed with the run)."""

    def make() -> ScimSession:
        session = ScimSession(ctx)
        ctx.on_close(session.close)
        return session

    return ctx.shared(ScimSession, make)


def harness_info(ctx: RunContext) -> dict[str, object]:
    """What an ISV configures once in their SCIM server: the credentials Okta will present."""
    session = session_for(ctx)
    auth = session.auth
    info: dict[str, object] = {
        "version": session.version,
        "auth_mode": auth.mode,
        "base_path": urlsplit(session.target.base_url).path or session.target.base_url,
    }
    if auth.mode in ("header", "bearer"):
        info["token"] = auth.token
    elif auth.mode == "basic":
        info["username"] = auth.username
        info["password"] = auth.password
    else:
        info["client_id"] = auth.client_id
        info["client_secret"] = auth.client_secret
        info["token_path"] = urlsplit(auth.token_url).path if auth.token_url else ""
    return info
