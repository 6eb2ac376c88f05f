"""Universal Logout under pytest-xdist: Okta's logout request ends every session of the test
user in the app, so workers that share one app (``base_url``) would end each other's
sign-ins between sign-in and probe. Such a run stays in one process and says why; a run
that leaves the Universal Logout checks out, or whose workers each serve their own app
(``serve``), keeps its workers."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from tests.conftest import REFERENCE_TARGET, run_plugin, write_target

NOTICE = "[universal_logout] ends the test user's sessions in the app the workers would share"
#: What pytest-xdist prints when it started workers ("created: 2/2 workers").
WORKERS = re.compile(r"created: \d+/\d+ workers")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def shared_app_target(folder: Path) -> Path:
    """An app the workers would share (base_url; nothing listens: every check is quick)."""
    return write_target(
        folder,
        f"""
        [app]
        base_url = "http://127.0.0.1:{closed_port()}"
        test_user = {{ username = "ada@example.com" }}
        signed_in = {{ url = "/me", contains = "{{username}}" }}

        [saml]
        acs_url = "/saml/acs"
        audience = "https://app.example/saml"

        [universal_logout]
        endpoint = "/oauth/global-token-revocation"
        """,
    )


@pytest.mark.parametrize(
    ("selection", "parallel"),
    [
        ((), False),
        (("-m", "universal_logout"), False),
        (("-m", "saml or universal_logout"), False),
        (("--oin-check", "universal_logout.ends_user_sessions[saml-email]"), False),
        (("-m", "not universal_logout"), True),
        (("-m", "saml"), True),
        (("--oin-check", "saml.signs_in_with_idp_initiated_sso"), True),
    ],
)
def test_a_shared_app_with_universal_logout_runs_in_one_process(
    tmp_path: Path, selection: tuple[str, ...], parallel: bool
) -> None:
    target = shared_app_target(tmp_path)
    run = run_plugin(f"--oin-target={target}", *selection, "-n", "2", cwd=tmp_path)
    assert bool(WORKERS.search(run.stdout)) is parallel, run.stdout[-2000:]
    assert (NOTICE in run.stdout) is not parallel, run.stdout[-2000:]
    assert run.readiness["checks"], run.stdout[-2000:]  # the run completed with a report


@pytest.mark.slow
def test_workers_that_serve_their_own_app_keep_their_workers(tmp_path: Path) -> None:
    """With ``serve`` every worker signs in to, and logs out of, an app of its own."""
    text = REFERENCE_TARGET.read_text()
    text = text.replace('pythonpath = [".."]', f'pythonpath = ["{REFERENCE_TARGET.parent.parent}"]')
    text = text.replace('logo = "logo.png"', f'logo = "{REFERENCE_TARGET.parent / "logo.png"}"')
    assert "[universal_logout]" in text
    target = tmp_path / "target.toml"
    target.write_text(text)
    run = run_plugin(f"--oin-target={target}", "-m", "universal_logout", "-n", "2", cwd=tmp_path)
    assert WORKERS.search(run.stdout), run.stdout[-2000:]
    assert NOTICE not in run.stdout
    assert run.readiness["protocols"]["universal_logout"]["status"] == "ready", run.stdout[-3000:]
