import { unifiedDiff, type Mismatch } from '../check/mismatch.js';
import type { SweepRow, SweepTable } from '../check/sweep.js';
import type { DomainDetail, ReportDetail, TableNode, TimelineItem } from './detail.js';
import { REPORT_CSS, REPORT_JS } from './html-assets.js';
import type { SpecOutcome } from './outcome.js';
import { mismatchText } from './pretty.js';
import { counts, formatDuration, markedLine, summaryLine, type ReportOptions, type Reporter } from './reporter.js';

/** Text as HTML: element content and attribute values alike. */
export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** JSON inside a <script> element: `<` escaped, so no `</script>` in the data can end it. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

const panel = (title: string, body: string, open = false, cls = ''): string =>
  `<details class="panel${cls ? ` ${cls}` : ''}"${open ? ' open' : ''}><summary>${esc(title)}</summary>` +
  `<div class="inner">${body}</div></details>`;

/** One mismatch exactly as the terminal shows it (the pretty reporter's text), its diff lines coloured. */
function mismatchHtml(m: Mismatch): string {
  const lines = mismatchText(m, false).split('\n');
  const diffStart = lines.length - unifiedDiff(m).split('\n').length;
  const body = lines
    .map((l, i) => {
      if (i === 0) return `<span class="title">${esc(l)}</span>`;
      if (i < diffStart) return esc(l);
      const t = l.trimStart();
      const cls =
        t.startsWith('+') && !t.startsWith('+++')
          ? 'add'
          : t.startsWith('-') && !t.startsWith('---')
            ? 'del'
            : t.startsWith('@@')
              ? 'hunk'
              : '';
      return cls ? `<span class="${cls}">${esc(l)}</span>` : esc(l);
    })
    .join('\n');
  return `<div class="mm"><pre>${body}</pre></div>`;
}

const PAGE_NAMES: Record<number, string> = { 12: '4K', 21: '2M', 30: '1G' };
const pageName = (lg2: number): string =>
  PAGE_NAMES[lg2] ?? (lg2 < 20 ? `${2 ** (lg2 - 10)}K` : lg2 < 30 ? `${2 ** (lg2 - 20)}M` : `${2 ** (lg2 - 30)}G`);

/**
 * A colour per page size, the same in every report: the three sizes Linux maps most (4K, 2M, 1G) in blue,
 * green and amber; the contiguous (NL=7) sizes between them in hues of their own.
 */
function pageColour(lg2: number): string {
  const fixed: Record<number, string> = { 12: '#4c8bf5', 21: '#2da44e', 30: '#bf8700' };
  return fixed[lg2] ?? `hsl(${(lg2 * 47) % 360}, 55%, 55%)`;
}

function stripHtml(d: DomainDetail): string {
  const sizes = [...new Set(d.ranges.map((r) => r.lg2))].sort((a, b) => a - b);
  const colours = Object.fromEntries(sizes.map((lg2) => [lg2, pageColour(lg2)]));
  const legend =
    sizes.map((lg2) => `<span style="background:${pageColour(lg2)}"></span>${pageName(lg2)}`).join('') +
    '<span class="hole"></span>unmapped';
  const rows = d.ranges
    .map(
      (r) =>
        `<tr><td class="mono">${r.start}</td><td class="mono">${r.size}</td><td>${pageName(r.lg2)}</td>` +
        `<td>${r.perm}</td><td class="mono">${r.pa}</td><td>${r.leaves}</td></tr>`,
    )
    .join('');
  return (
    `<div class="iova" data-domain="${d.id}"><script type="application/json">${scriptJson({ spanLg2: d.spanLg2, colours, ranges: d.ranges })}</script>` +
    `<div class="stripbar"><b>domain ${d.id}</b> <span class="mono">root ${d.root} level ${d.level} mode ${d.mode}</span>` +
    '<button class="zin" type="button">zoom in</button><button class="zout" type="button">zoom out</button>' +
    '<button class="zfit" type="button">fit mapped</button><button class="zall" type="button">whole space</button>' +
    `<span class="view mono"></span><span class="legend">${legend}</span></div>` +
    '<div class="strip" title="wheel: zoom, drag: pan, click a range: details"></div><div class="info mono"></div>' +
    `<details><summary>${d.ranges.length} mapped ranges</summary><table><thead><tr><th>iova</th><th>size</th>` +
    `<th>page</th><th>perm</th><th>pa</th><th>leaves</th></tr></thead><tbody>${rows}</tbody></table></details></div>`
  );
}

