"""The dependency rule of ARCHITECTURE.md, enforced; and every module imports cleanly."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGE = REPO / "oin_conformance"

# layer (path prefix under oin_conformance/) -> imports it must not make
FORBIDDEN = {
    "roles/": (
        "pytest",
        "_pytest",
        "oin_conformance.suites",
        "suites",
        "oin_conformance.report",
        "oin_conformance.runtime",
        "oin_conformance.plugin",
        "oin_conformance.session_fixtures",
    ),
    "attacks/": (
        "pytest",
        "_pytest",
        "oin_conformance.suites",
        "suites",
        "oin_conformance.report",
        "oin_conformance.runtime",
        "oin_conformance.plugin",
    ),
    "report/": ("oin_conformance.roles", "oin_conformance.attacks", "oin_conformance.suites"),
    "transcript.py": ("pytest", "oin_conformance.roles", "oin_conformance.report"),
    "failures.py": ("pytest", "oin_conformance.roles", "oin_conformance.report"),
    "state.py": ("pytest", "oin_conformance.roles", "oin_conformance.report"),
    "target.py": ("pytest", "oin_conformance.roles", "oin_conformance.report"),
}


def imports_of(path: Path) -> list[tuple[str, bool]]:
    """(module, at_top_level) for every import in a file; type-checking-only ones skipped."""
    tree = ast.parse(path.read_text())
    found: list[tuple[str, bool]] = []
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in ast.walk(node):
                type_only.add(id(child))
    top = {id(n) for n in tree.body}
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found += [(a.name, id(node) in top) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, id(node) in top))
    return found


def test_layers_respect_the_dependency_rule() -> None:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        for prefix, banned in FORBIDDEN.items():
            if not rel.startswith(prefix):
                continue
            for module, _ in imports_of(path):
                if any(module == b or module.startswith(b + ".") for b in banned):
                    problems.append(f"{rel} imports {module}")
    assert problems == []


def test_plugin_imports_only_pytest_and_stdlib_at_top_level() -> None:
    allowed = set(sys.stdlib_module_names) | {"pytest", "__future__"}
    top = [m for m, at_top in imports_of(PACKAGE / "plugin.py") if at_top]
    assert [m for m in top if m.split(".")[0] not in allowed] == []


def test_suites_do_not_import_fixtures_or_tests() -> None:
    for path in (REPO / "suites").rglob("*.py"):
        for module, _ in imports_of(path):
            assert module.split(".")[0] not in {"fixtures", "tests"}, f"{path}: {module}"


def _modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(REPO).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join(parts))
    return names


@pytest.mark.parametrize("module", _modules())
def test_every_module_imports_without_warnings(module: str) -> None:
    subprocess.run([sys.executable, "-W", "error", "-c", f"import {module}"], check=True)


def test_xmlsec_imports_beside_lxml_with_the_same_libxml2() -> None:
    code = (
        "import lxml.etree as e, xmlsec; "
        "assert e.LIBXML_VERSION == e.LIBXML_COMPILED_VERSION, (e.LIBXML_VERSION,); "
        "print(xmlsec.__version__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1.3.17"
