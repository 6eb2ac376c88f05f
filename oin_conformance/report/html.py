"""HTML for pytest-html: the readiness summary, the requirement matrix and each check's details.

The page answers "can I submit, and what do I fix first?" on its first screen: the verdict,
one tile per protocol, the blocking failures (each a link to its check), the checks that
could not judge the app, the advisories and what did not run. Below it, per protocol, the
**requirement matrix**: every OIN requirement of the catalogue, the checks that demonstrate
it and their outcomes, each check with its details (failures open, passes and skips closed)
and its HTTP conversation. pytest-html's own table follows, one line per check, and its
environment table ends the page.

Everything that came from the app, the target or a check is escaped here (pytest-html
inserts these fragments as raw HTML); URLs the app sent are shown as text, never as links.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from html import escape
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from oin_conformance.names import PROTOCOLS
from oin_conformance.report.conversation import APP, BROWSER, OKTA, Turn, conversation
from oin_conformance.transcript import Exchange, header

Redact = Callable[[str], str]

STATUS_LABEL = {
    "ready": "Ready",
    "not_ready": "Not ready",
    "incomplete": "Incomplete",
    "not_configured": "Not configured",
    "not_run": "Not run",
}
VERDICT_LABEL = {
    "ready": "READY",
    "not_ready": "NOT READY",
    "incomplete": "INCOMPLETE",
    "not_run": "NOT RUN",
}
OUTCOME_LABEL = {
    "passed": "Passed",
    "failed": "Failed",
    "advisory": "Advisory",
    "inconclusive": "Inconclusive",
    "skipped": "Skipped",
    "error": "Error",
    "not_run": "Not run",
}
PROTOCOL_LABEL = {
    "general": "General",
    "saml": "SAML",
    "oidc": "OIDC",
    "scim": "SCIM",
    "universal_logout": "Universal Logout",
    "submission": "Submission",
}
#: How many check ids a group of inconclusive checks names before "and N more".
GROUP_SHOWN = 8
#: Longest request path shown in a conversation line (the whole URL is in the raw request).
PATH_SHOWN = 110

# Colours: every text/background pair is at least 4.5:1 (WCAG AA), which the rendering
# tests measure in Chromium.
CSS = """
<style>
/* Page order: title, the readiness summary, pytest-html's table, then the environment. */
body{display:flex;flex-direction:column;min-width:0;margin:0 auto;padding:0 16px;
 max-width:1200px;color:#1f2328;font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif}
#title{order:-2;font-size:20px;margin:.6em 0 .2em}
.summary{order:-1}
#results-table{order:1}
#environment-header{order:2}
#environment{order:3}
#title+p{order:4;color:#57606a}
footer{order:5}
.summary__data>h2,.summary .run-count{display:none}
.summary p.filter{color:#1f2328;margin:.3em 0}
.summary__data,.summary__spacer{flex:none}
a{color:#0550ae}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.92em;
 overflow-wrap:anywhere}
pre{white-space:pre-wrap;overflow-wrap:anywhere;margin:.3em 0;padding:.5em;
 background:#f6f8fa;border:1px solid #d0d7de;border-radius:4px;font-size:12px;
 font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
/* pytest-html's table: readable text, no scroll box inside the page. */
#results-table{color:#1f2328;font-size:13px}
#results-table td,.oin-report a{overflow-wrap:anywhere}
#results-table a{color:#0550ae}
.passed .col-result,span.passed{color:#116329}
.skipped .col-result,.xfailed .col-result,.rerun .col-result,span.skipped,span.xfailed,
span.rerun{color:#7d4e00}
.failed .col-result,.error .col-result,.xpassed .col-result,span.failed,span.error,
span.xpassed{color:#a40e26}
.filters button,.collapse button,#environment,#environment td{color:#1f2328}
.logwrapper{max-height:none;overflow:visible;background:#f6f8fa}
.logwrapper .logexpander{display:none}
.logwrapper .log{top:0;padding-right:5px}
.logwrapper:not(:has(.log)),.media.hidden{display:none}
tr.extras-row:not(:has(.log)):not(:has(.extraHTML *)){display:none}
@media (max-width:700px){
 #results-table,#results-table tbody,#results-table tr,#results-table td,
 #results-table th{display:block;width:auto}
 #results-table thead{display:none}
 .controls,.filters{flex-wrap:wrap}
 #environment td{display:block}
}
/* The readiness summary. */
.oin-report{margin:0 0 1em}
.oin-report h2{font-size:17px;margin:1em 0 .3em;color:#1f2328}
.oin-report h2#oin-verdict{font-size:22px;margin:.3em 0 .2em}
.oin-report h3{font-size:16px;margin:1em 0 .3em;color:#1f2328}
.oin-lede{font-size:15px;margin:.2em 0 .6em}
.oin-v{padding:0 .3em;border-radius:4px;color:#fff}
.oin-v-ready,.oin-s-ready{background:#1a7f37;color:#fff}
.oin-v-not_ready,.oin-s-not_ready{background:#cf222e;color:#fff}
.oin-v-incomplete,.oin-v-not_run,.oin-s-incomplete,.oin-s-not_run{background:#9a6700;color:#fff}
.oin-s-not_configured{background:#57606a;color:#fff}
.oin-tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:8px;
 margin:.4em 0 .8em}
.oin-tile{display:block;border-radius:6px;padding:.45em .7em;text-decoration:none}
.oin-tile:hover{outline:2px solid #1f2328}
.oin-tile b{display:block;font-size:15px}
.oin-tile .oin-tile-status{display:block;font-weight:600}
.oin-tile .oin-tile-counts{display:grid;grid-template-columns:auto auto;column-gap:.5em;
 justify-content:start;font-size:11.5px;margin-top:.2em;white-space:nowrap}
.oin-tile .oin-tile-counts b{display:inline;font-size:11.5px}
.oin-tile .oin-tile-why{grid-column:1/3;white-space:normal}
.oin-list{margin:.2em 0;padding-left:1.6em}
.oin-list li{margin:.35em 0}
.oin-list .oin-what{display:block}
.oin-fix{background:#fff8c5;color:#1f2328;padding:0 .25em}
.oin-quiet{color:#57606a}
.oin-run-count{font-weight:600;margin:.8em 0 .2em}
/* Outcome chips. */
.oin-chip{display:inline-block;min-width:6.6em;text-align:center;border-radius:10px;
 padding:0 .5em;font-size:12px;font-weight:600;border:1px solid transparent}
.oin-o-passed{color:#116329;background:#dafbe1}
.oin-o-failed,.oin-o-error{color:#a40e26;background:#ffebe9}
.oin-o-inconclusive,.oin-o-advisory{color:#7d4e00;background:#fff8c5}
.oin-o-skipped,.oin-o-not_run,.oin-o-none{color:#424a53;background:#eaeef2}
/* The requirement matrix. */
.oin-proto{margin:1.2em 0 .4em;border-top:2px solid #d0d7de}
.oin-proto>h3 .oin-v{font-size:13px;vertical-align:middle}
.oin-req{margin:.5em 0 .9em}
.oin-req-head{display:flex;gap:.5em;align-items:baseline;flex-wrap:wrap;padding:.25em 0;
 border-bottom:1px solid #d0d7de}
.oin-req-id{font-weight:700}
.oin-checks{list-style:none;margin:.2em 0 0;padding:0 0 0 .6em}
.oin-checks>li{margin:.15em 0}
.oin-check>summary{cursor:pointer;padding:.15em 0;list-style-position:outside}
.oin-check>summary .oin-id{color:#57606a}
.oin-check[open]{margin-bottom:.6em}
.oin-detail{margin:.3em 0 .3em 1.1em;padding:.4em .7em;border-left:3px solid #d0d7de}
.oin-detail dl{margin:.3em 0}
.oin-detail dt{font-weight:700;margin-top:.3em}
.oin-detail dd{margin:0}
.oin-detail dd.oin-fixdd pre{background:#fff8c5;border-color:#d4a72c}
.oin-doc{white-space:pre-wrap;color:#1f2328}
/* A transcript as a conversation. */
.oin-convo{list-style:none;margin:.3em 0;padding:0}
.oin-turn{margin:.45em 0;padding:.35em .5em;border:1px solid #d0d7de;border-radius:6px}
.oin-turn-head{display:flex;flex-wrap:wrap;gap:.35em;align-items:baseline}
.oin-n{font-weight:700;color:#57606a;min-width:1.6em}
.oin-party{border-radius:4px;padding:0 .35em;font-weight:600;font-size:12.5px}
.oin-p-browser{color:#0550ae;background:#ddf4ff}
.oin-p-app{color:#6639ba;background:#fbefff}
.oin-p-okta{color:#00297a;background:#e6efff}
.oin-host{color:#57606a;font-size:12px}
.oin-turn-note{color:#57606a;font-style:italic}
.oin-turn-resp{margin:.15em 0}
.oin-side{margin:.3em 0 0 1.2em;padding-left:.6em;border-left:3px solid #0969da}
.oin-side>p{margin:.2em 0;color:#1f2328}
.oin-turn details{margin:.2em 0}
.oin-turn summary{cursor:pointer;color:#0550ae}
@media (max-width:700px){
 body{padding:0 8px}
 .oin-tiles{grid-template-columns:1fr 1fr}
 .oin-checks{padding-left:0}
 .oin-detail{margin-left:.2em;padding:.3em .4em}
 .oin-side{margin-left:.3em}
}
</style>
"""

#: Following a link to a check (from the first screen or pytest-html's table) opens it.
JS = """
<script>
(function () {
  function openTo(id) {
    var el = document.getElementById(id);
    if (!el) { return; }
    for (var e = el; e; e = e.parentElement) {
      if (e.tagName === "DETAILS") { e.open = true; }
    }
    el.scrollIntoView();
  }
  function fromHash() {
    if (location.hash.length > 1) { openTo(decodeURIComponent(location.hash.slice(1))); }
  }
  window.addEventListener("hashchange", fromHash);
  fromHash();
})();
</script>
"""


def link(url: str, text: str) -> str:
    """``text`` (already escaped) as a link to ``url`` when it is an https:// URL (the
    catalogue's and the advisories' pages), else as plain text."""
    if not str(url).startswith("https://"):
        return text
    return f'<a href="{escape(url)}">{text}</a>'


def anchor(check_id: str) -> str:
    """The id of a check's entry in the requirement matrix (links point here)."""
    return f"check-{check_id}"


def outcome_key(check: dict[str, Any]) -> str:
    """The outcome a person reads: an advisory check's finding is "advisory"."""
    outcome = str(check.get("outcome", ""))
    if outcome == "failed" and check.get("severity") == "advisory":
        return "advisory"
    return outcome


def chip(key: str, text: str | None = None) -> str:
    return (
        f'<span class="oin-chip oin-o-{escape(key)}">'
        f"{escape(text or OUTCOME_LABEL.get(key, key))}</span>"
    )


def summary_html(
    payload: dict[str, Any],
    catalogue: dict[str, list[dict[str, str]]] | None = None,
    redact: Redact = str,
    extra: Iterable[str] = (),
) -> str:
    """The whole readiness part of the page: first screen, matrix, run details.

    ``extra`` are HTML sections (made and escaped by their own modules) shown at the end of
    the first screen, before the requirement matrix.
    """
    parts = [CSS, '<div class="oin-report">']
    parts += first_screen(payload)
    parts += extra
    parts += matrix(payload, catalogue or {}, redact)
    parts += run_details(payload)
    parts.append(
        '<h3 id="oin-all">Every check as pytest reported it</h3>'
        '<p class="oin-quiet">One line per check (click its id for the details above); '
        "pytest's filters and sorting apply.</p>"
    )
    parts.append("</div>")
    parts.append(JS)
    return "".join(parts)


# -- the first screen ------------------------------------------------------------------------


def first_screen(payload: dict[str, Any]) -> list[str]:
    verdict = payload["verdict"]
    checks = {c["id"]: c for c in payload["checks"]}
    out = [
        f'<h2 id="oin-verdict">OIN readiness of {escape(payload["app_name"])}: '
        f'<span class="oin-v oin-v-{escape(verdict)}">{VERDICT_LABEL[verdict]}</span></h2>',
        f'<p class="oin-lede">{escape(lede(payload))}</p>',
        '<nav class="oin-tiles" aria-label="Protocols">',
    ]
    for name, v in payload["protocols"].items():
        status = v["status"]
        if status == "not_configured":
            counts = f'<span class="oin-tile-why">{escape(v.get("reason", ""))}</span>'
        else:
            counts = "".join(
                f"<span><b>{n}</b> {escape(label)}</span>" for n, label in tile_counts(v)
            )
        out.append(
            f'<a class="oin-tile oin-s-{escape(status)}" href="#proto-{escape(name)}" '
            f'title="{escape(v.get("reason", ""))}"><b>{escape(PROTOCOL_LABEL.get(name, name))}</b>'
            f'<span class="oin-tile-status">{escape(STATUS_LABEL[status])}</span>'
            f'<span class="oin-tile-counts">{counts}</span></a>'
        )
    out.append("</nav>")
    out += finding_list(
        "oin-blockers",
        "Fix these first: blocking failures",
        payload["blocking_failures"],
        checks,
    )
    out += inconclusive_groups(payload["checks"])
    findings = [i for i in payload["advisories"] if checks[i]["outcome"] != "inconclusive"]
    out += finding_list(
        "oin-advisories", "Advisories (reported, they do not block)", findings, checks
    )
    if payload["not_run"]:
        ids = payload["not_run"]
        links = ", ".join(check_link(i, checks) for i in ids)
        out.append(
            f'<h3 id="oin-not-run">Not run: {len(ids)} check(s) that apply to this target</h3>'
            "<p>Left out by the selection, or the run stopped early; run them all for a "
            f"verdict: {links}</p>"
        )
    return out


def lede(payload: dict[str, Any]) -> str:
    """One sentence under the verdict: can I submit, and what next."""
    verdict = payload["verdict"]
    blocking = len(payload["blocking_failures"])
    unjudged = len(payload["inconclusive"])
    advisories = len(payload["advisories"])
    notes = f" {advisories} advisory finding(s) do not block." if advisories else ""
    if verdict == "ready":
        return "Every configured protocol is ready: nothing blocks the submission." + notes
    if verdict == "not_ready":
        what = []
        if blocking:
            what.append(f"{blocking} blocking check(s) failed")
        if unjudged:
            what.append(f"{unjudged} blocking check(s) could not judge the app")
        if not what:
            what.append("a protocol's positive flow did not pass")
        return f"Not ready to submit: {' and '.join(what)}. Fix them, then run again." + notes
    if verdict == "incomplete":
        return (
            f"No verdict yet: {len(payload['not_run'])} check(s) that apply did not run. "
            "Run them all for a verdict." + notes
        )
    return "No check of the suites ran."


def tile_counts(v: dict[str, Any]) -> list[tuple[int, str]]:
    """A protocol's counts, the same the terminal prints."""
    return [
        (int(v["passed"]), "passed"),
        (len(v["blocking_failures"]), "blocking"),
        (len(v["advisories"]), "advisory"),
        (len(v["inconclusive"]), "inconclusive"),
        (int(v["skipped"]), "skipped"),
        (len(v["not_run"]), "not run"),
    ]


def check_link(check_id: str, checks: dict[str, dict[str, Any]]) -> str:
    """The check id as a link to its matrix entry (plain code when it has none)."""
    code = f"<code>{escape(check_id)}</code>"
    if check_id not in checks:
        return code
    return f'<a href="#{escape(anchor(check_id))}">{code}</a>'


def finding_list(
    css_id: str, heading: str, ids: list[str], checks: dict[str, dict[str, Any]]
) -> list[str]:
    """A numbered list of checks: title (a link to the check), what was found, the fix."""
    if not ids:
        return []
    out = [f'<h3 id="{css_id}">{escape(heading)} ({len(ids)})</h3><ol class="oin-list {css_id}">']
    for cid in ids:
        check = checks[cid]
        failure = check.get("failure") or {}
        found = failure.get("title") or last_line(check.get("message", ""))
        fix = failure.get("fix") or "See the check's details."
        out.append(
            f'<li><a class="oin-what" href="#{escape(anchor(cid))}"><b>'
            f"{escape(check['title'])}</b></a> <code>{escape(cid)}</code>"
            f'<span class="oin-what">{escape(found)}</span>'
            f'<span class="oin-what"><span class="oin-fix">Fix: {escape(fix)}</span></span></li>'
        )
    out.append("</ol>")
    return out


def inconclusive_groups(checks: list[dict[str, Any]]) -> list[str]:
    """Inconclusive checks grouped by cause (one cause, an unreachable app, often stops many)."""
    unjudged = [c for c in checks if c["outcome"] == "inconclusive"]
    if not unjudged:
        return []
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for check in unjudged:
        failure = check.get("failure") or {}
        groups.setdefault((str(failure.get("title", "")), str(failure.get("fix", ""))), []).append(
            check
        )
    by_id = {c["id"]: c for c in checks}
    out = [
        f'<h3 id="oin-inconclusive">Could not judge the app ({len(unjudged)}): a blocking one '
        "blocks; make the check able to judge, then run it again</h3>"
        '<ol class="oin-list oin-inconclusive">'
    ]
    for (title, fix), group in groups.items():
        ids = [c["id"] for c in group]
        blocking = sum(c["severity"] == "blocking" for c in group)
        shown = ", ".join(check_link(i, by_id) for i in ids[:GROUP_SHOWN])
        more = f" and {len(ids) - GROUP_SHOWN} more" if len(ids) > GROUP_SHOWN else ""
        out.append(
            f"<li><b>{escape(title)}</b> ({len(ids)} check(s), {blocking} blocking)"
            f'<span class="oin-what">{shown}{escape(more)}</span>'
            f'<span class="oin-what"><span class="oin-fix">Fix: {escape(fix)}</span></span></li>'
        )
    out.append("</ol>")
    return out


def last_line(text: str) -> str:
    lines = [line for line in str(text).splitlines() if line.strip()]
    return lines[-1] if lines else ""


# -- the requirement matrix ------------------------------------------------------------------


def matrix(
    payload: dict[str, Any], catalogue: dict[str, list[dict[str, str]]], redact: Redact
) -> list[str]:
    """Per protocol: every requirement of the catalogue -> its checks -> their outcomes."""
    checks = payload["checks"]
    counts = Counter(outcome_key(c) for c in checks)
    spelled = ", ".join(
        f"{counts[k]} {OUTCOME_LABEL[k].lower()}" for k in OUTCOME_LABEL if counts.get(k)
    )
    out = [
        '<h3 id="oin-matrix">Requirement matrix: every OIN requirement, its checks and their '
        "outcomes</h3>",
        f'<p class="oin-run-count">{len(checks)} checks listed: {escape(spelled or "none")}; '
        f"took {payload['duration_s']:.1f} s.</p>",
    ]
    req_protocol = {r["id"]: proto for proto, reqs in catalogue.items() for r in reqs}
    by_req: dict[str, list[dict[str, Any]]] = {}
    for check in checks:
        by_req.setdefault(check["requirement"], []).append(check)
    for proto in protocol_order(payload["protocols"], catalogue):
        v = payload["protocols"].get(proto)
        reqs = [dict(r) for r in catalogue.get(proto, [])]
        known = {r["id"] for r in reqs}
        # Requirements a check names that the catalogue does not place here (none today).
        for check in checks:
            rid = check["requirement"]
            if req_protocol.get(rid, check["protocol"]) == proto and rid not in known:
                known.add(rid)
                reqs.append(
                    {
                        "id": rid,
                        "title": check.get("requirement_title", ""),
                        "url": check.get("requirement_url", ""),
                    }
                )
        out += protocol_section(proto, v, reqs, by_req, redact)
    return out


def protocol_order(
    verdicts: dict[str, Any], catalogue: dict[str, list[dict[str, str]]]
) -> list[str]:
    names = [p for p in PROTOCOLS if p in verdicts or p in catalogue]
    return names + [p for p in [*verdicts, *catalogue] if p not in names]


def protocol_section(
    proto: str,
    verdict: dict[str, Any] | None,
    reqs: list[dict[str, str]],
    by_req: dict[str, list[dict[str, Any]]],
    redact: Redact,
) -> list[str]:
    status = verdict["status"] if verdict else "not_run"
    label = PROTOCOL_LABEL.get(proto, proto)
    out = [
        f'<section class="oin-proto" id="proto-{escape(proto)}">'
        f'<h3>{escape(label)} <span class="oin-v oin-s-{escape(status)}">'
        f"{escape(STATUS_LABEL[status])}</span></h3>"
    ]
    if verdict:
        out.append(f'<p class="oin-quiet">{escape(verdict.get("reason", ""))}</p>')
    body: list[str] = []
    for req in reqs:
        body += requirement_block(req, by_req.get(req["id"], []), proto, redact)
    if status == "not_configured":
        # Nothing ran: the requirements are listed, closed, for coverage.
        out.append(
            f"<details><summary>{len(reqs)} requirement(s) of {escape(label)}, not tested"
            "</summary>" + "".join(body) + "</details>"
        )
    else:
        out += body
    out.append("</section>")
    return out


def requirement_block(
    req: dict[str, str], checks: list[dict[str, Any]], proto: str, redact: Redact
) -> list[str]:
    mine = [c for c in checks]
    counts = Counter(outcome_key(c) for c in mine)
    if not mine:
        summary = chip("none", "no check ran")
    else:
        worst = next(
            (k for k in ("failed", "error", "inconclusive", "advisory", "not_run") if counts[k]),
            "passed" if counts["passed"] else "skipped",
        )
        spelled = ", ".join(
            f"{counts[k]} {OUTCOME_LABEL[k].lower()}" for k in OUTCOME_LABEL if counts.get(k)
        )
        summary = chip(worst, spelled)
    title = link(req.get("url", ""), escape(req.get("title", "")))
    out = [
        f'<div class="oin-req" id="req-{escape(req["id"])}">'
        f'<div class="oin-req-head">{summary}<span class="oin-req-id">{escape(req["id"])}</span>'
        f"<span>{title}</span></div>"
    ]
    if mine:
        out.append('<ul class="oin-checks">')
        for check in mine:
            out.append(f"<li>{check_entry(check, redact)}</li>")
        out.append("</ul>")
    out.append("</div>")
    return out


def check_entry(check: dict[str, Any], redact: Redact = str) -> str:
    """A check in the matrix: one line, opening onto its details (failures open)."""
    key = outcome_key(check)
    is_open = key in ("failed", "error", "inconclusive", "advisory")
    return (
        f'<details class="oin-check oin-c-{escape(key)}" id="{escape(anchor(check["id"]))}"'
        f"{' open' if is_open else ''}><summary>{chip(key)} {escape(check['title'])} "
        f'<code class="oin-id">{escape(check["id"])}</code>'
        f"{' <small>(advisory)</small>' if check.get('severity') == 'advisory' else ''}"
        f"</summary>{check_html(check, redact)}</details>"
    )


def check_html(check: dict[str, Any], redact: Redact = str) -> str:
    """One check's requirement, outcome, re-run command and conversation, escaped."""
    out = ['<div class="oin-detail">']
    requirement = link(str(check.get("requirement_url", "")), escape(check.get("requirement", "")))
    out.append(
        f"<p>Requirement {requirement}: {escape(check.get('requirement_title', ''))}"
        f" · {escape(check.get('severity', ''))} · <code>{escape(check['id'])}</code></p>"
    )
    doc = str(check.get("description", ""))
    rest = doc.split("\n", 1)[1].strip() if "\n" in doc else ""
    if rest:
        out.append(f'<p class="oin-doc">{escape(rest)}</p>')
    refs = check.get("references") or []
    if refs:
        links = ", ".join(link(str(r["url"]), escape(r["id"])) for r in refs)
        out.append(f"<p>Advisories of this shape: {links}</p>")
    outcome = check.get("outcome")
    failure = check.get("failure")
    if failure:
        out.append("<dl>")
        for key in ("title", "seen", "expected", "fix"):
            css = ' class="oin-fixdd"' if key == "fix" else ""
            out.append(
                f"<dt>{'What was found' if key == 'title' else key.title()}</dt>"
                f"<dd{css}><pre>{escape(str(failure.get(key, '')))}</pre></dd>"
            )
        out.append("</dl>")
    elif outcome == "skipped":
        out.append(f"<p>Skipped: {escape(str(check.get('skip_reason', '')))}</p>")
    elif outcome == "not_run":
        out.append("<p>Not run: selected, but the run stopped before it.</p>")
    if check.get("message"):
        out.append(f"<p>What pytest saw:</p><pre>{escape(str(check['message']))}</pre>")
    out.append(f"<p>Re-run just this check: <code>{escape(check.get('rerun', ''))}</code></p>")
    notes = check.get("notes") or []
    if notes:
        out.append(
            f"<details><summary>Harness notes ({len(notes)})</summary>"
            + "".join(f"<pre>{escape(str(n))}</pre>" for n in notes)
            + "</details>"
        )
    for title, content in check.get("captured") or []:
        out.append(
            f"<details><summary>{escape(str(title))}</summary><pre>{escape(str(content))}</pre>"
            "</details>"
        )
    exchanges = check.get("transcript") or []
    if exchanges:
        out.append(conversation_html(exchanges, redact, open_=bool(failure)))
    out.append("</div>")
    return "".join(out)


# -- a transcript as a conversation ----------------------------------------------------------


def conversation_html(exchanges: list[dict[str, Any]], redact: Redact, open_: bool) -> str:
    turns = conversation(exchanges, redact)
    speakers = sorted(
        {p for t in walk(turns) for p in (t.sender, t.receiver)},
        key=lambda p: [BROWSER, APP, OKTA].index(p) if p in (BROWSER, APP, OKTA) else 9,
    )
    return (
        f'<details class="oin-convo-box"{" open" if open_ else ""}><summary>'
        f"Conversation: {len(exchanges)} HTTP exchange(s) between "
        f"{escape(', '.join(speakers))}</summary>"
        f'<ol class="oin-convo">{"".join(turn_html(t) for t in turns)}</ol></details>'
    )


def walk(turns: Iterable[Turn]) -> Iterable[Turn]:
    for turn in turns:
        yield turn
        yield from walk(turn.side)


def party(name: str) -> str:
    return f'<span class="oin-party oin-p-{escape(name.lower())}">{escape(name)}</span>'


def turn_html(turn: Turn) -> str:
    ex = turn.exchange
    url = str(ex.get("url", ""))
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if len(path) > PATH_SHOWN:
        path = path[:PATH_SHOWN] + "…"
    out = [
        '<li class="oin-turn"><div class="oin-turn-head">'
        f'<span class="oin-n">{escape(turn.number)}</span>{party(turn.sender)}'
        f"<span>→</span>{party(turn.receiver)}"
        f"<code>{escape(str(ex.get('method', '')))} {escape(path)}</code>"
        f'<span class="oin-host">{escape(parts.netloc)}</span></div>'
    ]
    if turn.back_channel:
        out.append('<div class="oin-turn-note">back channel: the app calls Okta directly</div>')
    elif ex.get("note"):
        out.append(f'<div class="oin-turn-note">{escape(str(ex["note"]))}</div>')
    out.append(f'<div class="oin-turn-resp">{response_line(turn)}</div>')
    for label, text in turn.messages.items():
        out.append(
            f"<details><summary>Decoded: {escape(label)}</summary><pre>{escape(text)}</pre>"
            "</details>"
        )
    out.append(
        "<details><summary>HTTP request and response, curl</summary>"
        f"<pre>{escape(request_text(ex))}</pre><pre>{escape(response_text(ex))}</pre>"
        f"<pre>{escape(curl(ex))}</pre></details>"
    )
    if turn.side:
        out.append(
            f'<div class="oin-side"><p>While answering, the {escape(turn.receiver.lower())} '
            f"called Okta ({len(turn.side)}):</p>"
            f'<ol class="oin-convo">{"".join(turn_html(t) for t in turn.side)}</ol></div>'
        )
    out.append("</li>")
    return "".join(out)


def response_line(turn: Turn) -> str:
    ex = turn.exchange
    status = ex.get("status")
    took = f"{ex.get('elapsed_ms', 0)} ms"
    if status is None:
        return (
            f"✕ no answer from the {escape(turn.receiver.lower())}: "
            f"{escape(str(ex.get('error', '')))} ({escape(took)})"
        )
    try:
        phrase = HTTPStatus(int(status)).phrase
    except ValueError:
        phrase = ""
    text = f"← {party(turn.receiver)} answers <b>{escape(str(status))} {escape(phrase)}</b>"
    if turn.redirect:
        target, who = turn.redirect
        where = "Okta" if who == OKTA else f"the {who.lower()}"
        text += f" · redirects the browser to {escape(where)}: <code>{escape(target)}</code>"
    else:
        ctype = header(ex.get("response_headers") or {}, "Content-Type") or ""
        size = len(str(ex.get("response_body", "")))
        if ctype or size:
            text += f" · {escape(str(ctype).split(';')[0] or 'body')}, {size} characters"
    return f"{text} · {escape(took)}"


def request_text(ex: dict[str, Any]) -> str:
    head = "\n".join(f"{k}: {v}" for k, v in (ex.get("request_headers") or {}).items())
    return f"{ex.get('method', '')} {ex.get('url', '')}\n{head}\n\n{ex.get('request_body', '')}"


def response_text(ex: dict[str, Any]) -> str:
    if ex.get("status") is None:
        return f"(no response: {ex.get('error', '')})"
    head = "\n".join(f"{k}: {v}" for k, v in (ex.get("response_headers") or {}).items())
    return f"HTTP {ex['status']}\n{head}\n\n{ex.get('response_body', '')}"


def curl(ex: dict[str, Any]) -> str:
    if ex.get("curl"):
        return str(ex["curl"])
    fields = {k: v for k, v in ex.items() if k in Exchange.__dataclass_fields__}
    return Exchange(**fields).curl()


def run_details(payload: dict[str, Any]) -> list[str]:
    libs = ", ".join(f"{k} {v}" for k, v in payload["libraries"].items())
    return [
        '<details class="oin-about"><summary>About this run: harness '
        f"{escape(payload['harness_version'])}, seed {payload['seed']}, started "
        f"{escape(payload['started'])}</summary><p>"
        f"Python {escape(payload['python'])} on {escape(payload['platform'])}; {escape(libs)}"
        f"<br>target {escape(payload['target_path'])} (sha256 "
        f"{escape(payload['target_sha256'])})<br>Reproduce: <code>pytest --oin-target="
        f"{escape(payload['target_path'])} --oin-seed={payload['seed']}</code></p></details>"
    ]
