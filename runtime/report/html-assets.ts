/**
 * The HTML report's stylesheet and script, inlined into every report so the file needs no network and no
 * other file. The script is plain ES2020 for any current browser: the IOVA strip's zoom and pan, the spec
 * and sweep-row filters. Everything else (the page-table tree, the collapsible panels) is native
 * <details>, so the report reads even with scripts off.
 */

export const REPORT_CSS = `
:root { --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --dim: #57606a; --line: #d0d7de; --bg2: #f6f8fa;
  --hole: #eaeef2; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1f2328; }
header { padding: 12px 20px; border-bottom: 1px solid var(--line); background: var(--bg2); position: sticky; top: 0;
  z-index: 2; display: flex; gap: 16px; align-items: center; flex-wrap: wrap; }
header h1 { font-size: 18px; margin: 0; }
main { padding: 12px 20px 40px; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
pre { margin: 0; white-space: pre-wrap; word-break: break-all; }
.badge { display: inline-block; padding: 0 6px; border-radius: 10px; font-weight: 600; font-size: 12px; color: #fff; }
.badge.passed { background: var(--ok); } .badge.failed, .badge.invalid { background: var(--bad); }
.badge.skipped, .badge.todo { background: var(--warn); }
.spec { border: 1px solid var(--line); border-radius: 6px; margin: 14px 0; }
.spec > h2 { font-size: 15px; margin: 0; padding: 8px 12px; background: var(--bg2); border-bottom: 1px solid var(--line); }
.spec > h2 .name { font-weight: 400; color: var(--dim); }
.spec .body { padding: 8px 12px; }
.spec.hidden, tr.hidden { display: none; }
.cols { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 14px; }
.cols > .diff { position: sticky; top: 64px; align-self: start; max-height: calc(100vh - 80px); overflow: auto; }
.diff .mm { margin-bottom: 10px; }
.diff .title { color: var(--bad); font-weight: 600; }
.diff .add { color: var(--ok); background: #dafbe1; } .diff .del { color: var(--bad); background: #ffebe9; }
.diff .hunk { color: #0969da; }
details.panel { margin: 8px 0; border: 1px solid var(--line); border-radius: 4px; }
details.panel > summary { cursor: pointer; padding: 4px 8px; background: var(--bg2); font-weight: 600; }
details.panel > .inner { padding: 6px 8px; overflow-x: auto; }
table { border-collapse: collapse; }
td, th { border: 1px solid var(--line); padding: 2px 6px; text-align: left; vertical-align: top; }
th { background: var(--bg2); }
.strip { position: relative; height: 28px; background: repeating-linear-gradient(45deg, var(--hole), var(--hole) 4px,
  #fff 4px, #fff 8px); border: 1px solid var(--line); overflow: hidden; cursor: grab; user-select: none; }
.strip .r { position: absolute; top: 0; bottom: 0; min-width: 1px; }
.stripbar { display: flex; gap: 6px; align-items: center; margin: 4px 0; flex-wrap: wrap; }
.stripbar .view { color: var(--dim); }
.legend span { display: inline-block; width: 10px; height: 10px; margin: 0 3px 0 8px; vertical-align: middle; }
.legend .hole { background: repeating-linear-gradient(45deg, var(--hole), var(--hole) 2px, #fff 2px, #fff 4px);
  border: 1px solid var(--line); }
.tree details { margin-left: 16px; } .tree summary { cursor: pointer; }
.tree .raw { color: #0550ae; } .tree .bits { color: var(--dim); }
.tl td.step { white-space: nowrap; color: var(--dim); }
.chip { display: inline-block; margin: 1px 2px; padding: 0 5px; border-radius: 3px; border: 1px solid var(--line); }
.chip.executed { background: #ddf4ff; } .chip.wait { background: #fff8c5; font-weight: 600; }
.chip.queued { background: #fff; border-style: dashed; color: var(--dim); } .chip.timeout { background: #ffebe9; color: var(--bad); }
.leaked { color: var(--bad); font-weight: 600; }
.log .err, .log .crit, .log .alert, .log .emerg { color: var(--bad); } .log .warn { color: var(--warn); }
.log .debug { color: var(--dim); }
.note { color: var(--warn); }
tr.row-bad td { background: #ffebe9; } tr.row-oops td { background: #fff8c5; }
.filters { display: flex; gap: 8px; margin: 6px 0; align-items: center; }
nav.toc { columns: 2; font-size: 12px; margin: 8px 0; }
nav.toc a { text-decoration: none; }
`;

