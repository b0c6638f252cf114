import type { Coverage } from '../runtime/check/coverage.js';
import { REPORT_CSS } from '../runtime/report/html-assets.js';
import { esc } from '../runtime/report/html.js';

/** `coverage --json`: every point with who passes and fails it, then those no spec fails. */
export function coverageJson(c: Coverage): string {
  const never = c.points.filter((p) => p.failedBy.length === 0).map((p) => p.point);
  const report = {
    version: 1,
    summary: { points: c.points.length, failed: c.points.length - never.length, never_failed: never.length },
    points: c.points.map((p) => ({
      point: p.point,
      site: p.site,
      call: p.call,
      passed_by: [...p.passedBy],
      failed_by: p.failedBy.map((f) => ({ id: f.id, by: f.by })),
    })),
    never_failed: never,
    not_run: [...c.notRun],
    stopped: c.stopped.map((s) => ({ id: s.id, why: s.why })),
  };
  return JSON.stringify(report, null, 2) + '\n';
}

const plural = (n: number, one: string): string => `${n} ${one}${n === 1 ? '' : 's'}`;

/** `coverage`: a table of points (who fails each), the points no spec fails, and a plain last line. */
export function coverageTable(c: Coverage): string {
  const failed = (p: Coverage['points'][number]): string =>
    p.failedBy.length ? p.failedBy.map((f) => (f.by === 'sweep' ? `${f.id} (sweep)` : f.id)).join(', ') : '-';
  const rows = c.points.map((p) => [p.point, plural(p.passedBy.length, 'spec'), failed(p)] as const);
  const head = ['failure point', 'passed by', 'failed by'] as const;
  const w0 = Math.max(head[0].length, ...rows.map((r) => r[0].length));
  const w1 = Math.max(head[1].length, ...rows.map((r) => r[1].length));
  const line = (r: readonly [string, string, string]): string => `${r[0].padEnd(w0)}  ${r[1].padEnd(w1)}  ${r[2]}`;
  const never = c.points.filter((p) => p.failedBy.length === 0);
  const out = [line(head), ...rows.map(line), ''];
  if (never.length) {
    out.push(`never failed by any spec (${never.length}):`);
    out.push(...never.map((p) => `  ${p.point}  (passed by ${p.passedBy.join(', ') || '-'})`), '');
  }
  if (c.notRun.length) out.push(`not run (skip or todo): ${c.notRun.join(', ')}`);
  for (const s of c.stopped) out.push(`stopped by a budget, covered in part: ${s.id}: ${s.why}`);
  out.push(
    `${plural(c.points.length, 'failure point')}: ${c.points.length - never.length} failed by a spec or sweep, ${never.length} never failed`,
  );
  return out.join('\n') + '\n';
}

/** Filters the table by text in any cell and by "failed by some spec" or "never failed". */
const COVERAGE_JS = `
'use strict';
(function () {
  var q = document.getElementById('point-filter');
  var sel = document.getElementById('failed-filter');
  var shown = document.getElementById('shown');
  function apply() {
    var t = (q.value || '').toLowerCase();
    var n = 0;
    document.querySelectorAll('tbody tr').forEach(function (tr) {
      var ok = (!t || tr.textContent.toLowerCase().indexOf(t) >= 0) &&
        (sel.value === 'all' || tr.dataset.failed === sel.value);
      tr.classList.toggle('hidden', !ok);
      if (ok) n++;
    });
    shown.textContent = String(n);
  }
  q.addEventListener('input', apply);
  sel.addEventListener('change', apply);
})();
`;

/** `coverage --html <file>`: the same table as one self-contained, filterable page (no network). */
export function coverageHtml(c: Coverage): string {
  const never = c.points.filter((p) => p.failedBy.length === 0).length;
  const rows = c.points
    .map((p) => {
      const failed = p.failedBy.map((f) => esc(f.by === 'sweep' ? `${f.id} (sweep)` : f.id)).join('<br>');
      return (
        `<tr data-failed="${p.failedBy.length ? 'yes' : 'no'}"${p.failedBy.length ? '' : ' class="row-bad"'}>` +
        `<td class="mono">${esc(p.point)}</td><td>${esc(p.passedBy.join(', '))}</td>` +
        `<td class="mono">${failed || 'never failed'}</td></tr>`
      );
    })
    .join('');
  const notes = [
    c.notRun.length ? `<p>Not run (skip or todo): ${c.notRun.map(esc).join(', ')}</p>` : '',
    ...c.stopped.map((s) => `<p>Stopped by a budget, covered in part: ${esc(s.id)}: ${esc(s.why)}</p>`),
  ].join('');
  const summary = `${c.points.length} failure points: ${c.points.length - never} failed by a spec or sweep, ${never} never failed`;
  return (
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">' +
    `<title>viommu-spec coverage: ${esc(summary)}</title><style>${REPORT_CSS}</style></head><body>` +
    `<header><h1>viommu-spec coverage</h1><span class="summary"><b>${esc(summary)}</b></span></header><main>` +
    notes +
    '<div class="filters"><input id="point-filter" type="search" placeholder="filter by point or spec">' +
    '<select id="failed-filter"><option value="all">every point</option><option value="yes">failed by a spec</option>' +
    `<option value="no">never failed</option></select><span><span id="shown">${c.points.length}</span> of ` +
    `${c.points.length} points</span></div>` +
    '<table><thead><tr><th>failure point</th><th>passed by</th><th>failed by</th></tr></thead>' +
    `<tbody>${rows}</tbody></table></main><script>${COVERAGE_JS}</script></body></html>\n`
  );
}
