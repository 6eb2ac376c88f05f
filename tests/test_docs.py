"""The documentation under docs/: the generated files match the code, the Python API runs."""

from __future__ import annotations

import doctest
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field, SecretStr, create_model

from oin_conformance import docs
from oin_conformance.catalogue import all_checks
from oin_conformance.target import App, Target
from tests.conftest import REPO

DOCS = REPO / "docs"
REGENERATE = "run python -m oin_conformance.docs"


@pytest.fixture(scope="module")
def generated() -> dict[str, str]:
    return docs.generated()


def test_generated_docs_match_the_committed_files(generated: dict[str, str]) -> None:
    assert set(generated) == {"target-file.md", "checks.md"}
    for name, text in generated.items():
        committed = (DOCS / name).read_text() if (DOCS / name).is_file() else ""
        assert committed == text, f"docs/{name} is out of date: {REGENERATE}"


def test_drift_is_detected(tmp_path: Path, generated: dict[str, str]) -> None:
    """A key added to the model, or a check added to the catalogue, makes the committed files
    stale; ``--check`` says so, and writing them makes them current again."""
    app = create_model(
        "App",
        __base__=App,
        new_key=(str, Field(default="", description="A key nobody documented yet.")),
    )
    grown = create_model("Target", __base__=Target, app=(app, Field(description="The app.")))
    assert "`new_key`" in docs.target_file_markdown(grown)
    assert docs.target_file_markdown(grown) != generated["target-file.md"]
    extra = {**all_checks()[0], "id": "general.planted_check", "title": "Planted."}
    assert "`general.planted_check`" in docs.checks_markdown([*all_checks(), extra])

    for name, text in generated.items():
        (tmp_path / name).write_text(text)
    assert docs.stale(tmp_path, generated) == []
    (tmp_path / "checks.md").write_text(generated["checks.md"].replace("blocking", "advisory", 1))
    assert docs.stale(tmp_path, generated) == ["checks.md"]
    assert docs.main(["--check", "--out", str(tmp_path)]) == 1
    assert docs.main(["--out", str(tmp_path)]) == 0
    assert docs.main(["--check", "--out", str(tmp_path)]) == 0


def _keys(model: type[BaseModel], path: tuple[str, ...] = ()) -> list[tuple[str, str, Any]]:
    """(section, key, field) of every key of the target file."""
    found = []
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        found.append((".".join(path), name, field))
        nested = docs._nested_model(field.annotation)
        if nested:
            found += _keys(nested[0], (*path, name))
    return found


def test_target_reference_has_every_key_with_its_description_and_secrets_marked(
    generated: dict[str, str],
) -> None:
    text = generated["target-file.md"]
    heading = re.compile(r"^## `\[\[?([\w.]+)\]?\]`\n(.*?)(?=^## |\Z)", re.M | re.S)
    sections = {m.group(1): m.group(2) for m in heading.finditer(text)}
    keys = _keys(Target)
    assert len(keys) > 80
    for section, key, field in keys:
        if not section:
            assert f"[`[{key}]`]" in text or f"[`[[{key}]]`]" in text, key
            continue
        rows = [r for r in sections[section].splitlines() if r.startswith(f"| `{key}` |")]
        assert len(rows) == 1, (section, key)
        assert field.description and " ".join(field.description.split()) in rows[0]
        secret = field.annotation in (SecretStr, SecretStr | None)
        assert ("**secret**" in rows[0]) == secret, (section, key)
    assert "**secret**" in sections["oidc"] and "**secret**" in sections["scim.auth"]
    # Allowed values, defaults and required keys come from the model.
    assert '| `mode` | string | **required** | one of `"header"`, `"bearer"`' in text
    assert "| `timeout` | number | `15.0` | > 0; ≤ 300 |" in text


def test_check_catalogue_lists_every_check_with_its_facts(generated: dict[str, str]) -> None:
    text = generated["checks.md"]
    for check in all_checks():
        assert f"`{check['id']}`" in text, check["id"]
        assert f"### {check['requirement']}" in text
        for ref in check["references"]:
            assert f"[{ref['id']}]({ref['url']})" in text
    for protocol in {c["protocol"] for c in all_checks()}:
        assert f"## {docs.PROTOCOLS[protocol]}\n" in text
    row = next(r for r in text.splitlines() if "`saml.refuses_hostile_response[unsigned]`" in r)
    assert "A response with no signature anywhere" in row and "| blocking |" in row


def test_python_api_examples_run() -> None:
    """docs/python-api.md, run with doctest: real keys, real signatures, real loopback HTTP."""
    result = doctest.testfile(
        str(DOCS / "python-api.md"),
        module_relative=False,
        optionflags=doctest.ELLIPSIS,
        verbose=False,
    )
    assert result.attempted >= 50
    assert result.failed == 0


def test_readme_links_the_docs() -> None:
    readme = (REPO / "README.md").read_text()
    for name in ("target-file.md", "checks.md", "reading-a-failure.md", "python-api.md"):
        assert f"(docs/{name})" in readme, name
        assert (DOCS / name).is_file()