function treeHtml(t: TableNode, open = false): string {
  const rows = t.entries
    .map((e) => {
      const index = e.count > 1 ? `[${e.index}..${e.index + e.count - 1}]` : `[${e.index}]`;
      const line =
        `<span class="mono">${index} iova ${e.iova}${e.count > 1 ? ` x${e.count}` : ''} ` +
        `<span class="raw">${e.raw}</span> <span class="bits">${esc(e.fields)}</span></span>`;
      if (e.child)
        return `<details class="pde" data-level="${e.child.level}"${open ? ' open' : ''}><summary>${line}</summary>${treeHtml(e.child)}</details>`;
      if (e.omitted) return `<div>${line} <span class="note">(table not expanded: report cap)</span></div>`;
      return `<div class="pte">${line}</div>`;
    })
    .join('');
  const hidden = t.hidden ? `<div class="note">${t.hidden} more entries not listed (report cap)</div>` : '';
  return `<div class="table" data-level="${t.level}"><div class="bits mono">level ${t.level} table at ${t.pa}</div>${rows}${hidden}</div>`;
}

const stepLabel = (steps: readonly string[], i: number): string =>
  i < 0 ? 'boot' : (steps[i]?.split(':')[0] ?? `#${i + 1}`);

/** Rows per step, a lane per IOMMU and one for the driver's timeouts: executed, completion waits, queued. */
function timelineHtml(d: ReportDetail): string {
  const lanes: { name: string; items: readonly TimelineItem[] }[] = [
    ...d.iommus.map((i) => ({ name: `iommu${i.index}`, items: i.items })),
    ...(d.timeouts.length ? [{ name: 'timeouts', items: d.timeouts }] : []),
  ];
  const steps = [...new Set(lanes.flatMap((l) => l.items.map((i) => i.step)))].sort((a, b) => a - b);
  if (steps.length === 0) return '<p>No command was executed or queued.</p>';
  const chip = (i: TimelineItem): string =>
    `<span class="chip ${i.kind}" title="${i.kind}">${i.kind === 'queued' ? 'queued: ' : ''}${esc(i.text)}</span>`;
  const rows = steps
    .map(
      (s) =>
        `<tr><td class="step">${esc(stepLabel(d.steps, s))}</td>` +
        lanes
          .map(
            (l) =>
              `<td>${l.items
                .filter((i) => i.step === s)
                .map(chip)
                .join('')}</td>`,
          )
          .join('') +
        '</tr>',
    )
    .join('');
  const count = (k: TimelineItem['kind']): number =>
    lanes.reduce((n, l) => n + l.items.filter((i) => i.kind === k).length, 0);
  const legend =
    `<p><span class="chip executed">executed ${count('executed')}</span><span class="chip wait">completion wait ${count('wait')}</span>` +
    `<span class="chip queued">queued, not executed ${count('queued')}</span><span class="chip timeout">timeout ${count('timeout')}</span></p>`;
  return `${legend}<table class="tl"><thead><tr><th>step</th>${lanes.map((l) => `<th>${l.name}</th>`).join('')}</tr></thead><tbody>${rows}</tbody></table>`;
}

function logHtml(lines: readonly string[]): string {
  if (!lines.length) return '<p>(empty)</p>';
  return `<pre class="log">${lines.map((l) => `<span class="${esc(l.split(':')[0] ?? '')}">${esc(l)}</span>`).join('\n')}</pre>`;
}

