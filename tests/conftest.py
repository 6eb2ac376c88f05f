"""Shared helpers for the harness's own tests."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
REFERENCE_TARGET = FIXTURES / "reference_app" / "target.toml"

# Stable terminal output for text assertions (as pytest's own testing/conftest.py does).
os.environ["COLUMNS"] = "120"
for _var in ("PY_COLORS", "NO_COLOR", "FORCE_COLOR"):
    os.environ.pop(_var, None)


@dataclass
class PluginRun:
    """The outcome of one real pytest run of the plugin in a subprocess."""

    returncode: int
    stdout: str
    stderr: str
    report_dir: Path

    @property
    def readiness(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.report_dir / "readiness.json").read_text())
        return data

    def check(self, check_id: str) -> dict[str, Any]:
        for check in self.readiness["checks"]:
            if check["id"] == check_id:
                return dict(check)
        raise AssertionError(f"no check {check_id} in the report")

    def outcomes(self) -> dict[str, str]:
        return {c["id"]: c["outcome"] for c in self.readiness["checks"]}


def run_plugin(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> PluginRun:
    """Run ``pytest <args>`` with this interpreter in ``cwd`` (reports in cwd/reports)."""
    report_dir = cwd / "reports"
    full_env = {**os.environ, **(env or {})}
    full_env.pop("PYTEST_XDIST_WORKER", None)
    full_env.pop("PYTEST_ADDOPTS", None)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            f"--oin-report={report_dir}",
            *args,
        ],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return PluginRun(proc.returncode, proc.stdout, proc.stderr, report_dir)


_T = TypeVar("_T")


def once_per_session(
    tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], _T]
) -> _T:
    """``make(folder)``, run once per test session even when xdist spreads a module's tests
    over workers (each worker would run a module fixture of its own): the first worker to
    create the shared folder ``name`` runs it, the others wait for its result (pickled in
    that folder; a failure there fails them too)."""
    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker's basetemp sits in the session's own folder.
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / name
    done, failed = shared / "result.pickle", shared / "failed.txt"
    try:
        shared.mkdir()
    except FileExistsError:
        for _ in range(1200):
            if done.exists():
                # Written by this session's own worker, below.
                return pickle.loads(done.read_bytes())  # noqa: S301
            if failed.exists():
                pytest.fail(f"{name}: another xdist worker failed: {failed.read_text()}")
            time.sleep(0.5)
        pytest.fail(f"{name}: another xdist worker did not finish in 10 minutes")
    try:
        result = make(shared)
    except BaseException as exc:
        failed.write_text(f"{type(exc).__name__}: {exc}"[:4000])
        raise
    partial = shared / "result.pickle.tmp"
    partial.write_bytes(pickle.dumps(result))
    partial.replace(done)
    return result


@pytest.fixture
def tiny_app(tmp_path: Path) -> Path:
    """A folder with a minimal WSGI app module (``tinyapp:app``) to serve in-process."""
    (tmp_path / "tinyapp.py").write_text(
        textwrap.dedent(
            """
            def app(environ, start_response):
                path = environ.get("PATH_INFO", "/")
                if path == "/boom":
                    start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
                    return [b"boom"]
                start_response("200 OK", [("Content-Type", "text/html")])
                return [b"<p>tiny app</p>"]
            """
        )
    )
    return tmp_path


def write_target(folder: Path, body: str, name: str = "target.toml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(body))
    return path


TINY_TARGET = """
[app]
name = "Tiny"
serve = "tinyapp:app"

[app.test_user]
username = "ada@example.com"
"""
