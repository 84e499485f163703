// inspect_html_assets.hpp — the fixed parts of the page write_html() writes:
// the style sheet, the explorer's markup and its script. Inline only: the
// page must work from a file, offline.
//
// The script reads the graph from <script id="heap-data">: {start, nodes:
// [{type, repr, root, garbage, tracked, refcount, site (when recorded),
// out: [[id, field]...], outMore, in: [[id, field]...], inMore}]}. select(id) draws the object in
// the middle of the SVG, its referrers in a column on the left, its
// referents on the right, and lists both in the side panel; clicking any
// object (in the SVG, the panel or the reports) selects it.
#pragma once

namespace ouro::detail {

inline constexpr const char* kHtmlHead = R"HTML(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ouroboros heap report</title>
<style>
:root { --root: #d6ecff; --root-line: #2f6fb0; --garbage: #ffe1e1; --garbage-line: #c62828; --line: #9aa5b1; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2933; background: #f5f7fa; }
header { padding: 14px 24px; background: #243b53; color: #fff; }
header h1 { margin: 0 0 4px; font-size: 20px; }
header p { margin: 0; color: #d9e2ec; }
main { display: grid; grid-template-columns: minmax(360px, 2fr) 3fr; gap: 20px; padding: 20px 24px; align-items: start; }
section { background: #fff; border: 1px solid #d9e2ec; border-radius: 6px; padding: 12px 16px; margin-bottom: 20px; }
h2 { font-size: 16px; margin: 0 0 10px; }
h3 { font-size: 14px; margin: 8px 0 4px; font-weight: 600; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #eef2f6; }
th { background: #f0f4f8; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
ul.edges, .chain ol { margin: 4px 0 8px; padding-left: 22px; }
p.shortest { margin: 4px 0; line-height: 1.6; }
.site { color: #7b8794; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
.cycle { border-left: 4px solid var(--line); padding-left: 10px; margin-bottom: 10px; }
.cycle.garbage { border-left-color: var(--garbage-line); }
a.obj { color: #0b5cad; text-decoration: none; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px; }
a.obj:hover { text-decoration: underline; }
a.obj.garbage { color: var(--garbage-line); }
span.obj { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px; }
.field { color: #7b8794; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
.badge { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 11px; font-weight: 600; border: 1px solid; }
.badge.root { background: var(--root); border-color: var(--root-line); color: #1b4b7a; }
.badge.garbage { background: var(--garbage); border-color: var(--garbage-line); color: #8e1c1c; }
.badge.alive { background: #e3f9e5; border-color: #3f9142; color: #1f5f23; }
.badge.untracked { background: #fff; border-style: dashed; border-color: #7b8794; color: #52606d; }
.legend .badge { margin-left: 10px; }
.more { color: #7b8794; }
#explorer { position: sticky; top: 12px; }
#graph { display: block; width: 100%; height: auto; border: 1px solid #e4e7eb; border-radius: 4px; background: #fbfcfd; }
#graph .node { cursor: pointer; }
#graph .node rect { fill: #fff; stroke: #52606d; stroke-width: 1.2; }
#graph .node.root rect { fill: var(--root); stroke: var(--root-line); }
#graph .node.garbage rect { fill: var(--garbage); stroke: var(--garbage-line); }
#graph .node.untracked rect { stroke-dasharray: 4 3; }
#graph .node.center rect { stroke-width: 3; }
#graph .node:hover rect { stroke: #0b5cad; stroke-width: 2; }
#graph .repr { font: 14px ui-monospace, Menlo, Consolas, monospace; fill: #1f2933; }
#graph .type { font-size: 12px; fill: #7b8794; }
#graph .arc { stroke: var(--line); stroke-width: 1.3; fill: none; marker-end: url(#arrow); }
#graph .arc-label { font: 12px ui-monospace, Menlo, Consolas, monospace; fill: #52606d; paint-order: stroke; stroke: #fbfcfd; stroke-width: 3px; }
#graph .column-title { font-size: 13px; fill: #7b8794; font-weight: 600; }
#details { font-size: 13px; overflow-wrap: anywhere; margin-top: 10px; }
#details h3 { font-family: ui-monospace, Menlo, Consolas, monospace; margin: 0 0 2px; }
#details p { margin: 0 0 6px; }
#details h4 { margin: 4px 0 2px; font-size: 13px; }
#details .lists { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
#details ul { padding-left: 18px; margin: 0; max-height: 180px; overflow: auto; }
#search { width: 100%; padding: 5px 8px; margin-bottom: 6px; border: 1px solid #cbd2d9; border-radius: 4px; }
#matches { list-style: none; padding: 0; margin: 0 0 8px; max-height: 120px; overflow: auto; }
</style></head><body>
)HTML";

inline constexpr const char* kHtmlExplorer = R"HTML(<section id="explorer"><h2>Explorer</h2>
<input id="search" type="search" placeholder="find an object by type or repr"><ul id="matches"></ul>
<svg id="graph" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 880 470" role="img" aria-label="object graph around the selected object">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
<path d="M 0 0 L 10 5 L 0 10 z" fill="#9aa5b1"/></marker></defs><g id="graph-content"></g></svg>
<div id="details"><p>Click an object to see its referrers and referents.</p></div>
</section>
)HTML";

inline constexpr const char* kHtmlScript = R"HTML(<script>
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("heap-data").textContent);
  const nodes = data.nodes;
  const svgNS = "http://www.w3.org/2000/svg";
  const content = document.getElementById("graph-content");
  const details = document.getElementById("details");
  const W = 236, H = 42, PER_COLUMN = 9, WIDTH = 880, HEIGHT = 470;

  function el(name, attrs, text) {
    const e = document.createElementNS(svgNS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function cut(s, n) { return s.length > n ? s.slice(0, n - 1) + "\u2026" : s; }
  function classes(n) {
    return (n.root ? " root" : "") + (n.garbage ? " garbage" : "") + (n.tracked ? "" : " untracked");
  }
  function drawNode(id, x, y, extra) {
    const n = nodes[id];
    const g = el("g", { "class": "node" + classes(n) + (extra || ""), "data-id": id, transform: "translate(" + x + "," + y + ")" });
    g.appendChild(el("title", {}, n.repr + " (" + n.type + ")"));
    g.appendChild(el("rect", { x: -W / 2, y: -H / 2, width: W, height: H, rx: 5 }));
    const sameName = n.repr.indexOf(n.type) === 0;  // "Page(1)" needs no "Page" below it
    const note = ((sameName ? "" : n.type) + (n.root ? " root" : "") + (n.garbage ? " garbage" : "") +
        (n.tracked ? "" : " untracked")).trim();
    g.appendChild(el("text", { "class": "repr", x: 0, y: note ? -3 : 5, "text-anchor": "middle" }, cut(n.repr, 26)));
    if (note) g.appendChild(el("text", { "class": "type", x: 0, y: 13, "text-anchor": "middle" }, note));
    g.addEventListener("click", function () { select(id); });
    content.appendChild(g);
  }
  // The label sits next to the side object's box, where arcs are still apart.
  function drawArc(x1, y1, x2, y2, label, labelAtStart) {
    const mx = (x1 + x2) / 2;
    content.appendChild(el("path", { "class": "arc", d: "M" + x1 + "," + y1 + " C" + mx + "," + y1 + " " + mx + "," + y2 + " " + x2 + "," + y2 }));
    if (!label) return;
    const lx = labelAtStart ? x1 + 6 : x2 - 14, ly = (labelAtStart ? y1 : y2) - 6;
    content.appendChild(el("text", { "class": "arc-label", x: lx, y: ly, "text-anchor": labelAtStart ? "start" : "end" }, "." + label));
  }
  // Referrers on the left, referents on the right, the object in the middle.
  function drawColumn(arcs, more, x, title, leftOfCenter, cx, cy, height) {
    const shown = arcs.slice(0, PER_COLUMN);
    const hidden = arcs.length - shown.length + more;
    content.appendChild(el("text", { "class": "column-title", x: x, y: 18, "text-anchor": "middle" }, title + " (" + (arcs.length + more) + ")"));
    const step = Math.min(60, (height - 80) / Math.max(shown.length, 1));
    const top = cy - step * (shown.length - 1) / 2;
    shown.forEach(function (a, i) {
      const y = top + i * step;
      if (leftOfCenter) drawArc(x + W / 2, y, cx - W / 2, cy, a[1], true);
      else drawArc(cx + W / 2, cy, x - W / 2, y, a[1], false);
      drawNode(a[0], x, y, "");
    });
    if (hidden > 0) content.appendChild(el("text", { "class": "column-title", x: x, y: height - 10, "text-anchor": "middle" }, "+ " + hidden + " more"));
  }
  function link(id, field) {
    const n = nodes[id];
    const li = document.createElement("li");
    if (field !== undefined) {
      const f = document.createElement("span");
      f.className = "field";
      f.textContent = (field ? "." + field : "(unnamed)") + " ";
      li.appendChild(f);
    }
    const a = document.createElement("a");
    a.href = "#explorer";
    a.className = "obj" + (n.garbage ? " garbage" : "");
    a.dataset.node = id;
    a.textContent = n.repr;
    li.appendChild(a);
    return li;
  }
  function list(parent, title, id, arcs, more) {
    const box = document.createElement("div");
    const h = document.createElement("h4");
    h.textContent = title + " (" + (arcs.length + more) + ")";
    const ul = document.createElement("ul");
    ul.id = id;
    arcs.forEach(function (a) { ul.appendChild(link(a[0], a[1])); });
    if (more > 0) { const li = document.createElement("li"); li.className = "more"; li.textContent = more + " not in this page"; ul.appendChild(li); }
    box.appendChild(h);
    box.appendChild(ul);
    parent.appendChild(box);
  }
  function badge(cls, text) { const b = document.createElement("span"); b.className = "badge " + cls; b.textContent = text; return b; }
  function showDetails(id) {
    const n = nodes[id];
    details.textContent = "";
    const h = document.createElement("h3");
    h.textContent = n.repr;
    details.appendChild(h);
    const p = document.createElement("p");
    p.id = "selected-info";
    p.textContent = n.type + (n.tracked ? ", refcount " + n.refcount + " " : ", untracked, refcount " + n.refcount + " ");
    if (n.root) p.appendChild(badge("root", "root"));
    if (n.garbage) p.appendChild(badge("garbage", "garbage"));
    if (!n.tracked) p.appendChild(badge("untracked", "untracked"));
    details.appendChild(p);
    if (n.site) {
      const s = document.createElement("p");
      s.className = "site";
      s.textContent = "made at " + n.site;
      details.appendChild(s);
    }
    const lists = document.createElement("div");
    lists.className = "lists";
    list(lists, "Referrers", "referrers", n.in, n.inMore);
    list(lists, "Referents", "referents", n.out, n.outMore);
    details.appendChild(lists);
  }
  function select(id) {
    if (id < 0 || id >= nodes.length) return;
    const width = WIDTH, height = HEIGHT, cx = width / 2, cy = height / 2;
    content.textContent = "";
    const n = nodes[id];
    drawColumn(n.in, n.inMore, W / 2 + 10, "referrers", true, cx, cy, height);
    drawColumn(n.out, n.outMore, width - W / 2 - 10, "referents", false, cx, cy, height);
    drawNode(id, cx, cy, " center");
    showDetails(id);
    document.getElementById("explorer").dataset.selected = id;
  }
  document.addEventListener("click", function (e) {
    const a = e.target.closest("a[data-node]");
    if (!a) return;
    e.preventDefault();
    select(Number(a.dataset.node));
    document.getElementById("explorer").scrollIntoView({ block: "nearest" });
  });
  const search = document.getElementById("search"), matches = document.getElementById("matches");
  search.addEventListener("input", function () {
    matches.textContent = "";
    const q = search.value.toLowerCase();
    if (!q) return;
    let found = 0;
    for (let i = 0; i < nodes.length && found < 30; ++i) {
      if ((nodes[i].repr + " " + nodes[i].type).toLowerCase().indexOf(q) < 0) continue;
      matches.appendChild(link(i));
      ++found;
    }
  });
  select(data.start >= 0 ? data.start : 0);
  window.ouroSelect = select;
})();
</script>
)HTML";

}  // namespace ouro::detail
