"""The plugin installs cleanly beside an ISV's own stack: its runtime dependencies are exactly
what the installed package imports (python3-saml, xmlsec and the rest of the reference app's
stack are the test extra's), each has a lower bound CI tests, and every package folder is in
the wheel."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from tests.conftest import REPO
from tests.lowest_constraints import lowest_constraints, runtime_requirements

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
#: The reference app's stack: an ISV's own app may pin other versions of these.
TEST_ONLY = {"python3-saml", "xmlsec", "flask", "scim2-server", "pysaml2"}
OWN = {"oin_conformance", "suites", "__future__"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert match, requirement
    return _norm(match.group(1))


def imported_modules(*roots: Path) -> dict[str, set[str]]:
    """Top-level third-party modules imported anywhere under ``roots`` (also inside
    functions and under ``if TYPE_CHECKING:``) -> the files importing them."""
    found: dict[str, set[str]] = {}
    for root in roots:
        for path in root.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in OWN:
                        found.setdefault(top, set()).add(str(path.relative_to(REPO)))
    return found


def test_runtime_dependencies_are_exactly_what_the_plugin_imports() -> None:
    modules = imported_modules(REPO / "oin_conformance", REPO / "suites")
    owners = packages_distributions()
    imported = {}
    for module, files in modules.items():
        dists = owners.get(module)
        assert dists, f"{module} (imported by {sorted(files)}) belongs to no installed package"
        imported[_norm(dists[0])] = sorted(files)
    declared = {_name(r) for r in runtime_requirements()}
    missing = {d: f for d, f in imported.items() if d not in declared}
    assert not missing, f"imported by the plugin but not a runtime dependency: {missing}"
    unused = declared - set(imported)
    assert not unused, f"runtime dependencies the plugin never imports: {sorted(unused)}"


def test_the_reference_apps_saml_stack_is_test_only() -> None:
    declared = {_name(r) for r in runtime_requirements()}
    assert not declared & TEST_ONLY
    test_extra = {_name(r) for r in PYPROJECT["project"]["optional-dependencies"]["test"]}
    assert test_extra >= TEST_ONLY
    modules = imported_modules(REPO / "oin_conformance", REPO / "suites")
    assert not {"onelogin", "xmlsec", "saml2", "flask", "scim2_server"} & set(modules)


def test_every_runtime_dependency_has_a_lower_bound_ci_installs() -> None:
    pins = lowest_constraints()
    assert len(pins) == len(runtime_requirements())
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+==[0-9][0-9A-Za-z.]*", p) for p in pins), pins


def test_every_package_folder_is_in_the_wheel() -> None:
    """An editable install finds any subpackage; a wheel ships only the listed ones."""
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = set()
    for root, dotted in ((REPO / "oin_conformance", "oin_conformance"),
                         (REPO / "suites", "oin_conformance.suites")):  # fmt: skip
        for init in root.rglob("__init__.py"):
            parts = init.parent.relative_to(root).parts
            found.add(".".join((dotted, *parts)))
    assert sorted(found - listed) == [], "add them to [tool.setuptools] packages"
