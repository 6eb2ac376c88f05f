"""The readiness report as a person and a CI job see it (issue 15, items 1, 2 and 5).

Two real runs of the plugin against the reference app, made once for this module: a passing
one (the README's command) and a flawed one (a planted OIDC flaw that leaves PKCE out, an
advisory finding whose run also has checks that cannot judge the app, and a logo the OIN
Wizard refuses: a blocking failure). Each report is rendered in headless Chromium at
1280×900 and 390×844, screenshotted into the test's folder, and its first screen read
through the DOM; a third run against an app that answers with hostile markup shows that
nothing the app sent runs or becomes an element. The same runs' JUnit XML, terminal summary
and the CI example's summary step are checked here too.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image

from tests.conftest import (
    FIXTURES,
    REFERENCE_TARGET,
    REPO,
    TINY_TARGET,
    PluginRun,
    once_per_session,
    run_plugin,
    write_target,
)
from tests.test_outcomes import closed_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)"
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--virtual-time-budget=5000",
]
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}
ESC = "\x1b["

#: Reads the rendered page into a <pre id="oin-probe"> (then dumped with --dump-dom).
PROBE = "<script>\n" + (Path(__file__).parent / "report_probe.js").read_text() + "</script>\n"


#: Chromium lays a headless window out at least 500 px wide (a 390 px window is cropped, not
#: narrowed): the report is rendered in a frame of exactly the size, at the top left of a
#: window of that size, and this page copies what the probe inside the frame found.
FRAME = """<!doctype html><html><head><style>html,body{margin:0;overflow:hidden}
iframe{border:0;display:block}</style></head><body>
<iframe src="PAGE" style="width:WIDTHpx;height:HEIGHTpx"></iframe><script>
window.addEventListener("load", () => {
  const inner = document.querySelector("iframe").contentDocument;
  const found = inner && inner.getElementById("oin-probe");
  const pre = document.createElement("pre"); pre.id = "oin-probe";
  pre.textContent = found ? found.textContent : "null"; document.body.appendChild(pre); });
</script></body></html>"""
#: No --virtual-time-budget here (it now and then never ends on a page this size): the probe
#: runs in the load event, and --dump-dom and --screenshot come after it.
RENDER_FLAGS = [f for f in FLAGS if not f.startswith("--virtual-time")] + [
    "--allow-file-access-from-files"
]


def render(page: Path, size: str, shots: Path) -> dict[str, Any]:
    """Open ``page`` in Chromium in a viewport of ``size``: the probe's findings. The
    screenshot is kept in ``shots`` (``<name>-<size>.png``) and checked not to be blank."""
    assert CHROMIUM is not None
    width, height = SIZES[size]
    probed = page.with_name(f"{page.stem}-probed-{size}.html")
    probed.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    frame = page.with_name(f"{page.stem}-frame-{size}.html")
    frame.write_text(
        FRAME.replace("PAGE", probed.name)
        .replace("WIDTH", str(width))
        .replace("HEIGHT", str(height))
    )
    shot = shots / f"{page.stem}-{size}.png"
    dom = subprocess.run(
        [
            CHROMIUM, *RENDER_FLAGS, f"--user-data-dir={shots / f'chrome-{size}'}",
            f"--window-size={width},{height}", f"--screenshot={shot}", "--dump-dom",
            frame.as_uri(),
        ],
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    match = re.search(r'<pre id="oin-probe">(.*?)</pre>', dom.stdout, re.S)
    assert match, dom.stderr[-2000:]
    probe: dict[str, Any] = json.loads(
        match.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">")
        .replace("&amp;", "&")
    )  # fmt: skip
    assert probe["viewport"] == [width, height], probe["viewport"]
    with Image.open(shot) as image:
        assert image.size == (width, height)
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000) or []
        assert len(colours) > 50, f"the screenshot {shot} is blank"
    return probe


# -- the runs --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def passing(tmp_path_factory: pytest.TempPathFactory) -> PluginRun:
    """The README's command: the reference app, every check (here with a fixed seed)."""

    def make(folder: Path) -> PluginRun:
        return run_plugin(f"--oin-target={REFERENCE_TARGET}", "--oin-seed=11", cwd=folder)

    return once_per_session(tmp_path_factory, "report-passing", make)


FLAWED_BLOCKER = "submission.logo_is_png_jpg_or_gif_under_1mb_in_an_allowed_size"
FLAWED_ADVISORY = "oidc.authorize_request_uses_pkce_s256"


