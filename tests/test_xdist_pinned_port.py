"""A pinned provider port under pytest-xdist: one process must own the port, so the run
stays in one process and says so; the OIDC suite still passes."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from tests.conftest import REFERENCE_TARGET, run_plugin


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_pinned_op_port_runs_under_xdist(tmp_path: Path) -> None:
    text = REFERENCE_TARGET.read_text()
    text = re.sub(r"(\[oidc\.provider\][^\[]*?)port = 0", rf"\g<1>port = {free_port()}", text)
    text = text.replace('pythonpath = [".."]', f'pythonpath = ["{REFERENCE_TARGET.parent.parent}"]')
    text = text.replace('logo = "logo.png"', f'logo = "{REFERENCE_TARGET.parent / "logo.png"}"')
    target = tmp_path / "target.toml"
    target.write_text(text)
    assert "port = 0" not in text.split("[oidc.provider]")[1].split("[")[0]
    run = run_plugin(f"--oin-target={target}", "-m", "oidc or general", "-n", "2", cwd=tmp_path)
    assert "does not use pytest-xdist workers" in run.stdout
    assert run.readiness["protocols"]["oidc"]["status"] == "ready", run.stdout[-3000:]
    assert run.returncode == 0
