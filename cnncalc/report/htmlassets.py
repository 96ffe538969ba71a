"""The report page's stylesheet and script, inlined into the page (no request of any kind).

The script is plain JavaScript with no library: pan (drag) and zoom (wheel) by changing the
graph's viewBox, a click on a node shows that layer's explanation, table headers sort.
"""
from __future__ import annotations

CSP = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
       "img-src data:; base-uri 'none'; form-action 'none'")

CSS = """
*{box-sizing:border-box}
body{margin:0;font:14px/1.4 ui-sans-serif,system-ui,sans-serif;color:#1d2330;background:#f6f7f9}
header{padding:14px 22px;background:#1d2a44;color:#fff}
header h1{margin:0 0 8px;font-size:20px}
.totals{display:flex;flex-wrap:wrap;gap:10px}
.total{background:#2b3a5c;border-radius:6px;padding:6px 12px;min-width:120px}
.total b{display:block;font-size:17px}
.total span{font-size:11px;opacity:.8}
main{padding:12px 22px}
section{background:#fff;border:1px solid #dde1e8;border-radius:8px;margin:0 0 16px;padding:12px 16px}
h2{font-size:16px;margin:0 0 10px}
#graph-wrap{display:flex;gap:12px;height:620px}
#graph-box{flex:1;border:1px solid #dde1e8;border-radius:6px;overflow:hidden;cursor:grab;
 background:#fbfcfe;position:relative}
#graph-box.dragging{cursor:grabbing}
#graph-box svg{width:100%;height:100%;display:block;user-select:none}
#graph-box .node{cursor:pointer}
#zoom{position:absolute;right:8px;top:8px;display:flex;gap:4px}
#zoom button{font:13px sans-serif;border:1px solid #bbc;background:#fff;border-radius:4px;padding:2px 8px}
#explain{width:430px;overflow:auto;border:1px solid #dde1e8;border-radius:6px;padding:8px 10px;
 background:#fff}
#explain pre{margin:0;font:12px/1.45 ui-monospace,Menlo,Consolas,monospace;white-space:pre-wrap}
#explain .hint{color:#778}
.legend{font-size:12px;color:#556;margin:6px 0 0}
.legend i{display:inline-block;width:12px;height:12px;border-radius:3px;margin:0 4px -2px 12px;
 border:2px solid}
table{border-collapse:collapse;width:100%;font-size:12.5px}
th,td{padding:3px 8px;border-bottom:1px solid #eef0f3;text-align:right;white-space:nowrap}
th{background:#f1f3f7;position:sticky;top:0;cursor:pointer;user-select:none}
th.l,td.l{text-align:left}
th[aria-sort=ascending]::after{content:" ▲"}
th[aria-sort=descending]::after{content:" ▼"}
tbody tr:hover{background:#f7f9ff}
tbody tr.selected{background:#fff6cc}
#table-box{max-height:520px;overflow:auto}
.chart{width:100%;height:auto;display:block;margin:0 0 10px}
.chart text{font:11px ui-sans-serif,system-ui,sans-serif;fill:#445}
.chart .ct{font-weight:600;font-size:12.5px;fill:#1d2330}
.chart .ax{stroke:#889}
.chart .grid{stroke:#eceef2}
.chart .ref line{stroke:#c0392b;stroke-dasharray:5 3}
.chart .ref text{fill:#c0392b}
.chart .phase line{stroke:#556;stroke-dasharray:3 3}
.chart .phase text{fill:#556;font-weight:600}
.chart .peak circle{fill:none;stroke:#c0392b;stroke-width:2}
.chart .peak text{fill:#c0392b;font-weight:600;paint-order:stroke;stroke:#fff;stroke-width:4px}
.pass{color:#1e7b34;font-weight:600}
.fail{color:#b3261e;font-weight:600}
.warnings li{color:#8a4b00}
.muted{color:#778}
"""