@pytest.fixture(scope="module")
def flawed(tmp_path_factory: pytest.TempPathFactory) -> PluginRun:
    """The reference app without PKCE, with a logo the OIN Wizard refuses and with its SCIM
    base URL on a port nothing listens on; under pytest-xdist, with colours forced on."""
    return once_per_session(tmp_path_factory, "report-flawed", _flawed_run)


def _flawed_run(folder: Path) -> PluginRun:
    text = REFERENCE_TARGET.read_text()
    text = text.replace('pythonpath = [".."]', f'pythonpath = ["{FIXTURES}"]')
    text = text.replace('logo = "logo.png"', f'logo = "{FIXTURES / "bad-logo.png"}"')
    text = text.replace(
        "[app.test_user]", '[app.serve_options]\nflaw = "no_pkce"\n\n[app.test_user]'
    )
    # The SCIM server is not there: its checks cannot judge the app.
    text = text.replace(
        'base_url = "/scim/v2"', f'base_url = "http://127.0.0.1:{closed_port()}/scim/v2"'
    )
    target = folder / "target.toml"
    target.write_text(text)
    return run_plugin(f"--oin-target={target}", "--oin-seed=5", "-n", "2", "--color=yes",
                      cwd=folder)  # fmt: skip


HOSTILE = (
    '<h1 id="pwned">owned</h1><script>document.title="pwned"</script>'
    '<img src=x onerror="document.body.dataset.pwned=1">'
)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> PluginRun:
    """An app that answers every request with markup that would run if it were rendered."""
    return once_per_session(tmp_path_factory, "report-hostile", _hostile_run)


def _hostile_run(folder: Path) -> PluginRun:
    (folder / "hostileapp.py").write_text(
        textwrap.dedent(
            f"""
            def app(environ, start_response):
                start_response("500 Internal Server Error", [
                    ("Content-Type", "text/html"), ("X-Note", {HOSTILE!r}),
                    ("Location", "javascript:document.body.dataset.pwned=1"),
                ])
                return [{HOSTILE!r}.encode()]
            """
        )
    )
    target = write_target(folder, TINY_TARGET.replace("tinyapp:app", "hostileapp:app"))
    return run_plugin(f"--oin-target={target}", "-m", "general", cwd=folder)


def oin_section(stdout: str) -> str:
    """The terminal's OIN readiness section (up to pytest-html's line)."""
    start = stdout.index("OIN readiness ===")
    return stdout[start : stdout.index("Generated html report", start)]


# -- first screen, matrix and layout ---------------------------------------------------------


@pytest.mark.slow
@needs_chromium
@pytest.mark.parametrize("size", list(SIZES))
def test_passing_report_first_screen_matrix_and_layout(
    passing: PluginRun, size: str, tmp_path: Path
) -> None:
    assert passing.returncode == 0, passing.stdout[-3000:]
    data = passing.readiness
    probe = render(passing.report_dir / "readiness.html", size, tmp_path)
    width, height = SIZES[size]
    # The first screen: the verdict and every protocol's tile with its counts.
    assert probe["verdict"] == "OIN readiness of Acme Reference App: READY"
    assert probe["verdict_bottom"] <= height
    tiles = {t["text"].split("\n")[0]: t for t in probe["tiles"]}
    assert len(tiles) == len(data["protocols"])
    scim = data["protocols"]["scim"]
    assert scim["skipped"] > 0, "the reference target skips SCIM features it does not claim"
    assert f"{scim['skipped']} skipped" in tiles["SCIM"]["text"].replace("\n", " ")
    for text in ("inconclusive", "not run", "passed", "blocking", "advisory"):
        assert text in tiles["SCIM"]["text"]
    assert tiles["General"]["bottom"] <= height
    assert probe["blockers"] == [] and probe["inconclusive"] == [] and probe["advisories"] == []
    # Then the matrix: every requirement of the catalogue, per protocol, with its checks;
    # passes and skips closed. pytest-html's table, then the environment, come after it.
    order = probe["order"]
    assert order["verdict"] < order["tiles"] < order["matrix"] < order["results"]
    assert order["results"] < order["environment"]
    from oin_conformance.requirements import PROTOCOL_MODULES, REQUIREMENTS, requirement

    requirement("GEN-REACHABLE")
    in_matrix = [r for s in probe["sections"].values() for r in s["requirements"]]
    assert sorted(in_matrix) == sorted(REQUIREMENTS), "every requirement, exactly once"
    assert set(probe["sections"]) == {f"proto-{p}" for p in ("general", *PROTOCOL_MODULES)}
    listed = {c["id"]: c for s in probe["sections"].values() for c in s["checks"]}
    assert sorted(listed) == sorted(c["id"] for c in data["checks"])
    assert {c["outcome"] for c in listed.values()} == {"passed", "skipped"}
    assert not any(c["open"] for c in listed.values()), "passes and skips are closed"
    # The run line agrees with the checks listed; pytest-html's own count is not shown.
    assert probe["run_count"].startswith(f"{len(data['checks'])} checks listed: ")
    assert probe["matrix_checks"] == len(data["checks"]) == probe["table_rows"]
    assert not probe["pytest_html_run_count_shown"]
    assert len(probe["row_links"]) == len(data["checks"])
    assert all(link.startswith("#check-") for link in probe["row_links"])
    # No pytest log in the rows: no red "E" lines, no "No log output captured.".
    assert probe["red_lines"] == 0 and probe["logs"] == 0 and not probe["no_log_text"]
    # Conversations: who spoke to whom (SCIM is Okta calling the app).
    pairs = {tuple(t.split(">")) for t in probe["turns"]}
    assert pairs == {("Browser", "App"), ("Browser", "Okta"), ("App", "Okta"), ("Okta", "App")}
    assert probe["side_turns"] > 0
    # Readable: no text under 4.5:1, no scroll box in the page, nothing wider than it.
    assert probe["low_contrast"] == [], probe["low_contrast"]
    assert probe["scrollers"] == [], probe["scrollers"]
    assert probe["page_width"] <= width, probe["page_width"]


