"""Shared helpers for the integration tests against real third-party software (SPEC §10
"Proof"): a free loopback port, a target file written from plain data, the IdP metadata and
OP settings an ISV would configure from, one plugin run of a suite, and what came out of
it — every check's outcome, the blocking failures and advisory findings, and a check →
outcome table to print.

Used by ``tests/real/test_apache.py`` (mod_auth_mellon, mod_auth_openidc), the tests of
the node.js apps, and ``tests/real/test_vulnerable.py`` (published vulnerable library versions
beside their fixes), which also start each program with :class:`Program`.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import PluginRun, run_plugin

#: The test user every real program signs in as.
TEST_USER = {
    "username": "ada@example.com",
    "email": "ada@example.com",
    "first_name": "Ada",
    "last_name": "Lovelace",
}
#: What a probe page shows for the signed-in user (the apps here all print this).
SIGNED_IN_AS = "Signed in as <b id='user'>{email}</b>"
#: Okta's profile attributes in a SAML assertion.
SAML_ATTRIBUTES = {"email": "{email}", "firstName": "{first_name}", "lastName": "{last_name}"}
UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"


def saml_section(audience: str) -> dict[str, TomlValue]:
    """The ``[saml]`` table the real SPs' targets share: SP- and IdP-initiated on /saml/*,
    NameID = the Okta user name, Okta's three attributes, both signed, and JIT (any user the
    IdP vouches for gets in, created at first sign-in)."""
    return {
        "acs_url": "/saml/acs",
        "audience": audience,
        "login_url": "/saml/login",
        "relay_state": "/me",
        "nameid_format": UNSPECIFIED,
        "nameid": "{username}",
        "attributes": SAML_ATTRIBUTES,
        "sign": "both",
        "jit": True,
    }


#: Outcomes that mean "the check found something" (schema v1 and v2 spellings).
FOUND = frozenset({"failed", "error", "advisory"})
#: Outcomes that mean "the check could not judge the app".
UNJUDGED = frozenset({"inconclusive"})

TomlValue = str | int | float | bool | list[Any] | Mapping[str, Any]


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports on 127.0.0.1 that nothing listens on right now (all held
    open while choosing, so no two are the same)."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    return free_ports(1)[0]


# -- programs under test --------------------------------------------------------------------


class Program:
    """A real program under test as a subprocess that serves HTTP on 127.0.0.1:``port``:
    started (``argv`` in ``cwd``, with ``env`` added to this process's environment), waited
    for until it listens, and stopped (SIGTERM, then SIGKILL). Its stdout and stderr are
    appended to ``log`` (O_APPEND, so a run's check marks can go in between)."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        port: int,
        log: Path,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        startup: float = 30,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.port = port
        self.log = log
        self.cwd = cwd
        self.env = {**os.environ, **(env or {})}
        self.startup = startup
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Program:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + self.startup
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"{self.name} exited with {self.proc.returncode}:\n{self.log_text()}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError(
            f"{self.name} did not listen on 127.0.0.1:{self.port} within {self.startup:g} s:\n"
            f"{self.log_text()}"
        )

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


# -- target files ----------------------------------------------------------------------------


def _toml_value(value: TomlValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return "{ " + ", ".join(f"{_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def toml(sections: Mapping[str, Mapping[str, TomlValue]]) -> str:
    """TOML text for ``{"app": {...}, "app.test_user": {...}, ...}``: one table per key
    (dotted names are nested tables), nested mappings inside a table as inline tables."""
    out: list[str] = []
    for name, table in sections.items():
        out.append(f"[{name}]")
        out += [f"{_key(k)} = {_toml_value(v)}" for k, v in table.items()]
        out.append("")
    return "\n".join(out)


def write_target(
    folder: Path,
    *,
    name: str,
    base_url: str,
    probe_url: str,
    contains: str = SIGNED_IN_AS,
    state_dir: Path | None = None,
    timeout: float = 10,
    user: Mapping[str, str] = TEST_USER,
    sections: Mapping[str, Mapping[str, TomlValue]] | None = None,
) -> Path:
    """Write ``folder/target.toml`` for an app at ``base_url`` and return its path.

    ``sections`` are the protocol tables by name, a nested table under its dotted name:
    ``{"oidc": {...}, "oidc.provider": {"port": 8765}}``. The state folder (the IdP and OP
    keys the app was configured with) defaults to ``folder/state``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    tables: dict[str, Mapping[str, TomlValue]] = {
        "app": {"name": name, "base_url": base_url},
        "app.test_user": dict(user),
        "app.signed_in": {"url": probe_url, "status": 200, "contains": contains},
        "harness": {"timeout": timeout, "state_dir": str(state_dir or folder / "state")},
        **(sections or {}),
    }
    path = folder / "target.toml"
    path.write_text(f"# {name}: written by tests/real for one integration run.\n" + toml(tables))
    return path


def _cli(command: str, target: Path) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "oin_conformance.cli", command, "--target", str(target)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if proc.returncode != 0:
        raise AssertionError(f"oin-conformance {command} failed: {proc.stderr.strip()}")
    return proc.stdout


def idp_metadata(target: Path) -> str:
    """The IdP metadata XML an ISV configures the SP with (``oin-conformance idp-metadata``);
    its signing key is created in the target's state folder if needed."""
    return _cli("idp-metadata", target)


def op_info(target: Path) -> str:
    """What ``oin-conformance op-info`` tells the ISV to configure."""
    return _cli("op-info", target)


# -- one run ---------------------------------------------------------------------------------

#: A pytest plugin loaded into the plugin run (``-p``) when the program's log is to be split
#: per check: before each check it appends ``CHECK_MARK <check id>`` to that log file (the
#: program appends to it too; both write whole lines in O_APPEND mode, and the checks run
#: one after another).
CHECK_MARK = "[oin-conformance check]"
_MARKER_MODULE = "oin_real_check_marks"
_MARKER_SOURCE = f"""\
import os
from pathlib import Path

import pytest

LOG = os.environ["OIN_REAL_CHECK_LOG"]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    name = getattr(item, "originalname", item.name).removeprefix("test_")
    callspec = getattr(item, "callspec", None)
    check = f"{{Path(str(item.path)).parent.name}}.{{name}}"
    if callspec is not None:
        check += f"[{{callspec.id}}]"
    with open(LOG, "a") as log:
        log.write(f"{CHECK_MARK} {{check}}\\n")
"""


def split_log(text: str) -> dict[str, list[str]]:
    """A log marked by ``run_suite(check_log=...)``: check id -> the lines written while
    that check ran."""
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith(CHECK_MARK):
            current = out.setdefault(line[len(CHECK_MARK) :].strip(), [])
        elif current is not None:
            current.append(line)
    return out


@dataclass
class SuiteRun:
    """One plugin run against a real program and what it concluded."""

    program: str
    run: PluginRun

    @property
    def readiness(self) -> dict[str, Any]:
        return self.run.readiness

    @property
    def checks(self) -> list[dict[str, Any]]:
        checks: list[dict[str, Any]] = self.readiness["checks"]
        return checks

    @property
    def outcomes(self) -> dict[str, str]:
        """check id -> outcome."""
        return {c["id"]: c["outcome"] for c in self.checks}

    def _with(self, severity: str, outcomes: frozenset[str]) -> set[str]:
        return {
            c["id"] for c in self.checks if c["severity"] == severity and c["outcome"] in outcomes
        }

    @property
    def blocking_failures(self) -> set[str]:
        """Blocking checks that failed (or broke): each is a false failure on correct
        software, or a true finding to explain."""
        return self._with("blocking", FOUND)

    @property
    def advisories(self) -> set[str]:
        """Advisory checks that found something."""
        return self._with("advisory", FOUND)

    @property
    def inconclusive(self) -> set[str]:
        return {c["id"] for c in self.checks if c["outcome"] in UNJUDGED}

    def reason(self, check_id: str) -> str:
        """The first line of what a failing or inconclusive check saw (or why it skipped)."""
        check = next(c for c in self.checks if c["id"] == check_id)
        failure = check.get("failure") or {}
        text = (
            failure.get("title")
            or check.get("skip_reason")
            or check.get("message")
            or check.get("seen")
            or ""
        )
        return " ".join(str(text).split())

    def table(self, app_said: Mapping[str, str] | None = None) -> str:
        """The check → outcome table (Markdown): failures, skips and inconclusives with the
        harness's reason, and with ``app_said`` (check id -> text, e.g. the program's own
        log reason for refusing) a column of what the program said."""
        said = app_said is not None
        rows = [
            f"### {self.program}: exit {self.run.returncode}, "
            f"{len(self.blocking_failures)} blocking failed, "
            f"{len(self.inconclusive)} inconclusive, {len(self.advisories)} advisory findings",
            "",
            "| check | severity | outcome | why |" + (" the app's log |" if said else ""),
            "|---|---|---|---|" + ("---|" if said else ""),
        ]
        for c in sorted(self.checks, key=lambda c: c["id"]):
            why = self.reason(c["id"])[:160] if c["outcome"] != "passed" else ""
            row = f"| `{c['id']}` | {c['severity']} | {c['outcome']} | {why} |"
            if app_said is not None:
                row += f" {_cell(app_said.get(c['id'], ''))} |"
            rows.append(row)
        return "\n".join(rows) + "\n"

    def explain(self, app_said: Mapping[str, str] | None = None) -> str:
        """For an assertion message: the table and, per finding, what the check saw."""
        parts = [self.table(app_said)]
        for check_id in sorted(self.blocking_failures | self.inconclusive):
            check = next(c for c in self.checks if c["id"] == check_id)
            parts.append(f"--- {check_id} ({check['outcome']})\n{str(check.get('seen'))[:1500]}")
        if self.run.returncode not in (0, 1):
            parts.append(f"--- pytest stdout (tail)\n{self.run.stdout[-3000:]}")
            parts.append(f"--- pytest stderr (tail)\n{self.run.stderr[-3000:]}")
        return "\n".join(parts)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")[:200]


def run_suite(
    program: str,
    target: Path,
    markers: str,
    *args: str,
    check_log: Path | None = None,
    timeout: float = 600,
) -> SuiteRun:
    """Run the plugin's shipped suites selected by ``markers`` (``"saml or general"``)
    against ``target``, serially, in the target's folder (reports in ``reports/`` there).

    With ``check_log`` (a log file the program appends to), each check's start is marked
    in it; :func:`split_log` then gives what the program logged during each check.
    """
    env: dict[str, str] = {}
    if check_log is not None:
        (target.parent / f"{_MARKER_MODULE}.py").write_text(_MARKER_SOURCE)
        args = ("-p", _MARKER_MODULE, *args)
        env["OIN_REAL_CHECK_LOG"] = str(check_log)
    run = run_plugin(
        f"--oin-target={target}",
        "-m",
        markers,
        *args,
        cwd=target.parent,
        env=env,
        timeout=timeout,
    )
    if not (target.parent / "reports" / "readiness.json").is_file():
        raise AssertionError(
            f"{program}: the plugin wrote no readiness.json (exit {run.returncode})\n"
            f"{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
        )
    return SuiteRun(program, run)
