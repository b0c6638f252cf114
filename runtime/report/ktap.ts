import { unifiedDiff } from '../check/mismatch.js';
import type { SweepRow } from '../check/sweep.js';
import type { SpecOutcome } from './outcome.js';
import { counts, type ReportOptions, type Reporter } from './reporter.js';

/** A KTAP test: a result line, the diagnostics before it, and its subtests. */
interface Node {
  readonly name: string;
  readonly ok: boolean;
  /** `SKIP <reason>` or `ERROR <what>`. */
  readonly directive?: string;
  readonly diagnostics: readonly string[];
  readonly children?: readonly Node[];
}

const describe = (text: string): string => text.replace(/#/g, ':').replace(/\s+/g, ' ');
const diagnostic = (text: string): string[] => text.split('\n').map((l) => `# ${l}`.trimEnd());

function rowNode(row: SweepRow, failed: boolean): Node {
  const broke = row.violations.length > 0;
  return {
    name: describe(row.point === '(none)' ? 'baseline (no fault)' : row.point),
    ok: !(failed && broke),
    ...(row.fired ? {} : { directive: 'SKIP the point was not reached' }),
    diagnostics: [
      ...(row.oops ? [`# oops: ${row.oops}`] : []),
      ...row.violations.flatMap((v) => diagnostic(v)),
      ...row.warnings.flatMap((v) => diagnostic(`warning: ${v}`)),
    ],
  };
}

function specNode(o: SpecOutcome, name: string, { durations }: ReportOptions): Node {
  const time = durations && o.durationMs !== undefined ? [`# duration_ms: ${Math.round(o.durationMs)}`] : [];
  if (o.status === 'skipped' || o.status === 'todo')
    return {
      name,
      ok: true,
      directive: `SKIP ${o.status === 'todo' ? 'todo: ' : ''}${o.reason ?? ''}`,
      diagnostics: [],
    };
  if (o.status === 'invalid')
    return {
      name,
      ok: false,
      directive: 'ERROR invalid spec',
      diagnostics: o.errors.flatMap((e) => diagnostic(e.trimEnd())),
    };
  const mismatches = o.mismatches.flatMap((m) => [
    ...diagnostic(`${m.title} (${m.at.file}:${m.at.line}:${m.at.col})`),
    ...diagnostic(unifiedDiff(m)),
  ]);
  const failed = o.status === 'failed';
  const rows = o.sweep ? [o.sweep.baseline, ...o.sweep.rows].map((r) => rowNode(r, failed)) : undefined;
  return { name, ok: !failed, diagnostics: [...mismatches, ...time], ...(rows ? { children: rows } : {}) };
}

/** The spec files in order, each with its outcomes (a file with cases has several). */
function byFile(outcomes: readonly SpecOutcome[]): SpecOutcome[][] {
  const groups: SpecOutcome[][] = [];
  for (const o of outcomes) {
    const last = groups.at(-1);
    if (last && last[0]!.file === o.file && o.id !== o.file && last[0]!.id !== last[0]!.file) last.push(o);
    else groups.push([o]);
  }
  return groups;
}

function fileNode(group: readonly SpecOutcome[], options: ReportOptions): Node {
  const first = group[0]!;
  if (first.id === first.file) return specNode(first, describe(first.file), options);
  const children = group.map((o) => specNode(o, describe(o.id.slice(o.file.length + 1)), options));
  const allSkipped = children.every((c) => c.directive?.startsWith('SKIP'));
  return {
    name: describe(first.file),
    ok: children.every((c) => c.ok),
    ...(allSkipped ? { directive: 'SKIP every case' } : {}),
    diagnostics: [],
    children,
  };
}

/** A level of tests; a nested one is headed `# Subtest: <name>` between its version and plan lines, as KUnit does. */
function render(nodes: readonly Node[], depth: number, out: string[], parent?: string): void {
  const indent = '  '.repeat(depth);
  out.push(
    `${indent}KTAP version 1`,
    ...(parent ? [`${indent}# Subtest: ${parent}`] : []),
    `${indent}1..${nodes.length}`,
  );
  nodes.forEach((n, i) => {
    if (n.children) render(n.children, depth + 1, out, n.name);
    out.push(...n.diagnostics.map((d) => `${indent}${d}`));
    out.push(`${indent}${n.ok ? 'ok' : 'not ok'} ${i + 1} ${n.name}${n.directive ? ` # ${n.directive}` : ''}`);
  });
}

/**
 * KTAP version 1 (Documentation/dev-tools/ktap.rst), as KUnit emits it, so kernel CI that parses KUnit
 * results reads these too: a test per spec file; a file's cases, and a sweep's runs (the fault-free
 * baseline first, then one per failure point), are its subtests, each level indented two spaces and opened
 * by its own version line, KUnit's `# Subtest: <name>` header and its plan line. Diagnostic lines (`# ...`)
 * come right before the result they explain.
 * Descriptions cannot hold `#`, so a sweep point `site#call` is written `site:call`. KTAP does not
 * recognise TODO: a spec marked `todo:` is `ok ... # SKIP todo: <note>`, like one marked `skip:`.
 */
export const ktapReporter: Reporter = {
  name: 'ktap',
  doc: "KTAP version 1 as KUnit emits it: a test per spec file, its cases and a sweep's runs as nested subtests",
  render(input, options) {
    const out: string[] = [];
    render(
      byFile(input.outcomes).map((g) => fileNode(g, options)),
      0,
      out,
    );
    const c = counts(input);
    out.push(`# Totals: pass:${c.passed} fail:${c.failed} skip:${c.skip + c.todo} total:${input.outcomes.length}`);
    return out.join('\n') + '\n';
  },
};
