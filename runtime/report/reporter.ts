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
}

/** A reporter builds its whole output as a string; writing it (once) is the CLI's job. */
export interface Reporter {
  readonly name: string;
  /** One line for --help and the README. */
  readonly doc: string;
  render(input: ReportInput, options: ReportOptions): string;
}

export function counts(input: ReportInput): { passed: number; failed: number; invalid: number; skipped: number } {
  const passed = input.outcomes.filter((o) => o.status === 'passed').length;
  const invalid = input.outcomes.filter((o) => o.status === 'invalid').length;
  return { passed, failed: input.outcomes.length - passed, invalid, skipped: input.skipped };
}

/** The last line of every run: plain, uncoloured, alone on its line. */
export function summaryLine(input: ReportInput): string {
  const c = counts(input);
  return `${c.passed} passed, ${c.failed} failed${c.skipped ? `, ${c.skipped} skipped` : ''}`;
}
