import pc from 'picocolors';
import { unifiedDiff, type Mismatch } from '../check/mismatch.js';
import type { SpecOutcome } from './outcome.js';
import {
  formatDuration,
  markedLine,
  slowestLines,
  summaryLine,
  type ReportOptions,
  type Reporter,
} from './reporter.js';

/** A mismatch as the terminal shows it: title, the spec line that stated it, the unified diff. */
export function mismatchText(m: Mismatch, color: boolean): string {
  const c = pc.createColors(color);
  const { file, line, col, text } = m.at;
  const gutter = ' '.repeat(String(line).length);
  const diff = unifiedDiff(m)
    .split('\n')
    .map((l) =>
      l.startsWith('+') && !l.startsWith('+++')
        ? c.green(l)
        : l.startsWith('-') && !l.startsWith('---')
          ? c.red(l)
          : l.startsWith('@@')
            ? c.cyan(l)
            : l,
    )
    .map((l) => `    ${l}`)
    .join('\n');
  return [`  ${c.red('x')} ${m.title}`, `    ${gutter}--> ${file}:${line}:${col}`, `    ${line} | ${text}`, diff].join(
    '\n',
  );
}

const LABEL: Record<SpecOutcome['status'], (c: ReturnType<typeof pc.createColors>) => string> = {
  passed: (c) => c.green('PASS'),
  failed: (c) => c.red('FAIL'),
  invalid: (c) => c.red('INVALID'),
  skipped: (c) => c.yellow('SKIP'),
  todo: (c) => c.cyan('TODO'),
};

function outcomeText(o: SpecOutcome, { color, durations }: ReportOptions): string {
  const c = pc.createColors(color);
  const label = LABEL[o.status](c);
  if (o.status === 'skipped' || o.status === 'todo') return `${label} ${o.id}  ${c.dim(o.name)}  (${o.reason ?? ''})`;
  const time = durations && o.durationMs !== undefined ? c.dim(`  (${formatDuration(o.durationMs)})`) : '';
  const sweep = o.sweep
    ? c.dim(
        `  [sweep: ${o.sweep.rows.length} runs, ${o.sweep.points - o.sweep.discovered} points + ${o.sweep.discovered} found under faults${o.sweep.complete ? ', all tried' : ', UNFINISHED'}]`,
      )
    : '';
  const head = `${label} ${o.id}${o.status === 'invalid' ? '' : `  ${c.dim(o.name)}`}${sweep}${o.goldenWritten ? c.yellow(`  (wrote ${o.goldenWritten})`) : ''}${time}`;
  if (o.status === 'passed') return head;
  if (o.status === 'invalid') return [head, ...o.errors.map((e) => e.replace(/^/gm, '  ').trimEnd())].join('\n');
  return [head, ...o.mismatches.map((m) => mismatchText(m, color))].join('\n');
}

/** One line per spec; for a failure, each mismatch with the spec line that stated it and a unified diff. */
export const prettyReporter: Reporter = {
  name: 'pretty',
  doc: 'one line per spec; each mismatch with the spec line that stated it and a unified diff',
  render(input, options) {
    const c = pc.createColors(options.color);
    const obsolete = (input.obsolete ?? []).map((f) => `${c.yellow('OBSOLETE')} ${f}  (no spec refers to it)`);
    const marked = markedLine(input);
    return (
      [
        ...input.outcomes.map((o) => outcomeText(o, options)),
        ...obsolete,
        '',
        ...(options.slowest ? slowestLines(input, options.slowest) : []),
        ...(marked ? [marked] : []),
        summaryLine(input),
      ].join('\n') + '\n'
    );
  },
};
