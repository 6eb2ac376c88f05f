"""Data safety: the SCIM suite never changes the ISV's existing data and leaves nothing of
its own behind — with failing checks, on Ctrl-C, on SIGTERM, and (via the journal in the
state folder, cleaned by the next run) even after SIGKILL.

The reference SCIM server runs in its own process, seeded with pre-existing users and
groups; its raw answers are compared byte for byte before and after each plugin run.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.scim.safety import (
    GROUP,
    JOURNAL,
    TOKEN,
    USER,
    finish,
    standalone_server,
    start_plugin,
    write_target,
)

#: Failures in checks that create users and groups, and a server that errors on unknown ids
#: (so cleanup cannot verify deletions the easy way).
FLAWS = "scim_deactivate_not_applied,scim_member_removal_not_applied,scim_500_on_unknown_id"


class Server:
    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.headers["Authorization"] = f"Bearer {TOKEN}"

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.http.post(f"{self.url}/scim/v2{path}", json=body, timeout=10)
        assert r.status_code == 201, r.text
        data: dict[str, Any] = r.json()
        return data

    def raw(self, path: str) -> bytes:
        r = self.http.get(f"{self.url}/scim/v2{path}", timeout=10)
        return r.content

    def names(self) -> set[str]:
        users = json.loads(self.raw("/Users?startIndex=1&count=1000"))["Resources"]
        groups = json.loads(self.raw("/Groups?startIndex=1&count=1000"))["Resources"]
        return {u["userName"] for u in users} | {g["displayName"] for g in groups}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with standalone_server(tmp_path, FLAWS) as url:
        yield Server(url)


def seed(server: Server) -> dict[str, list[str]]:
    """The ISV's own data, including names that look like an earlier test run's."""
    users = []
    for i, (name, active) in enumerate(
        [
            ("grace.hopper@example.com", True),
            ("Alan.Turing@Example.com", True),
            ("inactive.person@example.com", False),
            ("oin-test-000000-decoy@example.com", True),  # another run's prefix: not ours
            ("OIN-TEST-lookalike@example.com", True),
        ]
    ):
        body = {
            "schemas": [USER],
            "userName": name,
            "name": {"givenName": f"Given{i}", "familyName": f"Family{i}"},
            "emails": [{"value": name.lower(), "type": "work", "primary": True}],
            "active": active,
            "externalId": f"ext-{i}",
        }
        users.append(server.post("/Users", body)["id"])
    groups = []
    for name, members in (
        ("Engineering", users[:2]),
        ("oin-test-000000-Group-decoy", users[2:4]),
        ("Empty", []),
    ):
        body = {"schemas": [GROUP], "displayName": name, "members": [{"value": m} for m in members]}
        groups.append(server.post("/Groups", body)["id"])
    return {"users": users, "groups": groups}


def snapshot(server: Server, ids: dict[str, list[str]]) -> dict[str, bytes]:
    shot = {f"/Users/{u}": server.raw(f"/Users/{u}") for u in ids["users"]}
    shot |= {f"/Groups/{g}": server.raw(f"/Groups/{g}") for g in ids["groups"]}
    for path in ("/Users?startIndex=1&count=1000", "/Groups?startIndex=1&count=1000"):
        shot[path] = server.raw(path)
    return shot


def journaled_names(journal: Path) -> set[str]:
    """The names the run's journal holds (it is written before each create is sent)."""
    names: set[str] = set()
    for path in journal.glob("*.json"):
        try:
            names |= {n for e in json.loads(path.read_text())["entries"] for n in e["names"]}
        except (OSError, ValueError, KeyError):
            continue  # replaced while reading: the next poll sees it
    return names


def wait_for_run_data(
    server: Server, before: set[str], proc: subprocess.Popen[str], journal: Path
) -> set[str]:
    """Block until the run is about to create, or has created, something (or has ended);
    return those names. The local journal is polled first: it is cheap, so the signal that
    follows lands in the middle of a check even on a loaded machine."""
    for i in range(3000):
        new = journaled_names(journal)
        if not new and i % 10 == 0:
            new = server.names() - before
        if new or proc.poll() is not None:
            return new
        time.sleep(0.005)
    return set()


@pytest.mark.slow
def test_existing_data_is_untouched_and_nothing_is_left(server: Server, tmp_path: Path) -> None:
    ids = seed(server)
    original = snapshot(server, ids)
    names = server.names()
    target = write_target(tmp_path, server.url)
    journal = tmp_path / JOURNAL

    # 1. A whole run, with failing checks.
    proc = start_plugin(target)
    out = finish(proc, timeout=180)
    assert proc.returncode == 1, out  # blocking failures
    report = json.loads((tmp_path / "reports" / "readiness.json").read_text())
    failed = {c["id"] for c in report["checks"] if c["outcome"] == "failed"}
    assert {"scim.deactivates_user", "scim.group_push_removes_members"} <= failed
    assert "scim.answers_unknown_user_with_404" in failed
    assert snapshot(server, ids) == original, "a run with failures changed existing data"

    # 2. and 3. Interrupted in the middle of a check: Ctrl-C, then SIGTERM.
    for sig in (signal.SIGINT, signal.SIGTERM):
        proc = start_plugin(target)
        created = wait_for_run_data(server, names, proc, journal)
        assert created, "the run ended before it created anything"
        proc.send_signal(sig)
        out = finish(proc)
        assert proc.returncode == 2, (sig, out)  # pytest: interrupted
        assert snapshot(server, ids) == original, f"{sig!r}: data changed or left behind"
        assert not list(journal.glob("*.json")), f"{sig!r}: the journal says something is left"

    # 4. SIGKILL: nothing can run in the killed process; the journal remembers ...
    proc = start_plugin(target)
    created = wait_for_run_data(server, names, proc, journal)
    assert created
    proc.kill()
    proc.communicate(timeout=30)
    left = server.names() - names
    journals = list(journal.glob("*.json"))
    if left:
        assert journals, "resources were left without a journal entry"
        recorded = {
            n for p in journals for e in json.loads(p.read_text())["entries"] for n in e["names"]
        }
        assert {n.lower() for n in left} <= {n.lower() for n in recorded}
    # ... and the next run (even a one-check run) cleans it up first.
    proc = start_plugin(target, "--oin-check", "scim.answers_okta_connection_test")
    out = finish(proc)
    assert proc.returncode == 0, out
    assert snapshot(server, ids) == original, "leftovers of the killed run were not cleaned"
    assert not list(journal.glob("*.json"))
