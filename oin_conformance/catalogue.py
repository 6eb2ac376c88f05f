"""Every shipped check, and how ``--oin-check`` selects among them.

The catalogue is what pytest itself collects from the suites: a ``pytest --collect-only``
in a subprocess, with a synthetic target that configures every protocol (the set of checks
does not depend on the target; which of them *apply* does, by protocol). It backs
``oin-conformance checks``, the validation of ``--oin-check`` under pytest-xdist (where
the controller does not collect), and the list of checks that did not run when the command
line narrowed the suites to some paths.

This module is also the pytest plugin of that subprocess (``-p oin_conformance.catalogue``):
it writes the collected checks' metadata to the file named by ``OIN_CATALOGUE_OUT``.
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

ENV_OUT = "OIN_CATALOGUE_OUT"

#: Configures every protocol so that every check is collected; never contacted.
SYNTHETIC_TARGET = """\
[app]
name = "catalogue"
base_url = "http://127.0.0.1:9"
[app.test_user]
username = "catalogue@example.com"
[saml]
acs_url = "/saml/acs"
audience = "catalogue"
[oidc]
login_url = "/oidc/login"
redirect_uris = ["/oidc/callback"]
client_id = "catalogue"
client_secret = "catalogue-not-a-secret"
[scim]
base_url = "/scim/v2"
[scim.auth]
mode = "bearer"
token = "catalogue-not-a-secret"
[universal_logout]
endpoint = "/oauth/global-token-revocation"
[submission]
name = "catalogue"
"""


class CatalogueError(Exception):
    """The suites could not be collected (a broken installation)."""


# -- selection (--oin-check) ---------------------------------------------------------------


def _literal_brackets(pattern: str) -> str:
    """A glob in which ``[`` and ``]`` stand for themselves (parametrized check ids)."""
    return "".join({"[": "[[]", "]": "[]]"}.get(ch, ch) for ch in pattern)


def matches(value: str, check_id: str, known: frozenset[str] | set[str]) -> bool:
    """Whether ``--oin-check value`` selects ``check_id``.

    A value that is a known check id selects exactly that check (``saml.x[xsw1]`` is not
    the character class fnmatch would read in it). Otherwise it is a glob, in which
    brackets are literal first (``saml.x[xsw*]``) and a character class second.
    """
    if value in known:
        return check_id == value
    return fnmatch.fnmatchcase(check_id, _literal_brackets(value)) or fnmatch.fnmatchcase(
        check_id, value
    )


def unmatched(values: Iterable[str], ids: Iterable[str]) -> list[str]:
    """The ``--oin-check`` values that select none of ``ids``."""
    known = frozenset(ids)
    return [v for v in values if not any(matches(v, i, known) for i in known)]


def nearest(value: str, ids: Iterable[str], n: int = 3) -> list[str]:
    """The check ids closest to a value that matched nothing (for "did you mean")."""
    pool = sorted(set(ids))
    close = difflib.get_close_matches(value, pool, n=n, cutoff=0.5)
    if not close:
        # A prefix typo ("sam.") or a short fragment: compare without the protocol, then
        # fall back to the ids that share the longest prefix with the value.
        stem = value.split(".", 1)[-1]
        by_stem = {i.split(".", 1)[-1]: i for i in pool}
        close = [by_stem[s] for s in difflib.get_close_matches(stem, list(by_stem), n, 0.5)]
    if not close:
        close = sorted(pool, key=lambda i: -len(os.path.commonprefix([i, value])))[:n]
    return close


def no_match_message(values: list[str], ids: Iterable[str], where: str) -> str:
    """One line: which values matched nothing, the nearest ids, and how to list them all."""
    pool = list(ids)
    parts = []
    for value in values:
        near = ", ".join(nearest(value, pool)) or "none"
        parts.append(f"--oin-check {value!r} matches no check {where}; nearest: {near}")
    return (
        "; ".join(parts) + ". List every check id with: oin-conformance checks "
        "(an id is matched exactly; *, ? and [...] make a glob)"
    )


# -- the catalogue -------------------------------------------------------------------------


@functools.cache
def all_checks() -> tuple[dict[str, Any], ...]:
    """Every shipped check's metadata (id, protocol, severity, requirement, title ...), in
    collection order. Costs one ``pytest --collect-only`` subprocess per process."""
    from oin_conformance.runtime import suites_dir

    with tempfile.TemporaryDirectory(prefix="oin-catalogue-") as tmp:
        folder = Path(tmp)
        target = folder / "target.toml"
        target.write_text(SYNTHETIC_TARGET)
        ini = folder / "pytest.ini"
        ini.write_text("[pytest]\n")
        out = folder / "checks.json"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "OIN_"))}
        env[ENV_OUT] = str(out)
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "oin_conformance.catalogue",
            "-c",
            str(ini),
            "--rootdir",
            str(folder),
            f"--oin-target={target}",
            f"--oin-report={folder / 'reports'}",
            str(suites_dir()),
        ]
        proc = subprocess.run(
            cmd, cwd=folder, env=env, capture_output=True, text=True, timeout=300, check=False
        )
        if proc.returncode != 0 or not out.exists():
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
            raise CatalogueError(
                f"collecting the shipped suites failed (exit {proc.returncode}): "
                + " | ".join(tail)
            )
        checks: list[dict[str, Any]] = json.loads(out.read_text())
    return tuple(checks)


def pytest_collection_finish(session: pytest.Session) -> None:
    """In the catalogue subprocess: write every collected check's metadata."""
    out = os.environ.get(ENV_OUT)
    if not out:
        return
    from oin_conformance.runtime import META_KEY

    metas = [
        {k: v for k, v in item.stash[META_KEY].items() if k != "nodeid"}
        for item in session.items
        if META_KEY in item.stash
    ]
    Path(out).write_text(json.dumps(metas))


__all__ = [
    "CatalogueError",
    "all_checks",
    "matches",
    "nearest",
    "no_match_message",
    "unmatched",
]