@pytest.mark.slow
@needs_chromium
@pytest.mark.parametrize("size", list(SIZES))
def test_flawed_report_shows_what_to_fix_first(
    flawed: PluginRun, size: str, tmp_path: Path
) -> None:
    assert flawed.returncode == 1, flawed.stdout[-3000:]
    data = flawed.readiness
    assert data["blocking_failures"] == [FLAWED_BLOCKER]
    assert FLAWED_ADVISORY in data["advisories"]
    unjudged = [c["id"] for c in data["checks"] if c["outcome"] == "inconclusive"]
    assert unjudged and {c.split(".")[0] for c in unjudged} == {"scim"}
    probe = render(flawed.report_dir / "readiness.html", size, tmp_path)
    height = SIZES[size][1]
    assert probe["verdict"] == "OIN readiness of Acme Reference App: NOT READY"
    # Blockers, then the checks that could not judge, then advisories, each a link to its
    # (open) entry in the matrix.
    order = probe["order"]
    assert order["tiles"] < order["blockers"] < order["inconclusive"] < order["advisories"]
    assert order["advisories"] < order["matrix"]
    for group, ids in (
        ("blockers", [FLAWED_BLOCKER]),
        ("advisories", [a for a in data["advisories"] if a not in unjudged]),
    ):
        items = probe[group]
        assert [i["target"] for i in items] == [f"check-{i}" for i in ids]
        assert all(i["target_found"] and i["target_open"] for i in items), items
    linked = [i["target"] for i in probe["inconclusive"]]
    assert linked and all(i["target_found"] for i in probe["inconclusive"])
    if size == "desktop":
        # The first blocker is on the first screen.
        assert probe["blockers"][0]["bottom"] <= height, probe["blockers"]
    listed = {c["id"]: c for s in probe["sections"].values() for c in s["checks"]}
    assert listed[FLAWED_BLOCKER] == {"id": FLAWED_BLOCKER, "open": True, "outcome": "failed"}
    assert listed[FLAWED_ADVISORY]["outcome"] == "advisory" and listed[FLAWED_ADVISORY]["open"]
    assert all(listed[i]["outcome"] == "inconclusive" and listed[i]["open"] for i in unjudged)
    assert not any(c["open"] for c in listed.values() if c["outcome"] in ("passed", "skipped"))
    assert probe["red_lines"] == 0 and probe["logs"] == 0 and not probe["no_log_text"]
    assert probe["low_contrast"] == [], probe["low_contrast"]
    assert probe["scrollers"] == [], probe["scrollers"]
    # The app's back-channel calls sit under the browser request they served.
    assert probe["side_turns"] > 0


