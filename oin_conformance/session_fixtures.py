"""Fixtures every suite may use; registered only when a target is given.

Protocol-specific fixtures live in each suite's ``conftest.py``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import TypeVar
from urllib.parse import urlsplit

import pytest

from oin_conformance.failures import inconclusive
from oin_conformance.roles.browser import Browser, BrowserError
from oin_conformance.roles.serve import ServedApp, ServeError
from oin_conformance.runtime import META_KEY, TRANSCRIPT_KEY, OinRuntime, RunContext
from oin_conformance.target import Target
from oin_conformance.transcript import Redactor, Transcript

_Section = TypeVar("_Section")


def configured_section(section: _Section | None, name: str) -> _Section:
    """A protocol's section of the target, or skip the check: not configured is not failed."""
    if section is None:
        pytest.skip(f"{name.upper()} not configured: the target has no [{name}] section")
    return section


def _runtime(config: pytest.Config) -> OinRuntime:
    runtime = config.pluginmanager.get_plugin("oin-runtime")
    assert isinstance(runtime, OinRuntime)
    return runtime


@pytest.fixture(scope="session")
def oin_target(pytestconfig: pytest.Config) -> Target:
    """The validated target description."""
    return _runtime(pytestconfig).target


@pytest.fixture(scope="session")
def oin_run(pytestconfig: pytest.Config) -> Iterator[RunContext]:
    """The run's shared context, with the app started in-process if the target says so."""
    runtime = _runtime(pytestconfig)
    ctx = runtime.context
    app = ctx.target.app
    if app.serve:
        # Imported when the run started (an import error is a usage error, exit 4); a
        # factory is called here because it needs the roles' settings (keys, OP issuer)
        # that harness_info starts: a factory that raises is one error per check.
        obj = runtime.serve_object
        try:
            wsgi = obj(harness_info(ctx), dict(app.serve_options)) if app.serve_factory else obj
            served = ServedApp(wsgi)
        except Exception as exc:  # noqa: BLE001 - whatever the app's code raises, say so once
            ctx.close()
            reason = str(exc) if isinstance(exc, ServeError) else f"{type(exc).__name__}: {exc}"
            pytest.fail(
                f"[app] serve = {app.serve!r} could not start the app: {ctx.redactor.text(reason)}",
                pytrace=False,
            )
        ctx.app_url = served.url
        # Stopped after every other closer: the SCIM session (made by harness_info above,
        # so registered earlier) still cleans up against the app at the session end.
        ctx.on_close(served.stop, last=True)
    else:
        assert app.base_url is not None
        ctx.app_url = app.base_url.rstrip("/")
    yield ctx
    for problem in ctx.close():
        # Shown in pytest's warnings summary; roles that clean up (the SCIM ledger) also
        # report what they left behind as a check finding of their own.
        warnings.warn(f"oin-conformance: at the end of the run: {problem}", stacklevel=1)


#: For each protocol, the module (its run wiring, or a role not yet split) whose
#: ``harness_info(ctx) -> dict`` prepares what an
#: ISV configures once in their app (IdP metadata, OP issuer and client, SCIM credentials),
#: starting any server the role needs before the app starts.
HARNESS_INFO = {
    "saml": "oin_conformance.wiring.saml",
    "oidc": "oin_conformance.wiring.oidc",
    "scim": "oin_conformance.wiring.scim",
    "universal_logout": "oin_conformance.wiring.universal_logout",
}


def harness_info(ctx: RunContext) -> dict[str, object]:
    """What an in-process app factory is told about the harness (keys, URLs, secrets)."""
    import importlib

    info: dict[str, object] = {"target": ctx.target, "state_dir": str(ctx.state.path)}
    for protocol, module_name in HARNESS_INFO.items():
        if not ctx.target.protocols[protocol]:
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        info[protocol] = module.harness_info(ctx)
    return info


#: Protocol checks that cannot judge anything when the app cannot be reached: they are
#: inconclusive, and general.app_is_reachable is the one check that fails.
GATED = ("saml", "oidc", "scim", "universal_logout")


def protocol_url(target: Target, protocol: str) -> str | None:
    """The URL a protocol's checks talk to first (its origin is probed)."""
    if protocol == "saml" and target.saml is not None:
        return target.saml.acs_url
    if protocol == "oidc" and target.oidc is not None:
        return target.oidc.login_url
    if protocol == "scim" and target.scim is not None:
        return target.scim.base_url
    if protocol == "universal_logout" and target.universal_logout is not None:
        return target.universal_logout.endpoint
    return None


def unreachable(ctx: RunContext, url: str) -> str | None:
    """Why the origin of ``url`` cannot be reached (None when it answers any HTTP status);
    probed once per process and origin."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    if origin not in ctx.reachability:
        browser = Browser(Transcript(Redactor([])), timeout=ctx.timeout)
        try:
            browser.send("GET", origin + "/", note="reachability probe")
            ctx.reachability[origin] = None
        except BrowserError as exc:
            ctx.reachability[origin] = ctx.redactor.text(str(exc))
        finally:
            browser.close()
    return ctx.reachability[origin]


@pytest.fixture(autouse=True)
def _oin_app_reachable(request: pytest.FixtureRequest) -> None:
    """A protocol check against an app that cannot be reached is inconclusive, not failed."""
    meta = request.node.stash.get(META_KEY, None)
    if meta is None or meta["protocol"] not in GATED:
        return
    ctx: RunContext = request.getfixturevalue("oin_run")
    url = protocol_url(ctx.target, meta["protocol"])
    if url is None:
        return  # not configured: the suite skips the check and says so
    absolute = ctx.url(url)
    why = unreachable(ctx, absolute)
    if why is not None:
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(absolute))
        raise inconclusive(
            "The app could not be reached",
            seen=f"the app could not be reached at {origin}: {why}",
            expected=f"an HTTP answer (any status) from {origin}/",
            fix="Start the app, or correct its URLs in the target file (see "
            "general.app_is_reachable); then run the checks again.",
        )


@pytest.fixture
def transcript(request: pytest.FixtureRequest, oin_run: RunContext) -> Transcript:
    """The check's HTTP transcript; it ends up in every report format."""
    t = oin_run.transcript()
    request.node.stash[TRANSCRIPT_KEY] = t
    return t


@pytest.fixture
def browser(transcript: Transcript, oin_run: RunContext) -> Iterator[Browser]:
    """A browser with a fresh cookie jar for this check."""
    b = Browser(transcript, allowed_origins=[oin_run.app_url], timeout=oin_run.timeout)
    yield b
    b.close()
