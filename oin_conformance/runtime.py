"""Everything the plugin does once a target is given: load it, pick the suites, run the
app in-process if asked, give each check its metadata, and wire up the reports.

Registered as a plugin object by :mod:`oin_conformance.plugin` only when a target is named.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import random
import secrets
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest

from oin_conformance import __version__
from oin_conformance.failures import CheckFailure
from oin_conformance.plugin import SEVERITIES
from oin_conformance.requirements import requirement
from oin_conformance.state import StateFolder
from oin_conformance.target import Target, TargetError, load
from oin_conformance.transcript import Redactor, Transcript

TRANSCRIPT_KEY = pytest.StashKey[Transcript]()


def suites_dir() -> Path:
    """Where the shipped suites are (site-packages for a wheel, the checkout for -e)."""
    spec = importlib.util.find_spec("oin_conformance.suites")
    if spec is None or not spec.submodule_search_locations:
        raise pytest.UsageError(
            "oin_conformance.suites is not installed; reinstall oin-conformance."
        )
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def is_worker(config: pytest.Config) -> bool:
    """True inside a pytest-xdist worker process."""
    return hasattr(config, "workerinput")


@dataclass
class RunContext:
    """What every check of one run shares."""

    target: Target
    seed: int
    run_id: str
    state: StateFolder
    redactor: Redactor
    app_url: str = ""
    #: Session-wide protocol roles (the OP server, the IdP identity, the SCIM ledger ...),
    #: created once per process by the role that owns them.
    services: dict[str, Any] = field(default_factory=dict)
    _closers: list[Callable[[], None]] = field(default_factory=list)

    def on_close(self, func: Callable[[], None]) -> None:
        """Run ``func`` when the session ends (servers stop, ledgers clean up)."""
        self._closers.append(func)

    def close(self) -> list[str]:
        """Run the closers, newest first; return what went wrong (never raises)."""
        problems: list[str] = []
        while self._closers:
            func = self._closers.pop()
            try:
                func()
            except Exception as exc:  # noqa: BLE001 - every closer must get its turn
                problems.append(f"{getattr(func, '__qualname__', func)}: {exc}")
        return problems

    @property
    def user(self) -> dict[str, str]:
        """The test user's fields (username, email, first_name, last_name)."""
        return self.target.app.test_user.fields()

    @property
    def timeout(self) -> float:
        return self.target.harness.timeout

    def url(self, value: str) -> str:
        """A configured URL; paths starting with '/' are relative to the app's base URL."""
        return urljoin(self.app_url + "/", value.lstrip("/")) if value.startswith("/") else value

    def transcript(self) -> Transcript:
        return Transcript(self.redactor)

    def rng(self, salt: str) -> random.Random:
        """A random generator derived from the run's seed (reproducible per check)."""
        return random.Random(f"{self.seed}:{salt}")  # noqa: S311 - reproducible, not secret