JS = r"""
(function(){
'use strict';
var explain = JSON.parse(document.getElementById('explain-data').textContent);
var box = document.getElementById('graph-box');
var svg = box.querySelector('svg');
var pane = document.getElementById('explain');
var full = svg.viewBox.baseVal;
var vb = {x: full.x, y: full.y, w: full.width, h: full.height};
function apply(){ svg.setAttribute('viewBox', vb.x+' '+vb.y+' '+vb.w+' '+vb.h); }
function fitTop(){
  // Start at the top of the network, as wide as the drawing (a long chain is tall).
  var r = box.getBoundingClientRect();
  var w = Math.max(full.width * 1.6, 900), h = w * r.height / Math.max(r.width, 1);
  vb = {x: full.x - (w - full.width) / 2, y: full.y, w: w, h: h}; apply();
}
function fitAll(){ vb = {x: full.x, y: full.y, w: full.width, h: full.height}; apply(); }
function toSvg(ev){
  var r = svg.getBoundingClientRect();
  var s = Math.max(vb.w / r.width, vb.h / r.height);
  var ox = (r.width * s - vb.w) / 2, oy = (r.height * s - vb.h) / 2;
  return {x: vb.x - ox + (ev.clientX - r.left) * s, y: vb.y - oy + (ev.clientY - r.top) * s, s: s};
}
box.addEventListener('wheel', function(ev){
  ev.preventDefault();
  var p = toSvg(ev), k = Math.exp(ev.deltaY * 0.0015);
  k = Math.min(Math.max(k, 0.2), 5);
  vb = {x: p.x - (p.x - vb.x) * k, y: p.y - (p.y - vb.y) * k, w: vb.w * k, h: vb.h * k}; apply();
}, {passive: false});
var drag = null, moved = false;
box.addEventListener('pointerdown', function(ev){
  if (ev.target.closest('#zoom')) return;
  drag = {x: ev.clientX, y: ev.clientY, vx: vb.x, vy: vb.y, s: toSvg(ev).s}; moved = false;
});
window.addEventListener('pointermove', function(ev){
  if (!drag) return;
  var dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
  if (Math.abs(dx) + Math.abs(dy) > 3) { moved = true; box.classList.add('dragging'); }
  vb.x = drag.vx - dx * drag.s; vb.y = drag.vy - dy * drag.s; apply();
});
window.addEventListener('pointerup', function(){ drag = null; box.classList.remove('dragging'); });
function select(id, scroll){
  var node = svg.querySelector('[data-node="' + id + '"]');
  if (!node) return;
  svg.querySelectorAll('.node.selected').forEach(function(n){ n.classList.remove('selected'); });
  node.classList.add('selected');
  var pre = document.createElement('pre');
  pre.textContent = explain[id] || '';
  pane.replaceChildren(pre);
  document.querySelectorAll('tbody tr.selected').forEach(function(r){ r.classList.remove('selected'); });
  var row = document.querySelector('tr[data-node="' + id + '"]');
  if (row) row.classList.add('selected');
  if (scroll) {
    var b = node.getBBox();
    vb.x = b.x + b.width / 2 - vb.w / 2; vb.y = b.y + b.height / 2 - vb.h / 2; apply();
  }
}
svg.addEventListener('click', function(ev){
  var node = ev.target.closest('.node');
  if (node && !moved) select(node.getAttribute('data-node'), false);
});
document.getElementById('zoom-in').onclick = function(){ zoomBy(0.7); };
document.getElementById('zoom-out').onclick = function(){ zoomBy(1 / 0.7); };
document.getElementById('zoom-fit').onclick = fitAll;
function zoomBy(k){
  var cx = vb.x + vb.w / 2, cy = vb.y + vb.h / 2;
  vb = {x: cx - vb.w * k / 2, y: cy - vb.h * k / 2, w: vb.w * k, h: vb.h * k}; apply();
}
document.querySelectorAll('table.sortable').forEach(function(table){
  var heads = table.querySelectorAll('th');
  heads.forEach(function(th, col){
    th.addEventListener('click', function(){
      var asc = th.getAttribute('aria-sort') !== 'ascending';
      heads.forEach(function(h){ h.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var numeric = th.classList.contains('n');
      rows.sort(function(a, b){
        var x = a.cells[col].getAttribute('data-v'), y = b.cells[col].getAttribute('data-v');
        var c = numeric ? (parseFloat(x) - parseFloat(y)) : x.localeCompare(y);
        return asc ? c : -c;
      });
      rows.forEach(function(r){ body.appendChild(r); });
    });
  });
  table.tBodies[0].addEventListener('click', function(ev){
    var row = ev.target.closest('tr');
    if (row && row.getAttribute('data-node')) select(row.getAttribute('data-node'), true);
  });
});
fitTop();
})();
"""
