// Reads a rendered readiness report into a "pre" element with the id oin-probe (dumped with
// --dump-dom): first-screen contents and positions, the requirement matrix, text under 4.5:1 contrast,
// scroll boxes inside the page, and anything hostile that became live. Used by
// tests/test_report_rendering.py.
// Synchronous in the load event: --dump-dom reads the page right after it.
window.addEventListener("load", () => {
  const vh = window.innerHeight, vw = window.innerWidth;
  const box = (el) => el ? el.getBoundingClientRect() : null;
  const shown = (el) => { const r = box(el); return !!r && r.width > 0 && r.height > 0; };
  const top = (sel) => { const el = document.querySelector(sel); return shown(el) ? box(el).top : null; };
  const linked = (sel) => [...document.querySelectorAll(sel + " li")].map((li) => {
    const a = li.querySelector("a[href^='#']");
    const id = a ? decodeURIComponent(a.getAttribute("href").slice(1)) : null;
    const target = id ? document.getElementById(id) : null;
    return {text: li.innerText, bottom: box(li).bottom, target: id,
            target_found: !!target, target_open: !!(target && target.open)};
  });
  const lum = (rgb) => { const c = rgb.map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]; };
  const rgba = (s) => (s.match(/[\d.]+/g) || []).map(Number);
  const background = (el) => { for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor); if (c.length >= 3 && (c.length < 4 || c[3] > 0.5)) return c.slice(0, 3); }
    return [255, 255, 255]; };
  const lowContrast = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (el.id === "oin-probe" || ["SCRIPT", "STYLE", "TEMPLATE"].includes(el.tagName)) continue;
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !shown(el)) continue;
    const fg = lum(rgba(getComputedStyle(el).color).slice(0, 3)), bg = lum(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    if (ratio < 4.5) lowContrast.push({tag: el.tagName, cls: el.className, text: el.textContent.trim().slice(0, 40), ratio});
  }
  const scrollers = [];
  for (const el of document.body.querySelectorAll("*")) {
    const s = getComputedStyle(el);
    const scrolls = (o) => o === "auto" || o === "scroll";
    if ((scrolls(s.overflowY) && el.scrollHeight > el.clientHeight + 1) ||
        (scrolls(s.overflowX) && el.scrollWidth > el.clientWidth + 1)) {
      scrollers.push(el.tagName + "." + el.className);
    }
  }
  const sections = {};
  for (const sec of document.querySelectorAll(".oin-proto")) {
    sections[sec.id] = {
      requirements: [...sec.querySelectorAll(".oin-req")].map((r) => r.id.replace(/^req-/, "")),
      checks: [...sec.querySelectorAll("details.oin-check")].map((d) => ({
        id: d.id.replace(/^check-/, ""), open: d.open,
        outcome: [...d.classList].find((c) => c.startsWith("oin-c-")).slice(6)})),
    };
  }
  const out = {
    viewport: [vw, vh],
    page_width: document.documentElement.scrollWidth,
    verdict: document.getElementById("oin-verdict")?.innerText,
    verdict_bottom: box(document.getElementById("oin-verdict"))?.bottom,
    tiles: [...document.querySelectorAll(".oin-tiles .oin-tile")].map((t) => ({text: t.innerText, bottom: box(t).bottom})),
    blockers: linked(".oin-blockers"), inconclusive: linked(".oin-inconclusive"),
    advisories: linked(".oin-advisories"),
    order: {verdict: top("#oin-verdict"), tiles: top(".oin-tiles"), blockers: top("#oin-blockers"),
            inconclusive: top("#oin-inconclusive"), advisories: top("#oin-advisories"),
            matrix: top("#oin-matrix"), results: top("#results-table"),
            environment: top("#environment")},
    run_count: document.querySelector(".oin-run-count")?.innerText,
    pytest_html_run_count_shown: shown(document.querySelector(".run-count")),
    matrix_checks: document.querySelectorAll("details.oin-check").length,
    table_rows: document.querySelectorAll("#results-table tbody.results-table-row").length,
    row_links: [...document.querySelectorAll("#results-table .col-testId a")].map((a) => a.getAttribute("href")),
    sections,
    red_lines: document.querySelectorAll(".log span.error").length,
    no_log_text: document.body.innerText.includes("No log output captured."),
    logs: document.querySelectorAll("#results-table .log").length,
    turns: [...new Set([...document.querySelectorAll(".oin-turn-head")].map((h) =>
      [...h.querySelectorAll(".oin-party")].map((p) => p.textContent).join(">")))],
    side_turns: document.querySelectorAll(".oin-side .oin-turn").length,
    low_contrast: lowContrast.slice(0, 20), scrollers,
    pwned: document.querySelectorAll("#pwned, [onerror]").length,
    pwned_attr: document.body.dataset.pwned || null, title: document.title,
    scripts: document.querySelectorAll("script").length,
  };
  finish(out);
  function finish(result) {
    const pre = document.createElement("pre");
    pre.id = "oin-probe"; pre.style.order = "99";
    pre.textContent = JSON.stringify(result);
    document.body.appendChild(pre);
  }
});