@pytest.mark.slow
@needs_chromium
@pytest.mark.parametrize("size", list(SIZES))
def test_hostile_app_content_stays_inert(hostile: PluginRun, size: str, tmp_path: Path) -> None:
    assert hostile.returncode == 1
    bodies = [e["response_body"] for c in hostile.readiness["checks"] for e in c["transcript"]]
    assert HOSTILE in bodies
    probe = render(hostile.report_dir / "readiness.html", size, tmp_path)
    assert probe["pwned"] == 0 and probe["pwned_attr"] is None
    assert probe["title"] != "pwned"
    page = (hostile.report_dir / "readiness.html").read_text()
    assert "&lt;h1 id=&quot;pwned&quot;&gt;" in page
    assert 'href="javascript:' not in page
    assert probe["blockers"] and probe["blockers"][0]["target_found"]


# -- JUnit -----------------------------------------------------------------------------------


def junit_cases(run: PluginRun) -> dict[str, ET.Element]:
    root = ET.parse(run.report_dir / "junit.xml").getroot()
    return {props(c)["check_id"]: c for c in root.iter("testcase")}


def props(case: ET.Element) -> dict[str, str]:
    return {p.get("name", ""): p.get("value", "") for p in case.iter("property")}


def prop_list(case: ET.Element, name: str) -> list[str]:
    return [p.get("value", "") for p in case.iter("property") if p.get("name") == name]


@pytest.mark.slow
def test_junit_names_check_severity_requirement_and_advisories(
    passing: PluginRun, flawed: PluginRun
) -> None:
    for run in (passing, flawed):
        cases = junit_cases(run)
        checks = {c["id"]: c for c in run.readiness["checks"]}
        assert sorted(cases) == sorted(checks)
        for cid, case in cases.items():
            p = props(case)
            check = checks[cid]
            assert p["severity"] == check["severity"]
            assert p["requirement"] == check["requirement"]
            assert p["outcome"] == check["outcome"]
            refs = [r["id"] for r in check["references"]]
            assert prop_list(case, "advisory_id") == refs
    # Checks guarding against published advisories name them (CVE ids and the like).
    with_refs = [c for c in passing.readiness["checks"] if c["references"]]
    assert with_refs
    cases = junit_cases(flawed)
    # A blocking failure is a <failure>; an advisory finding passes, with its finding as a
    # property; a check that could not judge is a failure saying so; a skip is skipped.
    assert len(list(cases[FLAWED_BLOCKER].iter("failure"))) == 1
    advisory = cases[FLAWED_ADVISORY]
    assert list(advisory.iter("failure")) == [] and list(advisory.iter("error")) == []
    assert props(advisory)["severity"] == "advisory" and props(advisory)["outcome"] == "failed"
    assert any(v.startswith("advisory finding") for v in prop_list(advisory, "advisory"))
    for check in flawed.readiness["checks"]:
        case = cases[check["id"]]
        if check["outcome"] == "inconclusive" and check["severity"] == "blocking":
            (failure,) = case.iter("failure")
            assert failure.get("message", "").startswith("Could not judge")
        if check["outcome"] == "skipped":
            assert len(list(case.iter("skipped"))) == 1
        if check["severity"] == "advisory":
            assert list(case.iter("failure")) == []


# -- the terminal ----------------------------------------------------------------------------


@pytest.mark.slow
def test_terminal_summary_without_colour_and_one_line_for_ci(passing: PluginRun) -> None:
    section = oin_section(passing.stdout)
    assert ESC not in section, "no colour when stdout is not a terminal"
    assert "Acme Reference App: READY: every configured protocol is ready" in section
    data = passing.readiness
    line = data["summary_line"]
    assert line.startswith("OIN readiness: READY · Acme Reference App · 0 blocking, ")
    assert f" · {len(data['checks'])} checks: " in line
    lines = passing.stdout.splitlines()
    assert [x for x in lines if x.startswith("OIN readiness:")] == [line]
    assert "BLOCKING" not in section and "advisory  " not in section
    # One row per protocol, the status column aligned (universal_logout is the longest name).
    rows = [x for x in section.splitlines() if x.split(" ", 1)[0] in data["protocols"]]
    assert {x.split(" ", 1)[0] for x in rows} == set(data["protocols"]), rows
    assert len({x.index("ready") for x in rows}) == 1, rows


