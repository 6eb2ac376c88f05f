"""HTML fragments for pytest-html: the readiness summary and each check's details.

Everything that came from the app or the target is escaped here; pytest-html inserts these
fragments as raw HTML.
"""

from __future__ import annotations

from html import escape
from typing import Any

STATUS_LABEL = {
    "ready": ("Ready", "#1a7f37"),
    "not_ready": ("Not ready", "#cf222e"),
    "incomplete": ("Incomplete", "#9a6700"),
    "not_configured": ("Not configured", "#6e7781"),
    "not_run": ("Not run", "#9a6700"),
}
#: How many check ids a group of inconclusive checks names before "and N more".
GROUP_SHOWN = 8
VERDICT_LABEL = {
    "ready": ("READY", "#1a7f37"),
    "not_ready": ("NOT READY", "#cf222e"),
    "incomplete": ("INCOMPLETE", "#9a6700"),
    "not_run": ("NOT RUN", "#9a6700"),
}

CSS = """
<style>
/* The verdict goes first: title, then the summary block, then pytest-html's environment. */
body{display:flex;flex-direction:column}
#title{order:-2}
.summary{order:-1}
.oin-summary{font-family:system-ui,sans-serif;margin:0 0 1em 0;color:#1f2328}
.oin-summary h3{color:#1f2328;margin:.6em 0 .2em 0}
.oin-summary h2{margin:.2em 0}
.oin-verdicts{display:flex;gap:.6em;flex-wrap:wrap;margin:.5em 0}
.oin-verdict{border-radius:6px;padding:.4em .8em;color:#fff;min-width:9em}
.oin-verdict b{display:block;font-size:1.1em}
.oin-blockers li{margin:.4em 0;line-height:1.45}
.oin-blockers li div{margin:.1em 0}
.oin-detail pre{white-space:pre-wrap;word-break:break-all;background:#f6f8fa;padding:.5em;
 max-height:30em;overflow:auto;font-size:12px}
.oin-detail table{border-collapse:collapse}
.oin-detail td,.oin-detail th{border:1px solid #d0d7de;padding:.2em .4em;text-align:left;
 vertical-align:top}
.oin-fix{background:#fff8c5;padding:.3em}
</style>
"""


def summary_html(payload: dict[str, Any]) -> str:
    """The verdict block shown above pytest-html's results table."""
    parts = [CSS, '<div class="oin-summary">']
    overall, colour = VERDICT_LABEL[payload["verdict"]]
    parts.append(
        f"<h2>OIN readiness of {escape(payload['app_name'])}: "
        f'<span style="color:{colour}">{overall}</span></h2>'
    )
    parts.append('<div class="oin-verdicts">')
    for name, verdict in payload["protocols"].items():
        label, bg = STATUS_LABEL[verdict["status"]]
        counts = (
            f"{verdict['passed']} passed, {len(verdict['blocking_failures'])} blocking, "
            f"{len(verdict['inconclusive'])} inconclusive, "
            f"{len(verdict['advisories'])} advisory"
            + (f", {len(verdict['not_run'])} not run" if verdict["not_run"] else "")
        )
        parts.append(
            f'<div class="oin-verdict" style="background:{bg}" '
            f'title="{escape(verdict.get("reason", ""))}"><b>{escape(name.upper())}</b>'
            f"{escape(label)}<br><small>{escape(counts)}</small></div>"
        )
    parts.append("</div>")
    checks = {c["id"]: c for c in payload["checks"]}
    _check_list(
        parts,
        "Blocking failures (fix these before submitting)",
        payload["blocking_failures"],
        checks,
    )
    unjudged = [c for c in payload["checks"] if c["outcome"] == "inconclusive"]
    if unjudged:
        # Grouped by cause: one cause (an app that cannot be reached) often stops many.
        groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for check in unjudged:
            failure = check.get("failure") or {}
            key = (str(failure.get("title", "")), str(failure.get("fix", "")))
            groups.setdefault(key, []).append(check)
        parts.append(
            "<h3>Could not judge (a blocking one blocks: make the check able to judge the app, "
            "then re-run it)</h3><ol class='oin-blockers'>"
        )
        for (title, fix), group in groups.items():
            ids = [c["id"] for c in group]
            blocking = sum(c["severity"] == "blocking" for c in group)
            shown = ", ".join(f"<code>{escape(i)}</code>" for i in ids[:GROUP_SHOWN])
            more = f" and {len(ids) - GROUP_SHOWN} more" if len(ids) > GROUP_SHOWN else ""
            parts.append(
                f"<li><div><b>{escape(title)}</b> ({len(ids)} check(s), {blocking} blocking)"
                f"</div><div>{shown}{escape(more)}</div>"
                f"<div><span class='oin-fix'>Fix: {escape(fix)}</span></div></li>"
            )
        parts.append("</ol>")
    findings = [i for i in payload["advisories"] if checks[i]["outcome"] != "inconclusive"]
    _check_list(parts, "Advisories (reported, do not block)", findings, checks)
    if payload["not_run"]:
        ids = payload["not_run"]
        parts.append(
            f"<details><summary><b>Not run: {len(ids)} check(s) that apply to this target did "
            "not run</b> (left out by the selection, or the run stopped early; run them all "
            "for a verdict)"
            "</summary><p>" + ", ".join(f"<code>{escape(i)}</code>" for i in ids) + "</p></details>"
        )
    parts.append(
        f"<p><small>harness {escape(payload['harness_version'])} · target sha256 "
        f"{escape(payload['target_sha256'][:16])}… · seed {payload['seed']} · "
        f"started {escape(payload['started'])} · {payload['duration_s']:.1f} s</small></p>"
    )
    libs = ", ".join(f"{k} {v}" for k, v in payload["libraries"].items())
    parts.append(
        f"<details><summary><small>Reproduce this run</small></summary><small>"
        f"Python {escape(payload['python'])} on {escape(payload['platform'])}; "
        f"{escape(libs)}<br>target {escape(payload['target_path'])} "
        f"(sha256 {escape(payload['target_sha256'])})<br>"
        f"<code>pytest --oin-target={escape(payload['target_path'])} "
        f"--oin-seed={payload['seed']}</code></small></details>"
    )
    parts.append("</div>")
    return "".join(parts)


