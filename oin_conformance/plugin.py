"""The pytest plugin: options, markers, and — only when a target is given — the run.

This module is loaded into every pytest run of an environment where oin-conformance is
installed, so it imports nothing heavy and changes nothing unless ``--oin-target`` (or the
``oin_target`` ini key, or ``OIN_TARGET``) names a target file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from oin_conformance.names import PROTOCOLS

ENV_TARGET = "OIN_TARGET"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("oin-conformance", "OIN conformance (act as Okta against an app)")
    group.addoption(
        "--oin-target",
        dest="oin_target",
        metavar="PATH",
        default=None,
        help="Target description (TOML) of the app to test. Precedence: this option, then "
        f"the oin_target ini key, then the {ENV_TARGET} environment variable. Without it the "
        "plugin does nothing.",
    )
    group.addoption(
        "--oin-report",
        dest="oin_report",
        metavar="DIR",
        default="reports",
        help="Folder for readiness.html, readiness.json and junit.xml (default: reports/).",
    )
    group.addoption(
        "--oin-seed",
        dest="oin_seed",
        metavar="N",
        type=int,
        default=None,
        help="Seed for generated names and values (default: random, printed in the header).",
    )
    group.addoption(
        "--oin-state",
        dest="oin_state",
        metavar="DIR",
        default=None,
        help="State folder for generated keys (default: [harness] state_dir beside the target).",
    )
    group.addoption(
        "--oin-check",
        dest="oin_check",
        metavar="ID",
        action="append",
        default=[],
        help="Run only the check with this id (repeatable). A known id is matched exactly "
        "(also a parametrized one: 'saml.refuses_hostile_response[xsw1]'); anything else is "
        "a glob with literal brackets, e.g. 'saml.refuses_*' or "
        "'saml.refuses_hostile_response[xsw*]'. A value that selects nothing is a usage "
        "error naming the nearest ids. List them: oin-conformance checks. Every report row "
        "prints its own re-run command.",
    )
    group.addoption(
        "--oin-compare",
        dest="oin_compare",
        metavar="FILE",
        default=None,
        help="A readiness.json to compare this run with (new failures, fixed ones, the ones "
        "still failing). Default: the last comparable run in the report folder's history/ "
        "(same target file; a full run, or the same selection).",
    )
    parser.addini("oin_target", "Target description (TOML) for oin-conformance.", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "oin(requirement, severity='blocking'): an OIN conformance check; requirement is an id "
        "from oin_conformance.requirements, severity is 'blocking' or 'advisory'. Example: "
        "@pytest.mark.oin(requirement='SAML-SIGNATURE', severity='blocking')",
    )
    config.addinivalue_line(
        "markers",
        "submission_tester(case): the check rehearses a test case of Okta's OIN Submission "
        "Tester: 'idp_flow', 'sp_flow', 'jit_idp_flow' or 'jit_sp_flow'. Run them all with "
        "-m submission_tester. Example: @pytest.mark.submission_tester('idp_flow')",
    )
    for protocol in PROTOCOLS:
        config.addinivalue_line(
            "markers", f"{protocol}: OIN conformance checks of the {protocol} suite (-m {protocol})"
        )


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """Load the target before pytest configures its plugins (html, junitxml, xdist)."""
    found = target_source(config)
    if found is None:
        return
    path, source = found
    if config.option.help or config.option.version:
        # --help and --version never run checks; they must work with a broken target.
        return
    if source != "option" and not asks_for_suites(config):
        # An exported OIN_TARGET (or an oin_target ini key) must not hijack a project that
        # names its own tests (test paths or testpaths): the plugin stays inactive there.
        return
    from oin_conformance.runtime import OinRuntime

    named_by = {"option": "--oin-target", "ini": "oin_target (ini)", "env": ENV_TARGET}[source]
    runtime = OinRuntime.start(config, Path(path), named_by)
    config.pluginmanager.register(runtime, "oin-runtime")


def target_path(config: pytest.Config) -> str | None:
    """The target file named by the option, the ini key or the environment, if any."""
    found = target_source(config)
    return found[0] if found else None


def target_source(config: pytest.Config) -> tuple[str, str] | None:
    """The target file and where it was named: "option", "ini" or "env"."""
    value = config.getoption("oin_target", None)
    if value:
        return str(value), "option"
    value = config.getini("oin_target")
    if value:
        return str(value), "ini"
    value = os.environ.get(ENV_TARGET, "")
    return (value, "env") if value else None


def asks_for_suites(config: pytest.Config) -> bool:
    """Whether a run whose target came from the ini key or the environment is an OIN run.

    It is when pytest was given no test paths and no ``testpaths`` are configured (the
    suites are then collected instead of the invocation folder), or when a test path lies
    in the shipped suites. A project that names its own tests (arguments or ``testpaths``,
    also ``pytest .``) runs them alone: the exported target is ignored.
    """
    if config.args_source is pytest.Config.ArgsSource.INVOCATION_DIR:
        return True
    import importlib.util

    spec = importlib.util.find_spec("oin_conformance.suites")
    if spec is None or not spec.submodule_search_locations:
        return False
    suites = Path(next(iter(spec.submodule_search_locations))).resolve()
    base = Path(config.invocation_params.dir)
    for arg in config.args:
        path = (base / arg.split("::", 1)[0]).resolve()
        if path == suites or suites in path.parents:
            return True
    return False
