import type { Mismatch } from '../check/mismatch.js';
import type { SweepTable } from '../check/sweep.js';
import type { EndState } from '../exec/capture.js';

export type Status = 'passed' | 'failed' | 'invalid';

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
}