export const REPORT_JS = `
'use strict';
(function () {
  // Spec filter: by text in the id or name, and by status.
  var q = document.getElementById('spec-filter');
  var st = document.getElementById('status-filter');
  function applySpecs() {
    var text = (q.value || '').toLowerCase();
    var status = st.value;
    document.querySelectorAll('section.spec').forEach(function (s) {
      var ok = (!text || s.dataset.id.toLowerCase().indexOf(text) >= 0 || s.dataset.name.toLowerCase().indexOf(text) >= 0) &&
        (status === 'all' || s.dataset.status === status);
      s.classList.toggle('hidden', !ok);
    });
  }
  if (q && st) { q.addEventListener('input', applySpecs); st.addEventListener('change', applySpecs); }

  // Sweep tables: filter rows by text and by outcome.
  document.querySelectorAll('.sweep').forEach(function (box) {
    var text = box.querySelector('.row-filter');
    var sel = box.querySelector('.outcome-filter');
    var count = box.querySelector('.shown');
    function apply() {
      var t = (text.value || '').toLowerCase();
      var o = sel.value;
      var n = 0;
      box.querySelectorAll('tbody tr').forEach(function (tr) {
        var ok = (!t || tr.textContent.toLowerCase().indexOf(t) >= 0) && (o === 'all' || tr.dataset.outcome === o ||
          (o === 'mismatch' && tr.dataset.mismatch === '1'));
        tr.classList.toggle('hidden', !ok);
        if (ok) n++;
      });
      count.textContent = String(n);
    }
    text.addEventListener('input', apply);
    sel.addEventListener('change', apply);
  });

  // IOVA strips: ranges drawn over [lo, hi) of the domain's space; wheel or buttons zoom, drag pans.
  function hex(v) { return '0x' + v.toString(16); }
  document.querySelectorAll('.iova').forEach(function (box) {
    var data = JSON.parse(box.querySelector('script[type="application/json"]').textContent);
    var strip = box.querySelector('.strip');
    var label = box.querySelector('.view');
    var info = box.querySelector('.info');
    var span = BigInt(1) << BigInt(data.spanLg2);
    var ranges = data.ranges.map(function (r) {
      return { s: BigInt(r.start), e: BigInt(r.start) + BigInt(r.size), r: r };
    });
    // The first view fits what is mapped (with some room), or the whole space when nothing is.
    function fit() {
      if (!ranges.length) return [BigInt(0), span];
      var a = ranges[0].s, b = ranges[ranges.length - 1].e;
      var pad = (b - a) / BigInt(20) + BigInt(1);
      return [a > pad ? a - pad : BigInt(0), b + pad < span ? b + pad : span];
    }
    var view = fit();
    function draw() {
      var lo = view[0], hi = view[1], w = hi - lo;
      strip.textContent = '';
      var scale = BigInt(1000000);
      ranges.forEach(function (x) {
        if (x.e <= lo || x.s >= hi) return;
        var s = x.s < lo ? lo : x.s, e = x.e > hi ? hi : x.e;
        var d = document.createElement('div');
        d.className = 'r';
        d.style.background = data.colours[x.r.lg2];
        d.style.left = (Number((s - lo) * scale / w) / 10000) + '%';
        d.style.width = (Number((e - s) * scale / w) / 10000) + '%';
        d.title = 'iova ' + x.r.start + ' size ' + x.r.size + ' pa ' + x.r.pa + ' page 2^' + x.r.lg2 + ' ' + x.r.perm;
        d.addEventListener('click', function () { info.textContent = d.title + ' (' + x.r.leaves + ' leaves)'; });
        strip.appendChild(d);
      });
      label.textContent = '[' + hex(lo) + ', ' + hex(hi) + ')';
    }
    function zoom(factor, at) {
      var lo = view[0], hi = view[1], w = hi - lo;
      var mid = lo + (w * BigInt(Math.round(at * 1000))) / BigInt(1000);
      var nw = (w * BigInt(Math.round(factor * 1000))) / BigInt(1000);
      if (nw < BigInt(4096)) nw = BigInt(4096);
      if (nw > span) nw = span;
      var nlo = mid - (nw * BigInt(Math.round(at * 1000))) / BigInt(1000);
      if (nlo < BigInt(0)) nlo = BigInt(0);
      if (nlo + nw > span) nlo = span - nw;
      view = [nlo, nlo + nw];
      draw();
    }
    box.querySelector('.zin').addEventListener('click', function () { zoom(0.5, 0.5); });
    box.querySelector('.zout').addEventListener('click', function () { zoom(2, 0.5); });
    box.querySelector('.zfit').addEventListener('click', function () { view = fit(); draw(); });
    box.querySelector('.zall').addEventListener('click', function () { view = [BigInt(0), span]; draw(); });
    strip.addEventListener('wheel', function (ev) {
      ev.preventDefault();
      var rect = strip.getBoundingClientRect();
      zoom(ev.deltaY < 0 ? 0.8 : 1.25, Math.min(1, Math.max(0, (ev.clientX - rect.left) / rect.width)));
    }, { passive: false });
    var dragX = null;
    strip.addEventListener('mousedown', function (ev) { dragX = ev.clientX; });
    window.addEventListener('mouseup', function () { dragX = null; });
    window.addEventListener('mousemove', function (ev) {
      if (dragX === null) return;
      var rect = strip.getBoundingClientRect();
      var w = view[1] - view[0];
      var delta = (w * BigInt(Math.round(((dragX - ev.clientX) / rect.width) * 1000))) / BigInt(1000);
      dragX = ev.clientX;
      var nlo = view[0] + delta;
      if (nlo < BigInt(0)) nlo = BigInt(0);
      if (nlo + w > span) nlo = span - w;
      view = [nlo, nlo + w];
      draw();
    });
    draw();
    box.dataset.ready = '1';
  });
  document.body.dataset.ready = '1';
})();
`;
