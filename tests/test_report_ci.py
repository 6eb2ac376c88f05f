"""The CI recipes under docs/ci: they parse, and they run exactly the README's command (the
reports they upload are checked against a real run in tests/test_report_rendering.py)."""

from __future__ import annotations

import re
from typing import Any

import yaml

from tests.conftest import REPO

DOCS = REPO / "docs" / "ci"


def readme_command() -> str:
    """The README's first command: the reference app's readiness report."""
    text = (REPO / "README.md").read_text()
    section = text[text.index("## Two commands") :]
    match = re.search(r"```sh\n(.*?)\n```", section, re.S)
    assert match, "the README's 'Two commands' section has no sh block"
    (command,) = match.group(1).strip().splitlines()
    assert "--oin-target=fixtures/reference_app/target.toml" in command
    return command


def load(name: str) -> Any:
    return yaml.safe_load((DOCS / name).read_text())


def test_github_workflow_runs_the_readme_command_and_uploads_the_reports() -> None:
    workflow = load("github-actions.yml")
    # PyYAML reads the key `on` as True (YAML 1.1); GitHub reads it as "on".
    assert set(workflow[True]) == {"push", "pull_request"}
    assert workflow["permissions"] == {"contents": "read"}
    (job,) = workflow["jobs"].values()
    steps = job["steps"]
    runs = [s["run"] for s in steps if "run" in s]
    assert runs[0] == readme_command()
    assert all(
        s.get("if") for s in steps[steps.index(next(s for s in steps if "run" in s)) + 1 :]
    ), "the summary and the upload also run when the readiness run fails"
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact"))
    assert upload["with"]["path"] == "reports/"
    assert "summary_line" in runs[1] and "GITHUB_STEP_SUMMARY" in runs[1]


def test_gitlab_job_runs_the_readme_command_and_keeps_junit_and_reports() -> None:
    (job,) = load("gitlab-ci.yml").values()
    assert job["script"] == [readme_command()]
    assert job["artifacts"]["when"] == "always"
    assert job["artifacts"]["paths"] == ["reports/"]
    assert job["artifacts"]["reports"]["junit"] == "reports/junit.xml"


def test_the_readme_points_at_the_ci_recipes() -> None:
    assert "docs/ci/" in (REPO / "README.md").read_text()
