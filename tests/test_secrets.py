"""No configured secret appears in any report format or in pytest's output (raw, base64,
URL-encoded), after a full run of every suite against the reference app."""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from oin_conformance.target import load
from tests.conftest import REFERENCE_TARGET, run_plugin


def forms(secret: str) -> set[str]:
    raw = secret.encode()
    return {
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        base64.b64encode(raw).decode(),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    }


@pytest.mark.slow
def test_no_secret_in_any_report(tmp_path: Path) -> None:
    secrets = load(REFERENCE_TARGET).secrets()
    assert len(secrets) >= 2, "the reference target should exercise redaction"
    run = run_plugin(f"--oin-target={REFERENCE_TARGET}", "-n", "2", cwd=tmp_path)
    outputs = {
        "stdout": run.stdout,
        "stderr": run.stderr,
        **{p.name: p.read_text() for p in run.report_dir.iterdir() if p.is_file()},
    }
    assert {"readiness.html", "readiness.json", "junit.xml"} <= set(outputs)
    leaks = [
        f"{name} contains a form of secret #{i}"
        for i, secret in enumerate(secrets)
        for form in forms(secret)
        for name, text in outputs.items()
        if form in text
    ]
    assert leaks == []


ECHO_APP = """
import base64, json


def app(environ, start_response):
    # A careless server that repeats the credentials it was given in every answer,
    # raw, base64-encoded and URL-encoded (as some error pages and debug headers do).
    auth = environ.get("HTTP_AUTHORIZATION", "")
    token = auth.split(" ", 1)[-1]
    # ... and logs it, as a debug print would (captured output, in every report format).
    print("incoming Authorization:", auth)
    import sys
    print("token seen:", token, file=sys.stderr)
    body = json.dumps({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "401",
        "detail": "invalid credentials " + token,
        "debug": base64.b64encode(token.encode()).decode(),
        "next": "/login?token=" + token.replace("/", "%2F"),
    }).encode()
    start_response("401 Unauthorized", [("Content-Type", "application/scim+json"),
                                        ("X-Debug-Token", token)])
    return [body]
"""


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["0", "2"])
def test_secrets_echoed_by_the_app_are_redacted_by_value(tmp_path: Path, workers: str) -> None:
    token = "echoed-scim-token/with+odd=chars"
    (tmp_path / "echoapp.py").write_text(ECHO_APP)
    target = tmp_path / "target.toml"
    target.write_text(
        '[app]\nserve = "echoapp:app"\n[app.test_user]\nusername = "u@example.com"\n'
        '[scim]\nbase_url = "/scim/v2"\n[scim.auth]\nmode = "bearer"\n'
        'token = "${ECHO_TOKEN}"\n'
    )
    run = run_plugin(f"--oin-target={target}", "-m", "scim", "-n", workers, "-rA",
                     "-o", "junit_logging=all", cwd=tmp_path,
                     env={"ECHO_TOKEN": token})  # fmt: skip
    assert run.returncode == 1, run.stdout[-2000:]
    report = (run.report_dir / "readiness.json").read_text()
    assert "[redacted]" in report
    outputs = {
        "stdout": run.stdout,
        "stderr": run.stderr,
        **{p.name: p.read_text() for p in run.report_dir.iterdir() if p.is_file()},
    }
    # The app's prints were captured (and shown: -rA, JUnit system-out/err) — redacted.
    assert "incoming Authorization: Bearer [redacted]" in run.stdout
    assert "incoming Authorization: Bearer [redacted]" in outputs["junit.xml"]
    leaks = [
        (name, form) for form in forms(token) for name, text in outputs.items() if form in text
    ]
    assert leaks == []