function detailHtml(d: ReportDetail): string {
  const allocRows = d.allocations
    .map(
      (a) =>
        `<tr><td class="mono">${esc(a.site)}</td><td>${a.live}</td><td>${a.freed}</td>` +
        `<td${a.leaked ? ' class="leaked"' : ''}>${a.leaked}</td><td class="mono">${a.bytes}</td></tr>`,
    )
    .join('');
  const memtypes = d.memtypes.length
    ? `<table><thead><tr><th>range</th></tr></thead><tbody>${d.memtypes.map((m) => `<tr><td class="mono">${esc(m)}</td></tr>`).join('')}</tbody></table>`
    : '<p>Every page is write-back.</p>';
  return [
    d.notes.length ? `<p class="note">${d.notes.map(esc).join('<br>')}</p>` : '',
    panel('Steps', `<pre>${d.steps.map(esc).join('\n')}</pre>`, true),
    panel(
      `IOVA space (${d.domains.length} ${d.domains.length === 1 ? 'domain' : 'domains'})`,
      d.domains.length ? d.domains.map(stripHtml).join('') : '<p>No paging domain is live.</p>',
      true,
      'space',
    ),
    panel(
      'Page tables',
      d.domains.map((dom) => `<div class="tree"><b>domain ${dom.id}</b>${treeHtml(dom.tree, true)}</div>`).join('') ||
        '<p>No paging domain is live.</p>',
      false,
      'tables',
    ),
    panel('Command timeline', timelineHtml(d), true, 'timeline'),
    panel('Memory types (pages not write-back)', memtypes),
    panel(
      'Allocations by site',
      `<table><thead><tr><th>site</th><th>live since boot</th><th>freed</th><th>leaked</th><th>bytes</th></tr></thead><tbody>${allocRows}</tbody></table>`,
    ),
    panel(`Kernel log (${d.log.length} lines)`, logHtml(d.log)),
    d.events.length ? panel(`Events (${d.events.length})`, logHtml(d.events), true) : '',
  ].join('');
}

type RowOutcome = 'ok' | 'oops' | 'violations' | 'not-reached';
const rowOutcome = (r: SweepRow): RowOutcome =>
  r.oops ? 'oops' : r.violations.length ? 'violations' : r.fired ? 'ok' : 'not-reached';

function sweepHtml(t: SweepTable, mismatches: readonly Mismatch[]): string {
  const named = (point: string): boolean => mismatches.some((m) => m.point === point);
  const rows = [t.baseline, ...t.rows]
    .map((r, i) => {
      const o = rowOutcome(r);
      const mm = named(r.point);
      const cls = mm || o === 'violations' ? 'row-bad' : o === 'oops' ? 'row-oops' : '';
      return (
        `<tr data-outcome="${o}" data-mismatch="${mm ? 1 : 0}"${cls ? ` class="${cls}"` : ''}>` +
        `<td>${i === 0 ? 'baseline' : i}</td><td class="mono">${esc(r.point)}</td><td>${o}${mm ? ', differs from the spec' : ''}</td>` +
        `<td>${r.discovered ? 'yes' : ''}</td><td class="mono">${esc(r.oops ?? '')}</td>` +
        `<td class="mono">${r.violations.map(esc).join('<br>')}${r.warnings.map((w) => `<br><i>warning: ${esc(w)}</i>`).join('')}</td></tr>`
      );
    })
    .join('');
  const total = t.rows.length + 1;
  return (
    `<div class="sweep"><p>${t.rows.length} runs, ${t.points} points (${t.discovered} found under faults)` +
    `${t.complete ? ', all tried' : ', <b>unfinished</b>'}.</p>` +
    '<div class="filters"><input class="row-filter" type="search" placeholder="filter rows (point, oops, violation)">' +
    '<select class="outcome-filter"><option value="all">every row</option><option value="ok">ok</option>' +
    '<option value="violations">violations</option><option value="oops">oops</option>' +
    '<option value="not-reached">not reached</option><option value="mismatch">differs from the spec</option></select>' +
    `<span><span class="shown">${total}</span> of ${total} rows</span></div>` +
    '<table><thead><tr><th>#</th><th>failure point</th><th>outcome</th><th>found under a fault</th><th>oops</th>' +
    `<th>violations</th></tr></thead><tbody>${rows}</tbody></table></div>`
  );
}

