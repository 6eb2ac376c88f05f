"""The readiness report as a person sees it: rendered in headless Chromium, screenshotted,
the verdict on the first screen, nothing the app sent rendered as markup."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import TINY_TARGET, run_plugin, write_target

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
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
]
HOSTILE = (
    '<h1 id="pwned">owned</h1><script>document.title="pwned"</script>'
    '<img src=x onerror="document.body.dataset.pwned=1">'
)
PROBE = """
<script>
window.addEventListener("load", () => setTimeout(() => {
  const s = document.querySelector(".oin-summary");
  const r = s ? s.getBoundingClientRect() : null;
  const out = document.createElement("pre");
  out.id = "oin-probe";
  out.textContent = JSON.stringify({
    summary_bottom: r ? r.bottom : null,
    viewport: window.innerHeight,
    pwned: document.querySelectorAll("#pwned").length,
    pwned_attr: document.body.dataset.pwned || null,
    title: document.title,
    escaped_text: document.body.innerText.includes('<h1 id="pwned">'),
  });
  document.body.appendChild(out);
}, 500));
</script>
"""


def hostile_app(folder: Path) -> None:
    (folder / "hostileapp.py").write_text(
        textwrap.dedent(
            f"""
            def app(environ, start_response):
                start_response("500 Internal Server Error", [("Content-Type", "text/html")])
                return [{HOSTILE!r}.encode()]
            """
        )
    )


def chromium(*args: str, user_dir: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={user_dir}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
def test_report_renders_verdict_first_and_escapes_app_content(tmp_path: Path) -> None:
    hostile_app(tmp_path)
    target = write_target(tmp_path, TINY_TARGET.replace("tinyapp:app", "hostileapp:app"))
    run = run_plugin(f"--oin-target={target}", "-m", "general", cwd=tmp_path)
    assert run.returncode == 1
    assert HOSTILE in json.dumps(run.readiness) or "pwned" in json.dumps(run.readiness)
    html = run.report_dir / "readiness.html"
    probed = tmp_path / "probed.html"
    probed.write_text(html.read_text().replace("</body>", PROBE + "</body>"))

    dom = chromium(
        "--window-size=1280,800", "--virtual-time-budget=5000", "--dump-dom",
        probed.as_uri(), user_dir=tmp_path / "chrome1",
    )  # fmt: skip
    match = re.search(r'<pre id="oin-probe">(.*?)</pre>', dom.stdout, re.S)
    assert match, dom.stderr[-2000:]
    probe = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert probe["pwned"] == 0 and probe["pwned_attr"] is None
    assert probe["title"] != "pwned"
    assert probe["escaped_text"], "the app's HTML should be shown as text"
    assert probe["summary_bottom"] is not None
    assert probe["summary_bottom"] <= probe["viewport"], probe

    shot = run.report_dir / "readiness.png"
    chromium(
        "--window-size=1280,800", "--virtual-time-budget=5000", f"--screenshot={shot}",
        html.as_uri(), user_dir=tmp_path / "chrome2",
    )  # fmt: skip
    with Image.open(shot) as image:
        assert image.size == (1280, 800)
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000) or []
        assert len(colours) > 50, "the screenshot is blank"


FIRST_SCREEN_PROBE = """
<script>
window.addEventListener("load", () => setTimeout(() => {
  const items = [...document.querySelectorAll(".oin-blockers li")].map(li => ({
    text: li.innerText, bottom: li.getBoundingClientRect().bottom}));
  const out = document.createElement("pre");
  out.id = "oin-probe";
  out.textContent = JSON.stringify({items, viewport: window.innerHeight});
  document.body.appendChild(out);
}, 500));
</script>
"""


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
def test_flawed_app_with_bad_logo_shows_not_ready_with_blockers_on_first_screen(
    tmp_path: Path,
) -> None:
    from tests.conftest import FIXTURES, REFERENCE_TARGET

    text = REFERENCE_TARGET.read_text()
    text = text.replace('pythonpath = [".."]', f'pythonpath = ["{FIXTURES}"]')
    text = text.replace('logo = "logo.png"', f'logo = "{FIXTURES / "bad-logo.png"}"')
    text = text.replace(
        "[app.test_user]", '[app.serve_options]\nflaw = "iss_ignored"\n\n[app.test_user]'
    )
    target = tmp_path / "target.toml"
    target.write_text(text)
    run = run_plugin(f"--oin-target={target}", "-n", "2", cwd=tmp_path)
    assert run.returncode == 1
    data = run.readiness
    assert data["protocols"]["oidc"]["status"] == "not_ready"
    assert data["protocols"]["submission"]["status"] == "not_ready"
    assert "oidc.refuses_forged_id_token[wrong_issuer]" in data["blocking_failures"]
    logo_check = "submission.logo_is_png_jpg_or_gif_under_1mb_in_an_allowed_size"
    assert logo_check in data["blocking_failures"]

    probed = tmp_path / "probed.html"
    probed.write_text(
        (run.report_dir / "readiness.html")
        .read_text()
        .replace("</body>", FIRST_SCREEN_PROBE + "</body>")
    )
    dom = chromium(
        "--window-size=1280,900", "--virtual-time-budget=5000", "--dump-dom",
        probed.as_uri(), user_dir=tmp_path / "chrome",
    )  # fmt: skip
    match = re.search(r'<pre id="oin-probe">(.*?)</pre>', dom.stdout, re.S)
    assert match, dom.stderr[-2000:]
    probe = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    on_screen = [i["text"] for i in probe["items"] if i["bottom"] <= probe["viewport"]]
    assert any("wrong_issuer" in t for t in on_screen), probe
    assert any(logo_check in t for t in on_screen), probe
    shot = run.report_dir / "readiness-not-ready.png"
    chromium(
        "--window-size=1280,900", "--virtual-time-budget=5000", f"--screenshot={shot}",
        (run.report_dir / "readiness.html").as_uri(), user_dir=tmp_path / "chrome2",
    )  # fmt: skip
    assert shot.stat().st_size > 10_000