@pytest.mark.slow
def test_terminal_summary_in_colour_lists_blockers_inconclusive_and_advisories_apart(
    flawed: PluginRun,
) -> None:
    section = oin_section(flawed.stdout)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", section)
    lines = plain.splitlines()
    blocking = [i for i, x in enumerate(lines) if x.startswith("BLOCKING  ")]
    unjudged = [i for i, x in enumerate(lines) if x.startswith("INCONCLUSIVE  ")]
    advisory = [i for i, x in enumerate(lines) if x.startswith("advisory  ")]
    assert blocking and unjudged and advisory
    assert max(blocking) < min(unjudged) and max(unjudged) < min(advisory)
    assert lines[blocking[0]].startswith(f"BLOCKING  {FLAWED_BLOCKER}: The logo would be")
    assert lines[blocking[0] + 1].strip().startswith("Fix: ")
    assert any(
        lines[i].startswith(f"advisory  {FLAWED_ADVISORY} (does not fail the run): ")
        for i in advisory
    )
    assert not any(FLAWED_ADVISORY in lines[i] for i in blocking)

    # Colours (--color=yes): red blockers, yellow inconclusive, cyan advisories, the verdict
    # and the one-line summary in the verdict's colour.
    def raw(prefix: str) -> str:
        return next(x for x in section.splitlines() if prefix in x)

    assert "\x1b[31m" in raw("BLOCKING  ") and "\x1b[1m" in raw("BLOCKING  ")
    assert "\x1b[33m" in raw("INCONCLUSIVE  ")
    assert "\x1b[36m" in raw("advisory  ")
    assert "\x1b[31m" in raw("OIN readiness: NOT READY")
    assert (
        re.sub(r"\x1b\[[0-9;]*m", "", raw("OIN readiness: NOT READY"))
        == (flawed.readiness["summary_line"])
    )


def test_terminal_colours_follow_no_color_and_force_color(tiny_app: Path) -> None:
    target = write_target(
        tiny_app, TINY_TARGET.replace('serve = "tinyapp:app"', 'base_url = "http://127.0.0.1:9"')
    )
    check = "--oin-check=general.loopback_urls_are_for_testing_only"
    forced = run_plugin(f"--oin-target={target}", check, cwd=tiny_app, env={"FORCE_COLOR": "1"})
    assert forced.returncode == 0, forced.stdout
    assert "\x1b[36madvisory  general.loopback" in oin_section(forced.stdout)
    (tiny_app / "again").mkdir()
    plain = run_plugin(
        f"--oin-target={target}", check, cwd=tiny_app / "again",
        env={"FORCE_COLOR": "1", "NO_COLOR": "1"},
    )  # fmt: skip
    assert plain.returncode == 0, plain.stdout
    assert ESC not in oin_section(plain.stdout)
    assert "advisory  general.loopback_urls_are_for_testing_only" in plain.stdout


# -- the CI example runs against these reports -----------------------------------------------


@pytest.mark.slow
def test_ci_examples_upload_what_the_run_writes_and_their_summary_step_works(
    passing: PluginRun, tmp_path: Path
) -> None:
    workflow = yaml.safe_load((REPO / "docs/ci/github-actions.yml").read_text())
    steps = workflow["jobs"]["readiness"]["steps"]
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("actions/upload"))
    folder = upload["with"]["path"].rstrip("/")
    gitlab = yaml.safe_load((REPO / "docs/ci/gitlab-ci.yml").read_text())["oin-readiness"]
    assert gitlab["artifacts"]["paths"] == [folder + "/"]
    # The README's command writes its reports into reports/ (run_plugin passes the same
    # folder explicitly); everything the examples hand to CI exists there.
    assert passing.report_dir.name == folder
    junit = Path(gitlab["artifacts"]["reports"]["junit"])
    assert (passing.report_dir.parent / junit).is_file()
    for name in ("readiness.html", "readiness.json", "junit.xml"):
        assert (passing.report_dir / name).is_file()
    # The workflow's summary step, run as GitHub runs it (bash, GITHUB_STEP_SUMMARY set).
    summary_step = next(s for s in steps if "GITHUB_STEP_SUMMARY" in str(s.get("run", "")))
    out = tmp_path / "step-summary.md"
    subprocess.run(
        ["bash", "-e", "-c", summary_step["run"]],
        cwd=passing.report_dir.parent,
        env={**os.environ, "GITHUB_STEP_SUMMARY": str(out)},
        check=True,
        timeout=60,
    )
    assert out.read_text().strip() == passing.readiness["summary_line"]
