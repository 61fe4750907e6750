// What a person sees, measured in the page: returns a list of defects (strings).
// Run by tests/browser/test_every_page.py on every page at every width.
() => {
  const out = [];
  const vw = document.documentElement.clientWidth;

  const visible = (el) => {
    if (!el || !el.getClientRects().length) return false;
    const s = getComputedStyle(el);
    return s.visibility !== "hidden" && s.display !== "none" && s.opacity !== "0";
  };
  const desc = (el) => {
    let d = el.tagName.toLowerCase();
    if (el.id) d += "#" + el.id;
    if (el.classList && el.classList.length) d += "." + [...el.classList].join(".");
    const text = (el.textContent || "").trim().replace(/\s+/g, " ").slice(0, 24);
    return text ? `${d} "${text}"` : d;
  };
  // Inside an element scrolled on purpose (a wide table in .table-scroll)?
  const inScroller = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === "auto" || o === "scroll") return true;
    }
    return false;
  };

  // 1. No sideways scroll: the page is no wider than the viewport.
  const sw = document.documentElement.scrollWidth;
  if (sw > vw + 1) {
    const wide = [...document.body.querySelectorAll("*")].filter(
      (el) => el.getBoundingClientRect().right > vw + 1 && visible(el) && !inScroller(el)
    );
    const leaves = wide.filter((el) => !wide.some((o) => o !== el && el.contains(o)));
    out.push(
      `sideways scroll: page ${sw}px wide in a ${vw}px viewport; too wide: ` +
        leaves.slice(0, 3).map(desc).join(", ")
    );
  }

  // 2. Every progress bar shows its percentage.
  for (const bar of document.querySelectorAll(".progress")) {
    const r = bar.getBoundingClientRect();
    if (!visible(bar) || r.width === 0) continue;
    const label = bar.getAttribute("aria-label") || desc(bar);
    const pct = parseFloat(bar.getAttribute("aria-valuenow"));
    if (Number.isNaN(pct)) {
      out.push(`progress "${label}": no aria-valuenow`);
      continue;
    }
    const fill = bar.querySelector("rect, span");
    if (!fill) {
      out.push(`progress "${label}": no fill element`);
      continue;
    }
    const f = fill.getBoundingClientRect();
    const w = Math.max(0, Math.min(f.right, r.right) - Math.max(f.left, r.left));
    const h = Math.max(0, Math.min(f.bottom, r.bottom) - Math.max(f.top, r.top));
    const shown = (100 * w) / r.width;
    if (pct > 0 && h < Math.min(4, r.height)) {
      out.push(`progress "${label}" ${pct}%: fill not visible (visible height ${h.toFixed(1)}px)`);
    } else if (Math.abs(shown - pct) > 2) {
      out.push(`progress "${label}" ${pct}%: fill shows ${shown.toFixed(1)}%`);
    }
  }

  // 3. Text: no box narrower than two characters (one character per line), no
  //    text too small to read (HTML under 11px; SVG chart text scaled under 10px).
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const narrow = new Set();
  const tiny = new Set();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.nodeValue.replace(/\s+/g, "");
    const el = node.parentElement;
    if (!text || !el || el.closest("script, style, noscript, svg") || !visible(el)) continue;
    const fs = parseFloat(getComputedStyle(el).fontSize);
    const range = document.createRange();
    range.selectNodeContents(node);
    const rects = [...range.getClientRects()].filter((x) => x.width > 0 && x.height > 0);
    if (!rects.length) continue;
    if (rects.every((x) => x.right < 0 || x.left > vw)) continue; // off-screen (skip link)
    if (text.length >= 2 && rects.length >= 2) {
      const widest = Math.max(...rects.map((x) => x.width));
      if (widest < 1.9 * fs) narrow.add(desc(el));
    }
    if (fs < 11) tiny.add(`${desc(el)} ${fs}px`);
  }
  for (const t of document.querySelectorAll("svg text")) {
    if (!visible(t) || !t.textContent.trim()) continue;
    const m = t.getScreenCTM();
    if (!m) continue;
    const px = parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b);
    if (px < 10) tiny.add(`svg text "${t.textContent.trim().slice(0, 16)}" ${px.toFixed(1)}px`);
  }
  for (const d of [...narrow].slice(0, 5)) out.push(`one character per line: ${d}`);
  if (narrow.size > 5) out.push(`one character per line: ${narrow.size - 5} more`);
  for (const d of [...tiny].slice(0, 5)) out.push(`text too small: ${d}`);
  if (tiny.size > 5) out.push(`text too small: ${tiny.size - 5} more`);

  // 4. Labels: none shown twice (a row/column header and td::before on phones),
  //    and on a stacked table every cell that shows a value has a label.
  const header = (cell) => {
    const row = cell.closest("tr");
    const table = cell.closest("table");
    return [...row.querySelectorAll("th"), ...table.querySelectorAll("thead th")].filter(
      (h) => h !== cell && visible(h)
    );
  };
  const twice = new Set();
  const unlabelled = new Set();
  for (const cell of document.querySelectorAll("table td")) {
    if (!visible(cell)) continue;
    const before = getComputedStyle(cell, "::before");
    const shown =
      before.content && before.content !== "none" && before.content !== "normal" &&
      before.content !== '""' && before.display !== "none";
    const label = (cell.dataset.label || "").trim();
    const headers = header(cell);
    if (shown && label && headers.some((h) => h.textContent.trim() === label)) {
      twice.add(`${label} (${desc(cell.closest("table"))})`);
    }
    const table = cell.closest("table");
    const stacked = getComputedStyle(cell).display !== "table-cell";
    // Text outside links and buttons needs a label; "登记捐赠" or "停用" says itself.
    const bare = [...cell.querySelectorAll("*")].reduce(
      (t, el) => (el.matches("a, button") ? t.replace(el.textContent, "") : t),
      cell.textContent
    );
    if (stacked && !shown && !headers.length && !cell.hasAttribute("colspan") &&
        bare.trim() && table.querySelector("thead")) {
      unlabelled.add(desc(table));
    }
  }
  // 5. A checkbox or radio has its text beside it, not on a line below.
  for (const box of document.querySelectorAll("input[type=checkbox], input[type=radio]")) {
    const label = box.labels && box.labels[0];
    if (!visible(box) || !label || !visible(label)) continue;
    const b = box.getBoundingClientRect();
    const text = [...label.childNodes].find((n) => n.nodeType === 3 && n.nodeValue.trim());
    if (!text) continue;
    const range = document.createRange();
    range.selectNodeContents(text);
    const t = range.getBoundingClientRect();
    if (t.top > b.bottom || t.bottom < b.top) {
      out.push(`option text not beside its box: "${text.nodeValue.trim().slice(0, 16)}"`);
    }
  }
  for (const d of twice) out.push(`label shown twice: ${d}`);
  for (const d of unlabelled) out.push(`stacked table cells without labels: ${d}`);
  return out;
}
