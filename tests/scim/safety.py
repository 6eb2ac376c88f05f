"""Helpers shared by the SCIM data-safety tests: a target file pointing at a live SCIM
server, and the real plugin started in a subprocess (so it can be interrupted)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

TOKEN = "data-safety-token-31337"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
#: Where the SCIM ledger's journal lands below the target's state folder.
JOURNAL = Path("state") / "scim-ledger"


def write_target(folder: Path, url: str, username: str = "grace.hopper@example.com") -> Path:
    """A target for the SCIM server at ``url`` (state and reports inside ``folder``)."""
    target = folder / "target.toml"
    target.write_text(
        f"""
[app]
name = "Live SCIM server"
base_url = "{url}"

[app.test_user]
username = "{username}"

[harness]
timeout = 10
state_dir = "{folder / "state"}"

[scim]
base_url = "/scim/v2"
features = ["create", "update", "deactivate", "reactivate", "import_users", "import_groups",
            "group_push"]

[scim.auth]
mode = "bearer"
token = "{TOKEN}"
"""
    )
    return target


def start_plugin(target: Path, *extra: str) -> subprocess.Popen[str]:
    """``python -m pytest --oin-target=<target> -m scim`` in a subprocess (output piped)."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTEST_XDIST_WORKER", "PYTEST_ADDOPTS")
    }
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--oin-target={target}",
         "-m", "scim", "-q", f"--oin-report={target.parent / 'reports'}", *extra],
        cwd=target.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # A child of a process that ignores SIGINT (a background job, some CI shells) would
        # ignore it too, and Ctrl-C would never reach the run under test.
        preexec_fn=_default_sigint,
    )  # fmt: skip


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> str:
    """The run's output, once it has ended. A run still going after ``timeout`` seconds is
    sent SIGABRT: pytest's faulthandler then prints where each of its threads was, and the
    test fails with that, not with a bare timeout."""
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            try:
                out, _ = proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:  # a child of the run still holds its output
                out = f"(no output: the run's exit code is {proc.poll()})"
        pytest.fail(f"the run did not end within {timeout:.0f} s; where it was:\n{out[-20000:]}")
    return out


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextlib.contextmanager
def standalone_server(folder: Path, flaws: str = "") -> Iterator[str]:
    """The reference SCIM server in a process of its own (``flaws`` planted); its URL."""
    from tests.conftest import FIXTURES

    port_file = folder / "port"
    proc = subprocess.Popen(
        [sys.executable, "-m", "reference_app.scim_standalone", "--token", TOKEN,
         "--flaw", flaws, "--port-file", str(port_file)],
        cwd=FIXTURES,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(400):
            if port_file.exists() and port_file.read_text().strip():
                break
            time.sleep(0.05)
        else:
            pytest.fail("the standalone reference server did not start")
        yield f"http://127.0.0.1:{port_file.read_text().strip()}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
