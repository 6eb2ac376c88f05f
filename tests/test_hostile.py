"""The hostile corpus: broken target files and apps that misbehave.

Every case must end as a usage error (target file) or a clear check failure (app): the run
completes, no traceback reaches the user, nothing hangs past the timeouts.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from oin_conformance.target import TargetError, load
from tests.conftest import run_plugin, write_target

CORPUS = Path(__file__).parent / "corpus" / "targets"
TARGET_CASES = sorted(CORPUS.glob("*.toml"))


@pytest.mark.parametrize("path", TARGET_CASES, ids=[p.stem for p in TARGET_CASES])
def test_broken_target_file_is_one_clear_error(path: Path) -> None:
    with pytest.raises(TargetError) as info:
        load(path, environ={})
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    assert "Fix" in message or "Did you mean" in message or "not valid TOML" in message
    for secret in ("s3cret-val", "t0k3n-value"):
        assert secret not in message


def test_the_corpus_runs_through_pytest_as_usage_errors(tmp_path: Path) -> None:
    """A sample through the real plugin: exit 4, one ERROR line, no traceback."""
    for name in ("bad_toml", "misspelt_key", "missing_env", "scim_bearer_without_token"):
        run = run_plugin(f"--oin-target={CORPUS / (name + '.toml')}", cwd=tmp_path)
        assert run.returncode == 4, (name, run.stdout, run.stderr)
        assert [ln for ln in run.stderr.splitlines() if ln.startswith("ERROR:")], name
        assert "Traceback" not in run.stdout + run.stderr, name


# Apps that misbehave at the HTTP level. Each is a WSGI callable in a module written to disk.
HOSTILE_APPS = {
    "server_error": """
        def app(environ, start_response):
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
            return [b"internal failure"]
        """,
    "hangs": """
        import time
        def app(environ, start_response):
            time.sleep(5)
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"late"]
        """,
    "resets": """
        def app(environ, start_response):
            import socket
            sock = environ.get("werkzeug.socket")
            if sock is not None:
                linger = (1).to_bytes(4, "little") + (0).to_bytes(4, "little")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                sock.close()
            raise ConnectionAbortedError("reset by the app")
        """,
    "redirect_loop": """
        def app(environ, start_response):
            start_response("302 Found", [("Location", "/again")])
            return [b""]
        """,
    "off_site": """
        def app(environ, start_response):
            start_response("302 Found", [("Location", "https://example.net/")])
            return [b""]
        """,
    "huge_body": """
        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/html")])
            return [b"x" * (1024 * 1024)] * 12
        """,
    # One byte every 0.8 s: each read beats the 1 s timeout, the whole answer never does.
    "trickles": """
        import time
        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/html")])
            def body():
                for _ in range(60):
                    yield b"x"
                    time.sleep(0.8)
            return body()
        """,
    "unknown_charset": """
        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/html; charset=x-bogus")])
            return ["<p>Zoë</p>".encode()]
        """,
    "deeply_nested_json": """
        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "application/json")])
            return [b"[" * 200000]
        """,
}
#: The one line each misbehaving app must end with, beside its outcome.
HOSTILE_MESSAGES = {"trickles": "the app took longer than 1 s to answer"}


@pytest.mark.slow
def test_misbehaving_apps_end_as_clear_check_failures(tmp_path: Path) -> None:
    outcomes: dict[str, str] = {}
    for name, source in HOSTILE_APPS.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / f"hostile_{name}.py").write_text(textwrap.dedent(source))
        target = write_target(
            folder,
            f"""
            [app]
            serve = "hostile_{name}:app"
            [app.test_user]
            username = "u"
            [harness]
            timeout = 1
            """,
        )
        run = run_plugin(
            f"--oin-target={target}", "--oin-check=general.app_is_reachable", cwd=folder,
            timeout=120,
        )  # fmt: skip
        assert "Traceback" not in run.stdout, (name, run.stdout)
        assert run.returncode in (0, 1), (name, run.stdout, run.stderr)
        check = run.check("general.app_is_reachable")
        outcomes[name] = check["outcome"]
        if check["outcome"] == "failed":
            assert check["fix"], name
        if name in HOSTILE_MESSAGES:
            assert HOSTILE_MESSAGES[name] in json.dumps(check), (name, check)
    assert outcomes == {
        "server_error": "failed",
        "hangs": "failed",
        "resets": "failed",
        "redirect_loop": "passed",  # the base URL answered (with a redirect): reachable
        "off_site": "passed",
        "huge_body": "passed",
        "trickles": "failed",
        "unknown_charset": "passed",
        "deeply_nested_json": "passed",
    }


def test_app_factory_that_raises_is_one_clear_error_per_check(tmp_path: Path) -> None:
    (tmp_path / "crashing.py").write_text(
        "def create(harness, options):\n    raise RuntimeError('database is not configured')\n"
    )
    target = write_target(
        tmp_path,
        """
        [app]
        serve = "crashing:create"
        serve_factory = true
        [app.test_user]
        username = "u"
        """,
    )
    run = run_plugin(f"--oin-target={target}", "-m", "general", cwd=tmp_path)
    assert run.returncode == 1
    assert "Traceback" not in run.stdout
    assert "could not start the app: RuntimeError: database is not configured" in run.stdout
    reach = run.check("general.app_is_reachable")
    assert reach["outcome"] == "error"
    assert "database is not configured" in reach["message"]
