"""Everything the plugin does once a target is given: load it, pick the suites, run the
app in-process if asked, give each check its metadata, and wire up the reports.

Registered as a plugin object by :mod:`oin_conformance.plugin` only when a target is named.
"""

from __future__ import annotations

import contextlib
import fnmatch
import importlib.util
import random
import secrets
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urljoin

import pytest

from oin_conformance import __version__, catalogue, interrupts
from oin_conformance.advisories import advisories
from oin_conformance.failures import CheckFailure, Inconclusive
from oin_conformance.names import SEVERITIES
from oin_conformance.report import history, submission_tester
from oin_conformance.report.history import Selection
from oin_conformance.requirements import requirement
from oin_conformance.roles.browser import BrowserError
from oin_conformance.state import StateFolder
from oin_conformance.target import Target, TargetError, load
from oin_conformance.transcript import Redactor, Transcript

TRANSCRIPT_KEY = pytest.StashKey[Transcript]()
_S = TypeVar("_S")


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
    #: Origins probed once per process: origin -> why it could not be reached (or None).
    reachability: dict[str, str | None] = field(default_factory=dict)
    _closers: list[Callable[[], None]] = field(default_factory=list)
    _last_closers: list[Callable[[], None]] = field(default_factory=list)
    _shared: dict[type, object] = field(default_factory=dict)

    def shared(self, kind: type[_S], make: Callable[[], _S]) -> _S:
        """The process's one object of ``kind`` (an IdP, a provider, a SCIM session),
        made by ``make`` the first time it is asked for."""
        found = self._shared.get(kind)
        if isinstance(found, kind):
            return found
        made = make()
        self._shared[kind] = made
        return made

    def on_close(self, func: Callable[[], None], *, last: bool = False) -> None:
        """Run ``func`` when the session ends (servers stop, ledgers clean up). ``last``:
        after every other closer (the in-process app, which the SCIM session's final
        cleanup still talks to, whenever that session was made)."""
        (self._last_closers if last else self._closers).append(func)

    def close(self) -> list[str]:
        """Run the closers, newest first, then the ``last`` ones; return what went wrong
        (never raises)."""
        problems: list[str] = []
        while self._closers or self._last_closers:
            func = (self._closers or self._last_closers).pop()
            try:
                func()
            except Exception as exc:  # noqa: BLE001 - every closer must get its turn
                problems.append(f"{getattr(func, '__qualname__', func)}: {exc}")
        return problems

    @property
    def user(self) -> dict[str, str]:
        """The test user's fields (username, email, first_name, last_name).

        Only [saml] and [oidc] sign in, and a target with either must name a test user
        (:func:`oin_conformance.target.load` checks it); a SCIM-only target needs none."""
        user = self.target.app.test_user
        if user is None:
            raise RuntimeError(f"{self.target.path}: [app.test_user] is needed to sign in; add it")
        return user.fields()

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
        #: --oin-report (the history lives here) and where this run writes its reports:
        #: the same folder, or its partial/ subfolder for a partial run (report/history.py).
        self.report_root = Path(config.getoption("oin_report")).resolve()
        self.report_dir = self.report_root
        #: What narrowed this run's checks (set with the writers), and --oin-compare.
        self.selection = Selection()
        compare = config.getoption("oin_compare", None)
        self.compare_with: Path | None = Path(compare).resolve() if compare else None
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
        #: ``[app] serve``: the imported WSGI app (or factory), imported at start-up.
        self.serve_object: Any = None
        #: Every suite check this process collected (node id -> metadata), before any
        #: deselection, and the node ids deselected (-m, -k, --oin-check, --deselect ...).
        self.collected: dict[str, dict[str, Any]] = {}
        self.deselected: set[str] = set()
        #: The command line named suite paths or node ids that leave some suites out.
        self.narrowed = False
        #: Report files this runtime pointed pytest's writers at (none for --collect-only).
        self.own_writers: dict[str, Path] = {}
        #: This run created the report folder (removed again, if empty, when no report
        #: is written).
        self.created_report_dir = False
        #: What pytest_unconfigure undoes (the run's Ctrl-C handler).
        self._on_unconfigure = contextlib.ExitStack()

    @classmethod
    def start(cls, config: pytest.Config, path: Path, named_by: str = "--oin-target") -> OinRuntime:
        """``named_by``: how the target was given (the flag, ini key or variable), which
        every message about the file names."""
        try:
            target = load(path)
        except TargetError as exc:
            # One ERROR: line per mistake in the file, each naming how it was given.
            raise pytest.UsageError(*(f"{named_by} {p}" for p in exc.problems)) from None
        suites = suites_dir()
        runtime = cls(config, target, suites)
        if config.args_source is not pytest.Config.ArgsSource.ARGS:
            config.args = [str(suites)]
        else:
            runtime.narrowed = not covers(config, suites)
        runtime.serve_object = import_served_app(target)
        if not is_worker(config):
            if runtime.pinned_provider_port and uses_xdist(config):
                # A pinned provider port can be owned by one process only, and the OP keeps
                # per-check state in that process: the whole run stays in one process.
                # (xdist_group cannot express this under pytest 9.2: xdist renames node ids
                # through a private attribute pytest no longer reads.)
                runtime.one_process(
                    "[oidc.provider] port is pinned, so this run does not use pytest-xdist "
                    "workers (one process must own the port); set port = 0 to run in parallel"
                )
            elif uses_xdist(config) and runtime.logout_ends_shared_sessions(config):
                # Okta's Universal Logout request ends *every* session of the test user in
                # the app. Workers share an app given by base_url (each worker serves its own
                # with `serve`): a logout in one would end another's sign-in between its
                # sign-in and its probe, failing a genuine sign-in or passing a forgery it
                # accepted. The run stays in one process.
                runtime.one_process(
                    "[universal_logout] ends the test user's sessions in the app the workers "
                    "would share, so this run does not use pytest-xdist workers; run "
                    "-m 'not universal_logout' in parallel and -m universal_logout alone"
                )
            wanted: list[str] = config.getoption("oin_check")
            if wanted and uses_xdist(config):
                # The controller does not collect under xdist: check the selection against
                # the catalogue here, before any worker starts (a worker cannot stop a run
                # cleanly with a usage error).
                ids, problem = runtime.shipped_check_ids()
                if problem:
                    raise pytest.UsageError(problem)
                missing = catalogue.unmatched(wanted, ids)
                if missing:
                    raise pytest.UsageError(catalogue.no_match_message(missing, ids, "shipped"))
            if not config.option.collectonly:
                # --collect-only runs no check: it writes no report at all.
                runtime.configure_writers()
        config.pluginmanager.import_plugin("oin_conformance.session_fixtures")
        return runtime

    def shipped_check_ids(self) -> tuple[list[str], str]:
        """Every shipped check id (the catalogue), or ([], why it could not be read)."""
        try:
            return [str(c["id"]) for c in catalogue.all_checks()], ""
        except catalogue.CatalogueError as exc:
            return [], str(exc)

    def requirement_catalogue(self) -> dict[str, list[dict[str, str]]]:
        """Every OIN requirement (id, title, url) by protocol, in catalogue order: the rows
        of the report's requirement matrix (``requirements/<protocol>.py``; the rest are
        general)."""
        import importlib

        from oin_conformance import requirements

        requirement("GEN-REACHABLE")  # loads every protocol's catalogue
        out: dict[str, list[dict[str, str]]] = {}
        placed: set[str] = set()
        for name in requirements.PROTOCOL_MODULES:
            module = importlib.import_module(f"{requirements.__name__}.{name}")
            out[name] = [{"id": r.id, "title": r.title, "url": r.url} for r in module.REQUIREMENTS]
            placed.update(r.id for r in module.REQUIREMENTS)
        general = [
            {"id": r.id, "title": r.title, "url": r.url}
            for r in requirements.REQUIREMENTS.values()
            if r.id not in placed
        ]
        return {"general": general, **out}

    def configure_writers(self) -> None:
        """Point pytest-html and junitxml at the report folder; register the readiness."""
        config = self.config
        self.selection = history.selection_of(config, self.narrowed)
        if not self.selection.full and history.holds_full_report(self.report_root):
            # A partial run never overwrites the last full report: it writes beside it.
            self.report_dir = self.report_root / history.PARTIAL_DIR
        if self.compare_with is not None:
            try:
                history.load_report(self.compare_with)
            except ValueError as exc:
                raise pytest.UsageError(
                    f"--oin-compare={config.getoption('oin_compare')}: {exc}. Fix: name the "
                    "readiness.json of an earlier run"
                ) from None
        self.ensure_report_dir()
        if config.pluginmanager.hasplugin("html") and not config.getoption("htmlpath", None):
            config.option.htmlpath = str(self.report_dir / "readiness.html")
            config.option.self_contained_html = True
            self.own_writers["html"] = self.report_dir / "readiness.html"
        if not config.getoption("xmlpath", None):
            config.option.xmlpath = str(self.report_dir / "junit.xml")
            self.own_writers["junit"] = self.report_dir / "junit.xml"
        from oin_conformance.report.readiness import ReadinessReport

        config.pluginmanager.register(ReadinessReport(self), "oin-readiness")

    def ensure_report_dir(self) -> None:
        """Create the report folder now, or stop the run with one usage error (exit 4)
        before any check: a report that cannot be written is known at the start."""
        folder = self.report_dir
        missing = not folder.exists()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if not folder.is_dir():
                raise NotADirectoryError(20, "not a directory")
            probe = folder / f".oin-write-test-{self.run_id}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise pytest.UsageError(
                f"--oin-report={self.config.getoption('oin_report')}: cannot write the "
                f"reports in {folder} ({exc.strerror or exc}). Fix: pass a folder you can "
                "create and write, e.g. --oin-report=reports"
            ) from None
        self.created_report_dir = missing

    def abandon_writers(self) -> None:
        """A usage error once the writers were configured, or a run with no OIN check: none
        of them writes a report (a stale report from an earlier run is left as it was; a
        report folder this run created is removed again while empty)."""
        pm = self.config.pluginmanager
        if self.created_report_dir:
            try:
                self.report_dir.rmdir()  # only if still empty
            except OSError:
                pass
        readiness = pm.get_plugin("oin-readiness")
        if readiness is not None:
            pm.unregister(readiness)
        if "junit" in self.own_writers:
            from _pytest.junitxml import xml_key

            xml = self.config.stash.get(xml_key, None)
            if xml is not None:
                del self.config.stash[xml_key]
                pm.unregister(xml)
        if "html" in self.own_writers:
            try:
                from pytest_html.basereport import BaseReport  # type: ignore[import-untyped]
            except ImportError:  # pragma: no cover - pytest-html is a dependency
                return
            for plugin in pm.get_plugins():
                if isinstance(plugin, BaseReport):
                    pm.unregister(plugin)

    # -- xdist ---------------------------------------------------------------------------

    @property
    def pinned_provider_port(self) -> bool:
        """The target pins the OP's port: one process at a time may own it."""
        oidc = self.target.oidc
        return oidc is not None and oidc.provider.port != 0

    def one_process(self, why: str) -> None:
        """Run without pytest-xdist workers (``-n``/``--tx`` undone), saying ``why`` in the
        header."""
        self.config.option.numprocesses = 0
        self.notices.append(why)

    def logout_ends_shared_sessions(self, config: pytest.Config) -> bool:
        """Universal Logout checks may run, and against an app every worker shares (not one
        each worker serves itself): ``-m`` and ``--oin-check`` are read, ``-k`` is not."""
        if self.target.universal_logout is None or self.target.app.serve:
            return False
        wanted: list[str] = config.getoption("oin_check")
        if wanted and not any(w.startswith("universal_logout.") for w in wanted):
            return False
        markexpr = str(config.getoption("markexpr", "") or "")
        if markexpr:
            from _pytest.mark.expression import Expression

            try:
                return bool(Expression.compile(markexpr).evaluate(_ul_marks))
            except Exception:  # noqa: BLE001 - pytest reports a bad -m itself
                return True
        return True

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["oin_seed"] = self.seed
        node.workerinput["oin_run_id"] = self.run_id

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, object, object]:
        # Under xdist the SCIM data-safety check is decided on the controller, once every
        # worker has finished: it reads every worker's journal (wiring/scim_workers.py).
        dsession = self.config.pluginmanager.get_plugin("dsession")
        if dsession is None or is_worker(self.config) or self.target.scim is None:
            return (yield)
        from oin_conformance.wiring.scim_workers import across_workers

        with across_workers(self, dsession):
            return (yield)

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # Ctrl-C never strands a lock the cleanup and the report still need (interrupts.py),
        # in every process that runs checks (not in pytest-xdist's controller, which runs
        # none and waits on its workers' events: there pytest-xdist handles Ctrl-C itself).
        if uses_xdist(self.config) and not is_worker(self.config):
            return
        self._on_unconfigure.enter_context(interrupts.safe_ctrl_c())

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self._on_unconfigure.close()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> Generator[None, object, object]:
        try:
            result = yield
        except KeyboardInterrupt:
            interrupts.answered()
            raise
        if interrupts.unanswered():
            # The interrupt was raised where Python ignores exceptions (a __del__ method, a
            # garbage collector's callback) and the check went on: the run stops here.
            interrupts.answered()
            raise KeyboardInterrupt(
                "interrupted (the signal reached a part of the check that ignores it)"
            )
        return result

    @pytest.hookimpl(tryfirst=True)
    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        interrupts.answered()
        readable_interrupt(excinfo)

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

    @pytest.hookimpl(tryfirst=True)  # before -m / -k deselect: every collected check seen
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        wanted: list[str] = config.getoption("oin_check")
        checks: list[tuple[pytest.Item, dict[str, Any]]] = []
        for item in items:
            meta = check_meta(item, self.suites)
            if meta is None:
                continue
            item.add_marker(meta["protocol"])
            item.stash[META_KEY] = meta
            self.collected[item.nodeid] = meta
            checks.append((item, meta))
        if not wanted:
            return
        known = frozenset(str(m["id"]) for _, m in checks)
        missing = catalogue.unmatched(wanted, known)
        if missing and not is_worker(config):
            # On a worker the controller has already checked the selection (catalogue).
            self.abandon_writers()
            raise pytest.UsageError(
                catalogue.no_match_message(missing, known, "in this run's collection")
            )
        dropped = [
            item
            for item, m in checks
            if not any(catalogue.matches(w, m["id"], known) for w in wanted)
        ]
        if dropped:
            gone = {id(item) for item in dropped}
            config.hook.pytest_deselected(items=dropped)
            items[:] = [item for item in items if id(item) not in gone]

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.deselected.update(item.nodeid for item in items if META_KEY in item.stash)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if not is_worker(self.config) and not uses_xdist(self.config):
            if not any(META_KEY in item.stash for item in session.items):
                # A run that runs no OIN check (only the project's own tests, or a
                # selection that left no check) writes no report. (Under xdist the
                # controller does not collect; such a run still writes one.)
                self.abandon_writers()
        if is_worker(self.config):
            # The controller learns what was collected and deselected from the workers.
            out: dict[str, Any] = self.config.workeroutput  # type: ignore[attr-defined]
            out["oin_collection"] = {
                "checks": self.collected,
                "deselected": sorted(self.deselected),
            }

    # -- running -------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> None:
        # A typed outcome raised while the check was set up (a fixture found the app
        # unreachable, or could not judge) is the check's own outcome: it is raised here,
        # in the call phase, so that every report format shows it as the check's result
        # (a JUnit failure, not an "error in setup").
        deferred = item.stash.get(DEFERRED_KEY, None)
        if deferred is not None:
            del item.stash[DEFERRED_KEY]
            raise deferred

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        # Captured output (an in-process app that prints a header it was sent, a log line)
        # ends up in the terminal, the HTML and JUnit: redact it like everything else.
        redact = self.context.redactor.text
        report.sections = [(title, redact(content)) for title, content in report.sections]
        meta = item.stash.get(META_KEY, None)
        if meta is None:
            return report
        info: dict[str, Any] = dict(meta)
        exc = call.excinfo.value if call.excinfo is not None else None
        failure = typed_failure(exc) if report.failed else None
        if failure is not None:
            clean = self.redacted(failure)
            if report.when == "setup":
                item.stash[DEFERRED_KEY] = clean
                report.outcome = "passed"
                report.longrepr = None
                outcome = "passed"
            else:
                info["failure"] = clean.as_dict()
                # One text for every format: terminal, JUnit, HTML and JSON.
                report.longrepr = clean.render()
                outcome = "inconclusive" if isinstance(clean, Inconclusive) else "failed"
        elif report.failed:
            text = self.context.redactor.text(str(report.longrepr))
            info["message"] = text[-4000:]
            report.longrepr = text
            outcome = "failed" if report.when == "call" else "error"
        else:
            outcome = report.outcome
        info["outcome"] = outcome
        if failure is not None and meta["severity"] == "advisory" and report.failed:
            # An advisory finding is reported (terminal, HTML, JSON, a JUnit property) but
            # is not a test failure: it never fails the run.
            report.outcome = "passed"
        self._junit_properties(item, report, meta, outcome, info)
        transcript = item.stash.get(TRANSCRIPT_KEY, None)
        if transcript is not None:
            info["transcript"] = transcript.as_list()
            info["notes"] = list(transcript.notes)
        report.oin = info  # type: ignore[attr-defined]
        return report

    def redacted(self, failure: CheckFailure) -> CheckFailure:
        """The failure with every secret redacted from its fields (same type)."""
        redact = self.context.redactor.text
        fields = failure.as_dict()
        return type(failure)(
            title=redact(fields["title"]),
            seen=redact(fields["seen"]),
            expected=redact(fields["expected"]),
            fix=redact(fields["fix"]),
        )

    def _junit_properties(
        self,
        item: pytest.Item,
        report: pytest.TestReport,
        meta: dict[str, Any],
        outcome: str,
        info: dict[str, Any],
    ) -> None:
        """Check id, severity and requirement on every JUnit testcase; its OIN outcome too."""
        if report.when == "setup" and not any(k == "check_id" for k, _ in item.user_properties):
            item.user_properties.extend(
                [
                    ("check_id", meta["id"]),
                    ("severity", meta["severity"]),
                    ("requirement", meta["requirement"]),
                    *(("advisory_id", ref["id"]) for ref in meta.get("references", [])),
                ]
            )
        seen = item.stash.get(OUTCOME_KEY, "passed")
        if seen in ("passed", "skipped") and outcome != "passed":
            item.stash[OUTCOME_KEY] = seen = outcome
        if info.get("failure"):
            item.stash[TITLE_KEY] = str(info["failure"]["title"])
        if report.when != "teardown":
            return
        report.user_properties.append(("outcome", seen))
        if meta["severity"] == "advisory" and seen in ("failed", "inconclusive"):
            what = "advisory finding" if seen == "failed" else "advisory check, inconclusive"
            title = item.stash.get(TITLE_KEY, "")
            report.user_properties.append(
                ("advisory", f"{what} (reported, does not fail the run): {title}")
            )

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_teststatus(
        self, report: pytest.TestReport, config: pytest.Config
    ) -> tuple[str, str, str | tuple[str, dict[str, bool]]] | None:
        info = getattr(report, "oin", None)
        if not isinstance(info, dict):
            return None
        outcome = info.get("outcome")
        advisory = info.get("severity") == "advisory"
        if outcome == "inconclusive":
            word = "INCONCLUSIVE (advisory)" if advisory else "INCONCLUSIVE"
            return "inconclusive", "I", (word, {"yellow": True})
        if outcome == "failed" and advisory and report.passed:
            return "advisory", "A", ("ADVISORY", {"yellow": True})
        return None

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        protocols = [p for p, on in self.target.protocols.items() if on] or ["none"]
        return [
            *(f"oin-conformance: {n}" for n in self.notices),
            f"oin-conformance {__version__}: target {self.target.path} "
            f"(sha256 {self.target.sha256[:12]}), seed {self.seed}, "
            f"protocols {', '.join(protocols)}, reports in {self.report_dir}",
        ]


