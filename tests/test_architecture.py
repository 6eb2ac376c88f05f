"""The dependency rule of ARCHITECTURE.md, enforced; and every module imports cleanly."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGE = REPO / "oin_conformance"

#: The dependency rule as an allow-list: layer (a path under oin_conformance/, the longest
#: match wins) -> the package modules it may import (a name allows its submodules). Every
#: import counts, also those under ``if TYPE_CHECKING:`` and those inside functions.
ALLOWED: dict[str, tuple[str, ...]] = {
    "__init__.py": (),
    "names.py": (),
    "advisories.py": (),
    "failures.py": (),
    "interrupts.py": (),
    "transcript.py": (),
    "state.py": (),
    "target.py": (),
    "requirements/": ("oin_conformance.requirements",),
    "roles/": (
        "oin_conformance",
        "oin_conformance.roles",
        "oin_conformance.transcript",
        "oin_conformance.failures",
        "oin_conformance.state",
        "oin_conformance.target",
    ),
    "attacks/": (
        "oin_conformance",
        "oin_conformance.attacks",
        "oin_conformance.roles",
        "oin_conformance.state",
        "oin_conformance.transcript",
    ),
    "report/": (
        "oin_conformance",
        "oin_conformance.report",
        "oin_conformance.names",
        "oin_conformance.failures",
        "oin_conformance.transcript",
        "oin_conformance.target",
    ),
    "plugin.py": ("oin_conformance.names", "oin_conformance.runtime"),
}
#: Layers that run the harness: anything in the package but the suites (and the plugin).
RUN_LAYERS = ("runtime.py", "session_fixtures.py", "catalogue.py", "wiring/", "cli.py", "docs.py")
#: Third-party modules only the pytest-facing layers may import.
PYTEST_MODULES = ("pytest", "_pytest", "pytest_html", "xdist")
PYTEST_FREE = ("names.py", "advisories.py", "failures.py", "interrupts.py", "transcript.py",
               "state.py", "target.py", "requirements/", "roles/", "attacks/")  # fmt: skip


def imports_of(path: Path, *, counting_type_checking: bool = True) -> list[tuple[str, bool]]:
    """(module, at_top_level) for every absolute import in a file."""
    tree = ast.parse(path.read_text())
    found: list[tuple[str, bool]] = []
    type_only: set[int] = set()
    if not counting_type_checking:
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


def _layer(rel: str) -> str | None:
    keys = [
        k for k in (*ALLOWED, *RUN_LAYERS) if rel == k or (k.endswith("/") and rel.startswith(k))
    ]
    return max(keys, key=len) if keys else None


def _within(module: str, names: tuple[str, ...]) -> bool:
    """``module`` is one of ``names`` or inside one (the package root itself, for
    ``__version__``, allows only itself)."""
    return any(
        module == n or (n != "oin_conformance" and module.startswith(n + ".")) for n in names
    )


def rule_violations(package: Path) -> list[str]:
    """Every import in ``package`` that its layer does not allow (and unknown modules)."""
    problems = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package).as_posix()
        layer = _layer(rel)
        if layer is None:
            problems.append(f"{rel} belongs to no layer of the dependency rule")
            continue
        for module, _ in imports_of(path):
            if module.startswith("oin_conformance"):
                if layer in RUN_LAYERS:
                    ok = not _within(module, ("oin_conformance.suites", "oin_conformance.plugin"))
                else:
                    ok = _within(module, ALLOWED[layer])
                if not ok:
                    problems.append(f"{rel} imports {module}")
            elif module in ("suites", "fixtures", "tests") or module.split(".")[0] in (
                "suites",
                "fixtures",
                "tests",
            ):
                problems.append(f"{rel} imports {module}")
            elif layer in PYTEST_FREE and module.split(".")[0] in PYTEST_MODULES:
                problems.append(f"{rel} imports {module}")
    return problems


def test_layers_respect_the_dependency_rule() -> None:
    assert rule_violations(PACKAGE) == []


@pytest.mark.parametrize(
    ("module", "line"),
    [
        ("roles/probe.py", "from oin_conformance.runtime import RunContext"),
        ("roles/probe.py", "if TYPE_CHECKING:\n    from oin_conformance.report import model"),
        ("report/model.py", "from oin_conformance.session_fixtures import oin_run"),
        ("transcript.py", "from oin_conformance.runtime import RunContext"),
        ("runtime.py", "from oin_conformance.suites.saml import flow"),
        ("attacks/oidc.py", "import pytest"),
        ("state.py", "def later() -> None:\n    from oin_conformance.roles import browser"),
        # Roles are libraries: the run wiring imports them, never the other way round.
        ("roles/oidc/provider.py", "from oin_conformance.wiring.oidc import ensure_op"),
        ("roles/oidc/tokens.py", "import oin_conformance.wiring"),
        ("attacks/oidc.py", "from oin_conformance.wiring import oidc"),
    ],
)
def test_the_rule_catches_a_planted_forbidden_import(
    tmp_path: Path, module: str, line: str
) -> None:
    """A scratch copy of the package with one forbidden import added fails the rule."""
    copy = tmp_path / "oin_conformance"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / module
    target.write_text(target.read_text() + "\n" + line + "\n")
    found = set(rule_violations(copy)) - set(rule_violations(PACKAGE))
    assert len(found) == 1 and found.pop().startswith(f"{module} imports "), found


def test_plugin_imports_only_pytest_and_stdlib_at_top_level() -> None:
    allowed = set(sys.stdlib_module_names) | {"pytest", "__future__"}
    top = [m for m, at_top in imports_of(PACKAGE / "plugin.py") if at_top]
    top = [m for m in top if m != "oin_conformance.names"]  # the stdlib-only leaf
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
