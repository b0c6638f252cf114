import { createTwoFilesPatch } from 'diff';
import type { SourceRef } from '../plan/plan.js';

/** One way a run differed from what the spec stated, tied to the place in the spec that stated it. */
export interface Mismatch {
  readonly at: SourceRef;
  readonly title: string;
  readonly expected: readonly string[];
  readonly actual: readonly string[];
  /** In a sweep: the run (its failure point, as the table names it) the mismatch is about. */
  readonly point?: string;
}

/** The unified diff of expected against actual, as the reporters print it. */
export function unifiedDiff(m: Pick<Mismatch, 'expected' | 'actual'>): string {
  const text = (lines: readonly string[]): string => (lines.length ? lines.join('\n') : '(none)') + '\n';
  const patch = createTwoFilesPatch('expected', 'actual', text(m.expected), text(m.actual), '', '', { context: 3 });
  return patch
    .split('\n')
    .filter((l) => !l.startsWith('===') && !l.startsWith('Index'))
    .join('\n')
    .trimEnd();
}
