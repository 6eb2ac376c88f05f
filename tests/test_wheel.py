"""SPEC §2: the suites run from an installed wheel, from an empty folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, TINY_TARGET, write_target


@pytest.mark.slow
def test_wheel_installs_into_a_fresh_venv_and_collects_the_suites(
    tmp_path: Path, tiny_app: Path
) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
            str(REPO),
        ],
        check=True,
    )
    wheel = next(dist.glob("oin_conformance-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", str(wheel)], check=True, timeout=900)
    empty = tmp_path / "empty"
    empty.mkdir()
    target = write_target(tiny_app, TINY_TARGET)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "VIRTUAL_ENV"))}
    env["PYTHONPATH"] = ""
    proc = subprocess.run(
        [
            str(py),
            "-m",
            "pytest",
            f"--oin-target={target}",
            "--oin-report=out",
            "-p",
            "no:cacheprovider",
        ],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    # No protocol configured: exactly the one blocking general failure, so exit 1 (never 5).
    assert proc.returncode == 1, proc.stdout + proc.stderr
    data = json.loads((empty / "out" / "readiness.json").read_text())
    assert {c["id"] for c in data["checks"]} >= {
        "general.app_is_reachable",
        "general.target_describes_a_protocol",
    }
    location = subprocess.run(
        [str(py), "-c", "import oin_conformance.suites as s; print(s.__file__)"],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "site-packages" in location


def test_editable_install_maps_suites_to_the_checkout() -> None:
    import importlib.util

    spec = importlib.util.find_spec("oin_conformance.suites")
    assert spec is not None and spec.submodule_search_locations is not None
    assert Path(next(iter(spec.submodule_search_locations))).resolve() == REPO / "suites"
