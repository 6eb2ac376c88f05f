"""The plugin's runtime dependencies, read from pyproject.toml, for pip.

``python3 tests/lowest_constraints.py`` prints pip constraints pinning each runtime dependency
to the lowest version pyproject.toml allows (its ``>=`` or ``==`` bound): what CI installs in a
second venv to prove those bounds (pip has no ``--resolution=lowest-direct``).
``--requirements`` prints the requirements themselves (what CI downloads for the install
tests). Standard library only: CI runs it before any venv exists.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_LOWER = re.compile(r"(?:>=|==|~=)\s*([0-9][^,;\s]*)")


def runtime_requirements(pyproject: Path = PYPROJECT) -> list[str]:
    data = tomllib.loads(pyproject.read_text())
    return [str(r) for r in data["project"]["dependencies"]]


def lowest_constraints(pyproject: Path = PYPROJECT) -> list[str]:
    """``name==lowest`` for every runtime dependency; a dependency without a lower bound is
    an error (its lowest version would be untested)."""
    pins = []
    for requirement in runtime_requirements(pyproject):
        name = _NAME.match(requirement)
        lower = _LOWER.search(requirement.split(";", 1)[0])
        if name is None or lower is None:
            raise ValueError(f"{requirement!r} in {pyproject} has no lower bound (>=)")
        pins.append(f"{name.group(1)}=={lower.group(1)}")
    return pins


def main(argv: list[str]) -> int:
    lines = runtime_requirements() if "--requirements" in argv else lowest_constraints()
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
