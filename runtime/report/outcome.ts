import type { Mismatch } from '../check/mismatch.js';
import type { SweepTable } from '../check/sweep.js';
import type { EndState } from '../exec/capture.js';
import type { ReportDetail } from './detail.js';

/** `skipped` and `todo`: marked so in the spec (`skip:`, `todo:`) and not run. */
export type Status = 'passed' | 'failed' | 'invalid' | 'skipped' | 'todo';

/** The outcome of one spec (or one case): data for the reporters, never printed where it is made. */
export interface SpecOutcome {
  readonly id: string;
  readonly file: string;
  readonly name: string;
  readonly tags: readonly string[];
  readonly status: Status;
  readonly mismatches: readonly Mismatch[];
  /** Bad-spec errors, already rendered with their source lines. */
  readonly errors: readonly string[];
  readonly state?: EndState;
  readonly sweep?: SweepTable;
  readonly goldenWritten?: string;
  /** The note of a `skip:` or `todo:`. */
  readonly reason?: string;
  /** Wall time the spec took (a sweep: all its runs); reporters show it only when asked, as it varies. */
  readonly durationMs?: number;
  /** What the HTML report draws (page tables, timeline, allocations); only when a reporter wants it. */
  readonly detail?: ReportDetail;
}