def typed_failure(exc: BaseException | None) -> CheckFailure | None:
    """The check's typed outcome: a CheckFailure (or Inconclusive) as raised, or a browser
    that could not reach the app, which means the check could not judge it."""
    if isinstance(exc, CheckFailure):
        return exc
    if isinstance(exc, BrowserError):
        text = str(exc)
        unreachable = " failed: " in text
        return Inconclusive(
            title="The app could not be reached"
            if unreachable
            else "The browser could not complete the app's flow",
            seen=("the app could not be reached: " if unreachable else "") + text,
            expected="an HTTP answer from the app on every step of the check",
            fix="Make sure the app is running and answers at the configured URLs (see "
            "general.app_is_reachable), then re-run this check.",
        )
    return None


def _ul_marks(name: str, /, **kwargs: str | int | bool | None) -> bool:
    """The markers a Universal Logout check carries, for evaluating ``-m``."""
    return name in ("universal_logout", "oin")


def uses_xdist(config: pytest.Config) -> bool:
    """pytest-xdist workers were asked for (-n N, --tx)."""
    return bool(getattr(config.option, "numprocesses", None) or getattr(config.option, "tx", None))


def covers(config: pytest.Config, suites: Path) -> bool:
    """Whether the command line's paths include the whole suites folder."""
    base = Path(config.invocation_params.dir)
    for arg in config.args:
        if "::" in arg:
            continue
        path = (base / arg).resolve()
        if path == suites or path in suites.parents:
            return True
    return False


