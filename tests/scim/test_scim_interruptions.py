"""Interruptions: SIGINT and SIGTERM at random points of SCIM runs against a server that
holds 1,000 pre-existing users and 1,000 groups.

After every interrupted run the pre-existing data is byte-identical and whatever the run
created is either gone or listed in the journal in the state folder; the next run reads the
journal, cleans what it lists, and says so in its report. The delays come from a seeded
``random.Random``: the seed is in every assertion message (and ``OIN_INTERRUPT_SEED=<seed>``
replays a failure's schedule).

The server is the reference app's scim2-server in a thread of this process, on 127.0.0.1;
the plugin runs in a subprocess, as a user would start it, so it can be signalled.
"""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.test import Client

from fixtures.reference_app.app import create_app
from tests.scim.safety import GROUP, JOURNAL, TOKEN, USER, finish, start_plugin, write_target

SEEDED = 1000
#: Interrupted runs: half Ctrl-C, half SIGTERM, in the seeded random order.
INTERRUPTED = 8
CLEANER = "scim.leaves_no_test_data_behind"


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class SeededServer:
    """scim2-server (the reference app's SCIM part) on 127.0.0.1 in a thread, seeded with
    the ISV's own data; an in-process client reads the same answers without the socket."""

    def __init__(self) -> None:
        self.app = create_app({"scim": {"auth_mode": "bearer", "token": TOKEN}}, {})
        self.storage: Any = self.app.extensions["scim"].storage
        #: what the reference app holds from the start (its roles and licences)
        self.initial = {res.id for res in self.storage.resources}
        #: (monotonic time, method, path) of every request that came over the socket
        self.seen: list[tuple[float, str, str]] = []
        self.http = make_server("127.0.0.1", 0, self._logged, threaded=True, request_handler=_Quiet)
        self.url = f"http://127.0.0.1:{self.http.socket.getsockname()[1]}"
        self.local = Client(self.app)
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()
        self.users: list[str] = []
        self.groups: list[str] = []

    def _logged(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        self.seen.append((time.monotonic(), environ["REQUEST_METHOD"], environ["PATH_INFO"]))
        return self.app(environ, start_response)

    def _local(self, method: str, path: str, body: Any = None) -> Any:
        return self.local.open(
            "/scim/v2" + path,
            method=method,
            base_url=self.url,
            headers={"Authorization": f"Bearer {TOKEN}"},
            json=body,
        )

    def seed(self, rng: random.Random) -> None:
        """1,000 users (some inactive, some named like a test run's) and 1,000 groups
        (every fourth with members)."""
        for i in range(SEEDED):
            name = f"person{i:04d}@example.com"
            if i == 0:
                name = "grace.hopper@example.com"  # the target's test user
            elif i % 97 == 0:
                name = f"oin-test-{i:06d}-decoy@example.com"  # looks like a run's, is not
            body = {
                "schemas": [USER],
                "userName": name,
                "name": {"givenName": f"Given{i}", "familyName": f"Family{i}"},
                "emails": [{"value": name, "type": "work", "primary": True}],
                "displayName": f"Given{i} Family{i}",
                "active": i % 9 != 0,
                "externalId": f"isv-{i}",
            }
            r = self._local("POST", "/Users", body)
            assert r.status_code == 201, r.text
            self.users.append(r.json["id"])
        for i in range(SEEDED):
            name = f"oin-test-{i:06d}-Group-decoy" if i % 89 == 0 else f"Team {i:04d}"
            members = rng.sample(self.users, rng.randint(1, 8)) if i % 4 == 0 else []
            body = {
                "schemas": [GROUP],
                "displayName": name,
                "members": [{"value": m} for m in members],
            }
            r = self._local("POST", "/Groups", body)
            assert r.status_code == 201, r.text
            self.groups.append(r.json["id"])

    def snapshot(self) -> dict[str, bytes]:
        """The raw answer for every pre-existing user and group, byte for byte."""
        shot = {f"/Users/{u}": self._local("GET", f"/Users/{u}").data for u in self.users}
        shot |= {f"/Groups/{g}": self._local("GET", f"/Groups/{g}").data for g in self.groups}
        return shot

    def created(self) -> dict[str, str]:
        """Everything on the server that was not seeded: {id: "User name" / "Group name"}."""
        seeded = set(self.users) | set(self.groups) | self.initial
        found = {}
        for res in list(self.storage.resources):
            if res.id not in seeded:
                found[str(res.id)] = f"{type(res).__name__.split('[')[0]} {_name(res)}"
        return found

    def close(self) -> None:
        self.http.shutdown()
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def seeded() -> Iterator[tuple[SeededServer, dict[str, bytes], int]]:
    seed = int(os.environ.get("OIN_INTERRUPT_SEED") or random.SystemRandom().randrange(10**6))
    server = SeededServer()
    try:
        server.seed(random.Random(seed))  # noqa: S311 - reproducible, not secret
        yield server, server.snapshot(), seed
    finally:
        server.close()


def journal_names(folder: Path) -> set[str]:
    names: set[str] = set()
    for path in (folder / JOURNAL).glob("*.json"):
        for entry in json.loads(path.read_text())["entries"]:
            names.update(n.lower() for n in entry["names"])
    return names


def mentioned(report: dict[str, Any], names: Iterable[str]) -> set[str]:
    """Which of ``names`` the cleanup check's report entry mentions."""
    check = next(c for c in report["checks"] if c["id"] == CLEANER)
    text = json.dumps(check).lower()
    return {n for n in names if n.lower() in text}


@pytest.mark.slow
def test_interrupted_runs_keep_existing_data_and_leave_nothing_behind(
    seeded: tuple[SeededServer, dict[str, bytes], int], tmp_path: Path
) -> None:
    server, original, seed = seeded
    rng = random.Random(seed)  # noqa: S311 - reproducible, not secret
    target = write_target(tmp_path, server.url)
    readiness = tmp_path / "reports" / "readiness.json"
    why = f"(OIN_INTERRUPT_SEED={seed})"

    # A whole run first: it passes, and tells how long a run lasts on this machine.
    start = time.monotonic()
    server.seen.clear()
    proc = start_plugin(target)
    out = finish(proc)
    assert proc.returncode == 0 and server.seen, out
    first_request, last_request = server.seen[0][0] - start, server.seen[-1][0] - start
    assert server.snapshot() == original, f"a clean run changed existing data {why}"
    assert not server.created(), f"a clean run left {server.created()} {why}"

    signals = [signal.SIGINT, signal.SIGTERM] * (INTERRUPTED // 2)
    rng.shuffle(signals)
    landed: list[str] = []
    live = leftovers_seen = 0
    for run, sig in enumerate(signals, 1):
        delay = rng.uniform(first_request, last_request)
        label = f"run {run}: {sig.name} after {delay:.2f}s {why}"
        server.seen.clear()
        proc = start_plugin(target)
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(sig)
            existing = len(server.created())
            live += existing > 0
            landed.append(f"{sig.name} at request {len(server.seen)} ({existing} created)")
        out = finish(proc)
        assert proc.returncode in (0, 1, 2, -sig), f"{label}: exit {proc.returncode}\n{out}"

        # The ISV's data is untouched, byte for byte.
        assert server.snapshot() == original, f"{label}: pre-existing data changed"
        # What the run created is gone or in the journal, and the journal names only the
        # run's own resources (so the next run cannot delete the ISV's data).
        left = server.created()
        recorded = journal_names(tmp_path)
        names = {v.split(" ", 1)[1] for v in left.values()}
        unrecorded = {n for n in names if n.lower() not in recorded}
        assert not unrecorded, f"{label}: left behind without a journal entry: {unrecorded}"
        assert all(n.startswith("oin-test-") for n in recorded), f"{label}: {recorded}"
        assert not recorded & {n.lower() for n in _seeded_names(server)}, label
        leftovers_seen += len(names)

        # The next run reads the journal, cleans, and lists what it cleaned in its report.
        readiness.unlink(missing_ok=True)
        out = finish(start_plugin(target, "--oin-check", CLEANER))
        assert server.snapshot() == original, f"{label}: the cleaning run changed data\n{out}"
        assert not server.created(), f"{label}: not cleaned: {server.created()}\n{out}"
        assert not journal_names(tmp_path), f"{label}: the journal still lists entries"
        report = json.loads(readiness.read_text())
        assert mentioned(report, names) == names, f"{label}: cleaned but not reported"

    print(
        f"seed {seed}: {len(landed)} runs interrupted ({live} with the run's own resources on "
        f"the server at that moment): {landed}; leftovers after them: {leftovers_seen}"
    )


def _seeded_names(server: SeededServer) -> set[str]:
    seeded = set(server.users) | set(server.groups)
    return {_name(res) for res in list(server.storage.resources) if res.id in seeded}


def _name(resource: Any) -> str:
    return str(getattr(resource, "user_name", None) or getattr(resource, "display_name", ""))


class HeldDeletes:
    """The reference SCIM server on 127.0.0.1, whose DELETEs hang until released: a
    cleanup against it blocks on its first DELETE (the "dead server" of a Ctrl-C)."""

    def __init__(self) -> None:
        self.app = create_app({"scim": {"auth_mode": "bearer", "token": TOKEN}}, {})
        self.release = threading.Event()
        self.deletes = threading.Event()
        self.http = make_server("127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_Quiet)
        self.url = f"http://127.0.0.1:{self.http.socket.getsockname()[1]}"
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ["REQUEST_METHOD"] == "DELETE" and not self.release.is_set():
            self.deletes.set()
            self.release.wait(300)
        return self.app(environ, start_response)

    def names(self) -> set[str]:
        return {_name(res) for res in list(self.app.extensions["scim"].storage.resources)}

    def close(self) -> None:
        self.release.set()
        self.http.shutdown()
        self.thread.join(timeout=10)


@pytest.mark.slow
def test_a_second_interrupt_stops_the_cleanup_at_once(tmp_path: Path) -> None:
    """Hostile corpus: Ctrl-C while cleanup waits on a server that does not answer.

    The first Ctrl-C lets the cleanup go on; the second stops it at once (the run ends while
    the server still holds the DELETE, under a 120 s timeout), and the screen says that the
    journal lists what is left and that the next run removes it. It does."""
    server = HeldDeletes()
    try:
        target = write_target(tmp_path, server.url)
        target.write_text(target.read_text().replace("timeout = 10", "timeout = 120"))
        proc = start_plugin(target, "--oin-check", "scim.creates_user_with_201")
        if not server.deletes.wait(120):
            proc.kill()
            pytest.fail(f"the run never started its cleanup:\n{finish(proc)}")
        proc.send_signal(signal.SIGINT)
        time.sleep(0.5)
        assert proc.poll() is None, "the first Ctrl-C must let the cleanup go on"
        proc.send_signal(signal.SIGINT)
        out = finish(proc, timeout=60)
        assert not server.release.is_set(), "the run waited for the server"
        assert proc.returncode == 2, out  # pytest: interrupted
        assert "Traceback" not in out, out
        stopped = [ln for ln in out.splitlines() if "cleanup stopped by a second interrupt" in ln]
        assert stopped, out
        journal = next((tmp_path / JOURNAL).glob("*.json"))
        assert f"the journal {journal} (in the state folder) lists what is left" in stopped[0]
        assert "the next run against this SCIM server removes it" in stopped[0]
        left = {n for n in server.names() if n.startswith("oin-test-")}
        assert left and {n.lower() for n in left} <= journal_names(tmp_path), out

        # The next run, against a server that answers again, removes it.
        server.release.set()
        out = finish(start_plugin(target, "--oin-check", "scim.answers_okta_connection_test"))
        assert not {n for n in server.names() if n.startswith("oin-test-")}, out
        assert not journal_names(tmp_path), out
    finally:
        server.close()