function specHtml(o: SpecOutcome, n: number, { durations }: ReportOptions): string {
  const time =
    durations && o.durationMs !== undefined ? ` <span class="name">(${formatDuration(o.durationMs)})</span>` : '';
  const head =
    `<h2><span class="badge ${o.status}">${o.status.toUpperCase()}</span> ${esc(o.id)} ` +
    `<span class="name">${esc(o.name)}</span>${time}</h2>`;
  const meta = [
    o.tags.length ? `tags: ${o.tags.map(esc).join(', ')}` : '',
    o.reason !== undefined ? `${o.status === 'todo' ? 'todo' : 'skip'}: ${esc(o.reason)}` : '',
    o.goldenWritten ? `wrote ${esc(o.goldenWritten)}` : '',
  ].filter(Boolean);
  const errors = o.errors.length ? `<pre>${o.errors.map(esc).join('\n')}</pre>` : '';
  const view = [
    o.sweep ? panel('Sweep', sweepHtml(o.sweep, o.mismatches), true) : '',
    o.detail ? detailHtml(o.detail) : '',
  ].join('');
  const diff = o.mismatches.length
    ? `<div class="diff"><h3>Expected vs actual</h3>${o.mismatches.map(mismatchHtml).join('')}</div>`
    : '';
  const body = diff && view ? `<div class="cols">${diff}<div>${view}</div></div>` : diff + view;
  return (
    `<section class="spec" id="spec-${n}" data-id="${esc(o.id)}" data-name="${esc(o.name)}" data-status="${o.status}">` +
    `${head}<div class="body">${meta.length ? `<p>${meta.join(' · ')}</p>` : ''}${errors}${body}</div></section>`
  );
}

/**
 * One self-contained HTML file: per spec its status, the expected-vs-actual diff beside the run's detail
 * (IOVA strip per domain, the page-table tree, the command timeline, memory types, allocations by site,
 * the kernel log), and for a sweep its filterable table of points. No network, no timestamp: the same run
 * gives the same bytes (durations only with --durations).
 */
export const htmlReporter: Reporter = {
  name: 'html',
  doc: 'one self-contained HTML page: IOVA strips, page tables, command timelines, diffs, sweep tables',
  wantsDetail: true,
  render(input, options) {
    const c = counts(input);
    const marked = markedLine(input);
    const toc = input.outcomes
      .map(
        (o, i) =>
          `<a href="#spec-${i}"><span class="badge ${o.status}">${o.status[0]!.toUpperCase()}</span> ${esc(o.id)}</a><br>`,
      )
      .join('');
    const obsolete = (input.obsolete ?? []).map((f) => `<li>${esc(f)} (no spec refers to it)</li>`).join('');
    return (
      '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">' +
      '<meta name="viewport" content="width=device-width, initial-scale=1">' +
      `<title>viommu-spec: ${esc(summaryLine(input))}</title><style>${REPORT_CSS}</style></head><body>` +
      `<header><h1>viommu-spec</h1><span class="summary"><b>${esc(summaryLine(input))}</b>` +
      `${c.invalid ? `, ${c.invalid} invalid` : ''}${marked ? `; ${esc(marked)}` : ''}</span>` +
      '<input id="spec-filter" type="search" placeholder="filter specs by id or name">' +
      '<select id="status-filter"><option value="all">every status</option><option value="failed">failed</option>' +
      '<option value="passed">passed</option><option value="invalid">invalid</option><option value="skipped">skipped</option>' +
      '<option value="todo">todo</option></select></header><main>' +
      `<nav class="toc">${toc}</nav>${obsolete ? `<p>Obsolete golden files:</p><ul>${obsolete}</ul>` : ''}` +
      input.outcomes.map((o, i) => specHtml(o, i, options)).join('\n') +
      `</main><script>${REPORT_JS}</script></body></html>\n`
    );
  },
};
