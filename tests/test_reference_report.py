"""The reference app's readiness report: every protocol ready, the JSON valid against its
published schema, and the same verdicts under pytest -n 2 as in a serial run."""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.conftest import REFERENCE_TARGET, run_plugin


def verdicts(data: dict[str, Any]) -> dict[str, Any]:
    """What must not depend on scheduling: checks, outcomes, failures and the verdicts."""
    return {
        "protocols": data["protocols"],
        "blocking_failures": data["blocking_failures"],
        "advisories": data["advisories"],
        "checks": [
            (
                c["id"],
                c["outcome"],
                c["severity"],
                c["requirement"],
                (c["failure"] or {}).get("title"),
            )
            for c in data["checks"]
        ],
    }


@pytest.mark.slow
def test_reference_app_is_ready_and_parallel_runs_agree(tmp_path: Path) -> None:
    schema = json.loads(
        importlib.resources.files("oin_conformance")
        .joinpath("schema/readiness.schema.json")
        .read_text()
    )
    serial_dir, parallel_dir = tmp_path / "serial", tmp_path / "parallel"
    serial_dir.mkdir()
    parallel_dir.mkdir()
    serial = run_plugin(f"--oin-target={REFERENCE_TARGET}", "--oin-seed=11", cwd=serial_dir)
    parallel = run_plugin(
        f"--oin-target={REFERENCE_TARGET}", "--oin-seed=11", "-n", "2", cwd=parallel_dir
    )
    assert serial.returncode == 0, serial.stdout[-3000:]
    assert parallel.returncode == 0, parallel.stdout[-3000:]
    for run in (serial, parallel):
        jsonschema.validate(run.readiness, schema)
        statuses = {p: v["status"] for p, v in run.readiness["protocols"].items()}
        assert statuses == dict.fromkeys(statuses, "ready"), statuses
        assert len(run.readiness["checks"]) > 100
    assert verdicts(serial.readiness) == verdicts(parallel.readiness)
