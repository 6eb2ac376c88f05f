"""A quiet SCIM server while Okta's import pages it, across the processes of one run.

Okta pages a list with ``startIndex``/``count``. When users are created or deleted while
it pages, entries move between pages: one shows up twice, another not at all, and
``totalResults`` changes from one page to the next. The import and pagination checks take
each of these as a fault of the server. Under pytest-xdist, the workers of one run that
share a SCIM server (the app at ``base_url``, or a ``[scim] base_url`` of its own) create
and delete users all the time, so one worker's import would see another worker's changes
and fail a correct server.

:class:`ChangeGate` is a reader-writer lock on a file in the run's state folder, shared by
the processes of one host:

* every request that changes the server (POST, PUT, PATCH, DELETE) holds it *shared* for as
  long as the request takes;
* a check that pages holds it *exclusively* while it pages, so the run itself changes
  nothing under it. Changes that have not started yet queue behind a check waiting to page
  (a second "intent" file, taken first by both sides), so paging is never starved. It waits
  for at most ``wait`` seconds. If it could not get the lock,
  it pages anyway and says so (:meth:`ChangeGate.listing` yields False). A failure it finds
  then is inconclusive, because the run itself may have caused it.

Inside :meth:`ChangeGate.listing`, this process's own changes pass straight through (a
second lock on the same file would wait for itself). Where ``fcntl`` is missing (Windows),
the gate does nothing. Workers on other hosts (``--tx ssh=…``) have state folders of their
own, so nothing is shared with them.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

#: The methods that change what a list of users or groups holds.
CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class ChangeGate:
    """Shared by the processes of one run that send to one SCIM server (see the module)."""

    def __init__(self, path: Path, wait: float = 60.0, poll: float = 0.02) -> None:
        self.path = path
        #: Taken first by a process that wants to page, so that changes queue behind it.
        self.intent = path.with_name(path.name + ".intent")
        self.wait = wait
        self.poll = poll
        self._local = threading.local()

    @property
    def available(self) -> bool:
        return fcntl is not None

    def _open(self, path: Path) -> IO[bytes]:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        return os.fdopen(fd, "r+b")

    def _listing_here(self) -> bool:
        return bool(getattr(self._local, "listing", 0))

    @contextlib.contextmanager
    def changing(self, method: str) -> Iterator[None]:
        """Around one request: a change (``method`` in :data:`CHANGES`) waits while another
        process pages or is about to, and blocks paging until the request is answered."""
        if not self.available or method.upper() not in CHANGES or self._listing_here():
            yield
            return
        with self._open(self.intent) as intent, self._open(self.path) as handle:
            # Through the intent lock first: a process waiting to page holds it, so new
            # changes queue behind it instead of keeping the server busy for ever.
            fcntl.flock(intent.fileno(), fcntl.LOCK_SH)
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
            fcntl.flock(intent.fileno(), fcntl.LOCK_UN)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    @contextlib.contextmanager
    def listing(self) -> Iterator[bool]:
        """While paging: True when no process of the run can change the server meanwhile,
        False when the lock was not free within ``wait`` seconds (paging goes on)."""
        if not self.available:
            yield False
            return
        if self._listing_here():  # nested: the outer listing already holds it
            yield True
            return
        with self._open(self.intent) as intent, self._open(self.path) as handle:
            deadline = time.monotonic() + self.wait
            held = [f for f in (intent, handle) if self._take(f, deadline)]
            got = len(held) == 2
            self._local.listing = 1
            try:
                yield got
            finally:
                self._local.listing = 0
                for f in reversed(held):
                    fcntl.flock(f.fileno(), fcntl.LOCK_UN)

    def _take(self, handle: IO[bytes], deadline: float) -> bool:
        """An exclusive lock on ``handle`` by ``deadline`` (polled: a timeout is possible)."""
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(self.poll)


__all__ = ["CHANGES", "ChangeGate"]