def _check_list(
    parts: list[str], heading: str, ids: list[str], checks: dict[str, dict[str, Any]]
) -> None:
    """A numbered list of checks with what went wrong and the fix."""
    if not ids:
        return
    parts.append(f"<h3>{escape(heading)}</h3><ol class='oin-blockers'>")
    for cid in ids:
        check = checks[cid]
        failure = check.get("failure") or {}
        fix = failure.get("fix") or "See the check's details below."
        title = failure.get("title") or check.get("message", "").splitlines()[-1:] or [""]
        title_text = title if isinstance(title, str) else title[0]
        parts.append(
            f"<li><div><b>{escape(check['title'])}</b> <code>{escape(cid)}</code></div>"
            f"<div>{escape(title_text)}</div>"
            f"<div><span class='oin-fix'>Fix: {escape(fix)}</span></div></li>"
        )
    parts.append("</ol>")


def check_html(check: dict[str, Any]) -> str:
    """One check's requirement, failure, re-run command and transcript, escaped."""
    out = ['<div class="oin-detail">']
    out.append(
        f"<p><b>{escape(check['title'])}</b> — <code>{escape(check['id'])}</code> · "
        f"{escape(check['severity'])} · requirement "
        f'<a href="{escape(check["requirement_url"])}">{escape(check["requirement"])}</a>: '
        f"{escape(check['requirement_title'])}</p>"
    )
    refs = check.get("references") or []
    if refs:
        links = ", ".join(f'<a href="{escape(r["url"])}">{escape(r["id"])}</a>' for r in refs)
        out.append(f"<p>Advisories of this shape: {links}</p>")
    if check.get("outcome") in ("inconclusive", "not_run"):
        out.append(f"<p>Outcome: <b>{escape(check['outcome'].replace('_', ' '))}</b></p>")
    failure = check.get("failure")
    if failure:
        out.append("<table>")
        for key in ("title", "seen", "expected", "fix"):
            out.append(
                f"<tr><th>{key.title()}</th><td><pre>{escape(failure.get(key, ''))}</pre></td></tr>"
            )
        out.append("</table>")
    out.append(f"<p>Re-run just this check: <code>{escape(check.get('rerun', ''))}</code></p>")
    for note in check.get("notes") or []:
        out.append(f"<p><i>{escape(note)}</i></p>")
    for i, ex in enumerate(check.get("transcript") or [], 1):
        status = ex["status"] if ex["status"] is not None else ex.get("error", "")
        out.append(
            f"<details><summary>{i}. {escape(ex['method'])} {escape(ex['url'])} → "
            f"{escape(str(status))} ({ex['elapsed_ms']} ms)"
            f"{' — ' + escape(ex['note']) if ex.get('note') else ''}</summary>"
        )
        out.append(f"<pre>{escape(_request_text(ex))}</pre>")
        for label, text in (ex.get("decoded") or {}).items():
            out.append(f"<p>Decoded {escape(label)}:</p><pre>{escape(text)}</pre>")
        out.append(f"<pre>{escape(_response_text(ex))}</pre>")
        out.append(f"<p>curl:</p><pre>{escape(_curl(ex))}</pre></details>")
    out.append("</div>")
    return "".join(out)


def _request_text(ex: dict[str, Any]) -> str:
    head = "\n".join(f"{k}: {v}" for k, v in ex["request_headers"].items())
    return f"{ex['method']} {ex['url']}\n{head}\n\n{ex['request_body']}"


def _response_text(ex: dict[str, Any]) -> str:
    if ex["status"] is None:
        return f"(no response: {ex.get('error', '')})"
    head = "\n".join(f"{k}: {v}" for k, v in ex["response_headers"].items())
    return f"HTTP {ex['status']}\n{head}\n\n{ex['response_body']}"


def _curl(ex: dict[str, Any]) -> str:
    from oin_conformance.transcript import Exchange

    fields = {k: v for k, v in ex.items() if k != "curl"}
    return str(ex.get("curl") or Exchange(**fields).curl())
