import { performance } from 'node:perf_hooks';

/** One measured figure. `ratio` compares it with a baseline measured in the same process run. */
export interface BenchResult {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly baseline?: { readonly name: string; readonly value: number; readonly ratio: number };
  readonly target?: string;
}

/**
 * Runs `body` (which performs `ops` operations) until at least `minMs` have passed, at least `minRuns`
 * times, and reports the best run's rate: the least disturbed by the machine's other work.
 */
export function measureRate(body: () => void, ops: number, minMs = 300, minRuns = 3): number {
  let best = Infinity;
  const start = performance.now();
  for (let runs = 0; runs < minRuns || performance.now() - start < minMs; runs++) {
    const t0 = performance.now();
    body();
    best = Math.min(best, performance.now() - t0);
  }
  return ops / (best / 1000);
}
