"""Interrupts that never land inside a lock.

Python raises KeyboardInterrupt (Ctrl-C; SIGTERM too, where the SCIM wiring asks for it)
between any two bytecodes of the main thread. Raised inside the threading or queue module, or
inside the import machinery, it can leave a lock acquired that nothing will ever release: a
``with condition:`` whose ``__enter__`` took the lock but never returned. The next user of
that lock then waits forever. In a run that is urllib3's connection pool or the deadline
watchdog, and the user is the cleanup that must still reach the SCIM server: the run hangs
after Ctrl-C instead of cleaning up and ending. (Seen in about 1 of 740 interrupted SCIM runs;
a loop of queue and condition calls deadlocks after about 1 Ctrl-C in 5.)

:func:`deliver` raises the interrupt at once, unless the interrupted frame is inside such
code. Then the same signal is sent to the main thread again a few milliseconds later (by a
helper thread started beforehand, woken through a pipe: nothing in the signal handler takes
a lock), and the handler decides again. A main thread that stays at one place in such code
(waiting for a lock or an event) for :data:`STUCK_WAIT` seconds gets the interrupt there, as
it would without this module; one that keeps moving through it does after :data:`MAX_WAIT`.

An interrupt can also be lost: raised while Python runs a ``__del__`` method or a garbage
collector's callback, it is printed as "Exception ignored" and the run goes on. So every
interrupt stays *unanswered* until the run has seen it (:func:`answered`); the runtime asks
:func:`unanswered` after each check and interrupts the run there if it was lost.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

#: How long an interrupt waits for a main thread that stays at one place in lock code (a
#: blocking wait, such as pytest-xdist's controller waiting for its workers' events).
STUCK_WAIT = 0.2
#: How long an interrupt waits for a main thread that keeps moving through lock code.
MAX_WAIT = 10.0
#: A signal this long after the last wait of the same signal is a new one.
NEW_SIGNAL_AFTER = 1.0
#: The pause before the signal is sent again.
RETRY_DELAY = 0.005

_LOCK_FILES = frozenset(f for f in (threading.__file__, queue.__file__) if f)
_LOCK_PREFIXES = ("<frozen importlib._bootstrap",)


def in_lock_code(frame: FrameType | None) -> bool:
    """True when ``frame`` or a frame that called it runs code of the threading or queue
    module or of the import machinery, where an exception can strand an acquired lock."""
    while frame is not None:
        name = frame.f_code.co_filename
        if name in _LOCK_FILES or name.startswith(_LOCK_PREFIXES):
            return True
        frame = frame.f_back
    return False


class _Resender:
    """A daemon thread that sends a signal to the main thread again, shortly after asked.

    It is asked through a pipe (``os.write`` is safe in a signal handler) and started
    before any signal arrives, so a handler never starts a thread (which takes locks)."""

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        self._main = threading.main_thread().ident
        threading.Thread(target=self._run, name="oin-conformance interrupts", daemon=True).start()

    def ask(self, signum: int) -> None:
        with contextlib.suppress(OSError):
            os.write(self._write, bytes([signum]))

    def _run(self) -> None:
        while True:
            try:
                data = os.read(self._read, 1)
            except OSError:
                return
            if not data:
                return
            time.sleep(RETRY_DELAY)
            if self._main is not None and _unanswered:
                with contextlib.suppress(OSError, ValueError, ProcessLookupError):
                    signal.pthread_kill(self._main, data[0])


_resender: _Resender | None = None


class _Waiting:
    """One signal's wait for the main thread to leave lock code."""

    def __init__(self, now: float) -> None:
        self.since = now
        self.last = now
        self.place: tuple[int, int] = (0, -1)
        self.place_since = now


_waiting: dict[int, _Waiting] = {}
#: The signals delivered (raised, or waiting to be) that the run has not seen yet.
_unanswered: set[int] = set()


def unanswered() -> bool:
    """An interrupt was delivered and the run has not seen it (it may have been lost)."""
    return bool(_unanswered)


def answered() -> None:
    """The run has seen the interrupt (it reached pytest): nothing is sent again."""
    _unanswered.clear()
    _waiting.clear()


def prepare() -> None:
    """Start the helper thread (from the main thread, before any handler needs it)."""
    global _resender
    if _resender is None and threading.current_thread() is threading.main_thread():
        _resender = _Resender()


def deliver(signum: int, frame: FrameType | None, error: Callable[[], BaseException]) -> None:
    """From a signal handler: raise ``error()`` now, or, while the main thread is inside
    lock code (:func:`in_lock_code`), have the signal sent again shortly and return."""
    _unanswered.add(signum)
    if _resender is not None and frame is not None and in_lock_code(frame):
        now = time.monotonic()
        waiting = _waiting.get(signum)
        if waiting is None or now - waiting.last > NEW_SIGNAL_AFTER:
            # A new signal (an earlier one was sent again and then taken by another handler).
            waiting = _waiting[signum] = _Waiting(now)
        waiting.last = now
        place = (id(frame.f_code), frame.f_lasti)
        if place != waiting.place:
            waiting.place, waiting.place_since = place, now
        if now - waiting.since < MAX_WAIT and now - waiting.place_since < STUCK_WAIT:
            _resender.ask(signum)
            return
    _waiting.pop(signum, None)
    raise error()


def on_interrupt(signum: int, frame: FrameType | None) -> None:
    """A SIGINT handler that acts as Python's own (KeyboardInterrupt), outside lock code."""
    deliver(signum, frame, KeyboardInterrupt)


@contextlib.contextmanager
def safe_ctrl_c() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt only outside lock code while this is active (when
    SIGINT still has Python's default handler, in the main thread); restored after."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    prepare()
    answered()  # nothing of an earlier run in this process
    previous: Any = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            if signal.getsignal(signal.SIGINT) is on_interrupt:
                signal.signal(signal.SIGINT, previous)
        # A Ctrl-C still waiting when the run has ended is not sent again: it would only
        # meet Python's own handler during the shut-down.
        answered()