class OinRuntime:
    """The plugin object for a run with a target."""

    def __init__(self, config: pytest.Config, target: Target, suites: Path) -> None:
        self.config = config
        self.target = target
        self.suites = suites
        self.report_dir = Path(config.getoption("oin_report")).resolve()
        if is_worker(config):
            wi: dict[str, Any] = config.workerinput  # type: ignore[attr-defined]
            self.seed = int(wi["oin_seed"])
            self.run_id = str(wi["oin_run_id"])
        else:
            seed = config.getoption("oin_seed")
            self.seed = seed if seed is not None else random.SystemRandom().randrange(10**6)
            self.run_id = secrets.token_hex(3)
        self.notices: list[str] = []
        state_opt = config.getoption("oin_state")
        self.state = StateFolder(Path(state_opt).resolve() if state_opt else target.state_dir())
        self.context = RunContext(
            target=target,
            seed=self.seed,
            run_id=self.run_id,
            state=self.state,
            redactor=Redactor(target.secrets()),
        )

    @classmethod
    def start(cls, config: pytest.Config, path: Path) -> OinRuntime:
        try:
            target = load(path)
        except TargetError as exc:
            raise pytest.UsageError(str(exc)) from None
        suites = suites_dir()
        runtime = cls(config, target, suites)
        if config.args_source is not pytest.Config.ArgsSource.ARGS:
            config.args = [str(suites)]
        if not is_worker(config):
            if runtime.pinned_provider_port and getattr(config.option, "numprocesses", None):
                # A pinned provider port can be owned by one process only, and the OP keeps
                # per-check state in that process: the whole run stays in one process.
                # (xdist_group cannot express this under pytest 9.2: xdist renames node ids
                # through a private attribute pytest no longer reads.)
                config.option.numprocesses = 0
                runtime.notices.append(
                    "[oidc.provider] port is pinned, so this run does not use pytest-xdist "
                    "workers (one process must own the port); set port = 0 to run in parallel"
                )
            runtime.report_dir.mkdir(parents=True, exist_ok=True)
            if config.pluginmanager.hasplugin("html") and not config.getoption("htmlpath", None):
                config.option.htmlpath = str(runtime.report_dir / "readiness.html")
                config.option.self_contained_html = True
            if not config.getoption("xmlpath", None):
                config.option.xmlpath = str(runtime.report_dir / "junit.xml")
            from oin_conformance.report.readiness import ReadinessReport

            config.pluginmanager.register(ReadinessReport(runtime), "oin-readiness")
        config.pluginmanager.import_plugin("oin_conformance.session_fixtures")
        return runtime

    # -- xdist ---------------------------------------------------------------------------

    @property
    def pinned_provider_port(self) -> bool:
        """The target pins the OP's port: one process at a time may own it."""
        oidc = self.target.oidc
        return oidc is not None and oidc.provider.port != 0

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["oin_seed"] = self.seed
        node.workerinput["oin_run_id"] = self.run_id

    # -- collection ----------------------------------------------------------------------

    def _in_suites(self, path: Path) -> bool:
        return path.suffix == ".py" and self.suites in path.resolve().parents

    @pytest.hookimpl(tryfirst=True)
    def pytest_pycollect_makemodule(self, module_path: Path, parent: Any) -> Any:
        if self._in_suites(module_path):
            return SuiteModule.from_parent(parent, path=module_path)
        return None

    def pytest_collect_file(self, file_path: Path, parent: Any) -> Any:
        # Step in only where the host project's python_files would hide a suite module;
        # otherwise pytest's own collector (via pytest_pycollect_makemodule) takes it.
        if not (self._in_suites(file_path) and fnmatch.fnmatch(file_path.name, "test_*.py")):
            return None
        patterns = self.config.getini("python_files")
        if any(fnmatch.fnmatch(file_path.name, p) for p in patterns):
            return None
        return SuiteModule.from_parent(parent, path=file_path)

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        wanted: list[str] = config.getoption("oin_check")
        keep: list[pytest.Item] = []
        dropped: list[pytest.Item] = []
        for item in items:
            meta = check_meta(item, self.suites)
            if meta is None:
                keep.append(item)
                continue
            item.add_marker(meta["protocol"])
            item.stash[META_KEY] = meta
            if wanted and not any(fnmatch.fnmatchcase(meta["id"], w) for w in wanted):
                dropped.append(item)
            else:
                keep.append(item)
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = keep

    # -- reporting -----------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        meta = item.stash.get(META_KEY, None)
        if meta is None:
            return report
        info: dict[str, Any] = dict(meta)
        failure = call.excinfo.value if call.excinfo is not None else None
        if isinstance(failure, CheckFailure):
            redact = self.context.redactor.text
            fields = failure.as_dict()
            clean = CheckFailure(
                title=redact(fields["title"]),
                seen=redact(fields["seen"]),
                expected=redact(fields["expected"]),
                fix=redact(fields["fix"]),
            )
            info["failure"] = clean.as_dict()
            # One text for every format: terminal, JUnit, HTML and JSON.
            report.longrepr = clean.render()
        elif report.failed and report.longrepr is not None:
            info["message"] = self.context.redactor.text(str(report.longrepr))[-4000:]
            report.longrepr = self.context.redactor.text(str(report.longrepr))
        transcript = item.stash.get(TRANSCRIPT_KEY, None)
        if transcript is not None:
            info["transcript"] = transcript.as_list()
            info["notes"] = list(transcript.notes)
        report.oin = info  # type: ignore[attr-defined]
        return report

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        protocols = [p for p, on in self.target.protocols.items() if on] or ["none"]
        return [
            *(f"oin-conformance: {n}" for n in self.notices),
            f"oin-conformance {__version__}: target {self.target.path} "
            f"(sha256 {self.target.sha256[:12]}), seed {self.seed}, "
            f"protocols {', '.join(protocols)}, reports in {self.report_dir}",
        ]


META_KEY = pytest.StashKey[dict[str, Any]]()


class SuiteModule(pytest.Module):
    """A shipped suite module: test functions are found whatever the host's patterns say."""

    def funcnamefilter(self, name: str) -> bool:
        return name.startswith("test_")

    def classnamefilter(self, name: str) -> bool:
        return name.startswith("Test")


def check_meta(item: pytest.Item, suites: Path) -> dict[str, Any] | None:
    """The check's id, requirement, severity and protocol, or None for a non-suite test."""
    path = Path(str(item.path)).resolve()
    if suites not in path.parents:
        return None
    rel = path.relative_to(suites)
    protocol = rel.parts[0] if len(rel.parts) > 1 else "general"
    marker = item.get_closest_marker("oin")
    if marker is None:
        raise pytest.UsageError(f"{item.nodeid}: suite check without @pytest.mark.oin(...)")
    req_id = marker.kwargs.get("requirement") or (marker.args[0] if marker.args else "")
    severity = marker.kwargs.get("severity", "blocking")
    if severity not in SEVERITIES:
        raise pytest.UsageError(f"{item.nodeid}: severity must be one of {SEVERITIES}")
    req = requirement(req_id)
    func = getattr(item, "function", None)
    doc = (getattr(func, "__doc__", None) or item.name).strip()
    name = getattr(item, "originalname", item.name).removeprefix("test_")
    callspec = getattr(item, "callspec", None)
    check_id = f"{protocol}.{name}" + (f"[{callspec.id}]" if callspec is not None else "")
    module = ".".join(("oin_conformance", "suites", *rel.with_suffix("").parts))
    return {
        "id": check_id,
        "title": doc.splitlines()[0],
        "description": doc,
        "protocol": protocol,
        "severity": severity,
        "requirement": req_id,
        "requirement_title": req.title,
        "requirement_url": req.url,
        "module": module,
        "nodeid": item.nodeid,
    }


__all__ = ["OinRuntime", "RunContext", "check_meta", "suites_dir"]
