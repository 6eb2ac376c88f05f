"""An interrupt (Ctrl-C, or SIGTERM turned into one) ends a run as "interrupted", exit code 2,
wherever it lands: CPython 3.11+ gives some bytecodes no line number, and pytest's own report
of an interrupt raised there fails with a TypeError (exit code 1, an internal error) unless
the plugin drops those traceback entries first (``runtime.readable_interrupt``).

The SCIM data-safety test sends real signals at a random point of a run; it met this in CI
once in about fifty interrupts. Here the traceback entry without a line number is built on
purpose, so the case is met every time.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from oin_conformance.runtime import OinRuntime, readable_interrupt

#: A test that raises KeyboardInterrupt through a frame whose traceback entry has no line
#: number (an instruction offset past the end of the code: CPython reports None for it).
INTERRUPTED = textwrap.dedent(
    """
    import sys
    import types


    def test_interrupted():
        frame = sys._getframe()
        nowhere = types.TracebackType(None, frame, 10**6, -1)
        assert nowhere.tb_lineno is None
        raise KeyboardInterrupt("SIGTERM").with_traceback(nowhere)
    """
)

PLUGIN = textwrap.dedent(
    """
    import pytest

    from oin_conformance.runtime import readable_interrupt


    @pytest.hookimpl(tryfirst=True)
    def pytest_keyboard_interrupt(excinfo):
        readable_interrupt(excinfo)
    """
)


def run(tmp_path: Path, *plugins: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_interrupted.py").write_text(INTERRUPTED)
    (tmp_path / "readable.py").write_text(PLUGIN)
    args = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"]
    for plugin in plugins:
        args += ["-p", plugin]
    return subprocess.run(
        [*args, "test_interrupted.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        check=False,
    )


def test_without_the_plugin_pytest_fails_on_such_an_interrupt(tmp_path: Path) -> None:
    """The control: pytest alone turns this interrupt into an internal error. If a pytest
    release handles it itself, this fails, and readable_interrupt can go."""
    done = run(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "TypeError" in done.stdout + done.stderr


def test_with_the_plugin_the_run_is_reported_as_interrupted(tmp_path: Path) -> None:
    done = run(tmp_path, "readable")
    out = done.stdout + done.stderr
    assert done.returncode == 2, out
    assert "KeyboardInterrupt: SIGTERM" in out
    assert "TypeError" not in out


def test_entries_with_line_numbers_are_kept() -> None:
    def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as excinfo:
        interrupted()
    before = [entry.lineno for entry in excinfo.traceback]
    readable_interrupt(excinfo)
    assert [entry.lineno for entry in excinfo.traceback] == before
    assert excinfo.getrepr(funcargs=True)


def test_the_runtime_applies_it_before_the_terminal_reporter() -> None:
    hook = OinRuntime.pytest_keyboard_interrupt
    assert getattr(hook, "pytest_impl", {}).get("tryfirst") is True
