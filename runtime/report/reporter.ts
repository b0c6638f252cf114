import type { SpecOutcome } from './outcome.js';

export interface ReportInput {
  readonly outcomes: readonly SpecOutcome[];
  /** Specs left out by --filter/--tag. */
  readonly skipped: number;
  /** Golden files (or temporary leftovers) no spec refers to. */
  readonly obsolete?: readonly string[];
}

export interface ReportOptions {
  readonly color: boolean;
  /**
   * Show each spec's duration. Off unless asked (`--durations`, or pretty output on a terminal): durations
   * differ from run to run, and reports are otherwise byte-identical between runs.
   */
  readonly durations?: boolean;
  /** List the N slowest specs before the summary (--slowest N); pretty only, others leave it to the CLI. */
  readonly slowest?: number;
}

/** A reporter builds its whole output as a string; writing it (once) is the CLI's job. */
export interface Reporter {
  readonly name: string;
  /** One line for --help and the README. */
  readonly doc: string;
  render(input: ReportInput, options: ReportOptions): string;
  /**
   * The reporter draws each run's detail (`SpecOutcome.detail`): the runner then collects it, which costs a
   * page-table walk per spec. Others never see it, so their output is the same with or without.
   */
  readonly wantsDetail?: boolean;
}

export interface Counts {
  readonly passed: number;
  /** Failed specs, invalid ones included. */
  readonly failed: number;
  readonly invalid: number;
  /** Specs the selection left out (--filter, --tag, --shard, `only:` elsewhere). */
  readonly skipped: number;
  /** Specs marked `skip:` and `todo:`, reported but not run. */
  readonly skip: number;
  readonly todo: number;
}

export function counts(input: ReportInput): Counts {
  const n = (s: SpecOutcome['status']): number => input.outcomes.filter((o) => o.status === s).length;
  const invalid = n('invalid');
  return {
    passed: n('passed'),
    failed: n('failed') + invalid,
    invalid,
    skipped: input.skipped,
    skip: n('skipped'),
    todo: n('todo'),
  };
}

/** The line before the summary when specs were marked `skip:` or `todo:`; undefined when none was. */
export function markedLine(input: ReportInput): string | undefined {
  const c = counts(input);
  if (!c.skip && !c.todo) return undefined;
  return `${c.skip} marked skip, ${c.todo} todo (not run)`;
}

/** A duration as people read it: `850 ms`, `12.3 s`. */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** The last line of every run: plain, uncoloured, alone on its line. */
export function summaryLine(input: ReportInput): string {
  const c = counts(input);
  return `${c.passed} passed, ${c.failed} failed${c.skipped ? `, ${c.skipped} skipped` : ''}`;
}

/** The N slowest specs that ran, slowest first (ties by id, so equal durations list stably). */
export function slowestLines(input: ReportInput, n: number): string[] {
  const timed = input.outcomes.filter((o) => o.durationMs !== undefined);
  if (n <= 0 || timed.length === 0) return [];
  const top = [...timed]
    .sort((a, b) => b.durationMs! - a.durationMs! || (a.id < b.id ? -1 : 1))
    .slice(0, n)
    .map((o) => `  ${formatDuration(o.durationMs!).padStart(8)}  ${o.id}`);
  return [`slowest ${top.length}:`, ...top];
}
