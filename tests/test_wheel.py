"""SPEC §2: the suites run from an installed wheel, from an empty folder — also beside an
ISV's own stack that pins other versions of what the harness's tests use (python3-saml).

The fresh venvs install from CI's wheelhouse when ``OIN_WHEELHOUSE`` names one (``.ci/run``
downloads it before the tests, so nothing downloads while they run), else from the index.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, TINY_TARGET, write_target


def build_wheel(tmp_path: Path) -> Path:
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
    return next(dist.glob("oin_conformance-*.whl"))


def fresh_venv(tmp_path: Path, *install: str) -> Path:
    """A new venv with ``install`` pip-installed; its python."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    wheelhouse = os.environ.get("OIN_WHEELHOUSE")
    source = ["--no-index", "--find-links", wheelhouse] if wheelhouse else []
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", *source, *install], check=True, timeout=900
    )
    return py


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "VIRTUAL_ENV"))}
    env["PYTHONPATH"] = ""
    return env


@pytest.mark.slow
def test_wheel_installs_into_a_fresh_venv_and_collects_the_suites(
    tmp_path: Path, tiny_app: Path
) -> None:
    py = fresh_venv(tmp_path, str(build_wheel(tmp_path)))
    empty = tmp_path / "empty"
    empty.mkdir()
    target = write_target(tiny_app, TINY_TARGET)
    env = clean_env()
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


@pytest.mark.slow
def test_wheel_installs_beside_another_python3_saml(tmp_path: Path) -> None:
    """An ISV whose own app pins python3-saml 1.15 (the harness's tests use 1.16) installs
    the plugin beside it: the plugin needs no python3-saml (nor xmlsec) at all."""
    py = fresh_venv(tmp_path, str(build_wheel(tmp_path)), "python3-saml==1.15.0")
    env = clean_env()
    empty = tmp_path / "empty"
    empty.mkdir()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(py), *args], cwd=empty, env=env, capture_output=True, text=True, timeout=300,
            check=False,
        )  # fmt: skip

    versions = run("-c", "from importlib.metadata import version as v; "
                   "print(v('python3-saml'), v('oin-conformance'))")  # fmt: skip
    assert versions.stdout.split() == ["1.15.0", "0.1.0"], versions.stderr
    check = run("-m", "pip", "check")
    assert check.returncode == 0, check.stdout + check.stderr
    help_text = run("-m", "pytest", "--help", "-p", "no:cacheprovider")
    assert help_text.returncode == 0, help_text.stderr
    assert "--oin-target" in help_text.stdout
    heavy = "oin_conformance.runtime oin_conformance.session_fixtures oin_conformance.cli"
    imported = run("-c", f"import {', '.join(heavy.split())}; import oin_conformance.suites")
    assert imported.returncode == 0, imported.stderr


def test_editable_install_maps_suites_to_the_checkout() -> None:
    import importlib.util

    spec = importlib.util.find_spec("oin_conformance.suites")
    assert spec is not None and spec.submodule_search_locations is not None
    assert Path(next(iter(spec.submodule_search_locations))).resolve() == REPO / "suites"
