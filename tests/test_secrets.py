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