def import_served_app(target: Target) -> Any:
    """Import ``[app] serve`` (at start-up: a name that does not import is a usage error,
    exit status 4, before any check runs). A factory is only called when the run starts."""
    app = target.app
    if not app.serve:
        return None
    from oin_conformance.roles.serve import ServeError, import_object

    base = target.path.parent
    paths = [str((base / p).resolve()) for p in app.pythonpath] or [str(base)]
    try:
        obj = import_object(app.serve, paths)
    except ServeError as exc:
        reason = Redactor(target.secrets()).text(str(exc)).replace("\n", " ")
        raise pytest.UsageError(
            f"{target.path}: [app] serve = {app.serve!r}: {reason}. Fix: make the module "
            "importable from [app] pythonpath (folders relative to the target file) and "
            "name a WSGI app, or an app factory with serve_factory = true."
        ) from None
    if not callable(obj):
        raise pytest.UsageError(
            f"{target.path}: [app] serve = {app.serve!r} is a {type(obj).__name__}, not a "
            "WSGI app or factory. Fix: name the WSGI callable (module:attribute)."
        )
    return obj


META_KEY = pytest.StashKey[dict[str, Any]]()
#: A typed failure raised while a check was set up, raised again in its call phase.
DEFERRED_KEY = pytest.StashKey[CheckFailure]()
#: The check's outcome so far and its failure title (for the JUnit properties).
OUTCOME_KEY = pytest.StashKey[str]()
TITLE_KEY = pytest.StashKey[str]()


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
    try:
        refs = advisories(marker.kwargs.get("references", ()))
    except ValueError as exc:
        raise pytest.UsageError(f"{item.nodeid}: {exc}") from None
    tester = item.get_closest_marker(submission_tester.MARKER)
    try:
        case = submission_tester.case_of(tester.args, tester.kwargs) if tester else None
    except ValueError as exc:
        raise pytest.UsageError(f"{item.nodeid}: {exc}") from None
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
        "references": [a.as_dict() for a in refs],
        "module": module,
        "nodeid": item.nodeid,
        submission_tester.MARKER: case,
    }


def readable_interrupt(excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    """Drop the traceback entries that have no line number from an interrupt's traceback.

    Ctrl-C and SIGTERM (which the SCIM wiring turns into a KeyboardInterrupt so cleanup
    runs) arrive between any two bytecodes. CPython 3.11+ gives some of them no line number
    (``tb_lineno`` is None), and pytest's report of the interrupt then fails with a
    TypeError: the run ends with an internal error and exit code 1 instead of "interrupted"
    and 2. Such an entry has no source line to show, so nothing is lost by leaving it out.
    """
    kept = []
    for entry in excinfo.traceback:
        try:
            entry.lineno  # noqa: B018 - the property fails on a missing line number
        except TypeError:
            continue
        kept.append(entry)
    if len(kept) != len(excinfo.traceback):
        excinfo.traceback = type(excinfo.traceback)(kept)


__all__ = ["OinRuntime", "RunContext", "check_meta", "suites_dir"]
