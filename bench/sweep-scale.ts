import { execFileSync } from 'node:child_process';
import type { SweepMode } from '../runtime/check/sweep.js';
import type { BenchResult } from './harness.js';

/** Best wall ms of `runs` sweeps of `spec` in `mode`, each in a fresh process; its runs and how it ended. */
function timeSweep(spec: string, mode: SweepMode, runs: number): { ms: number; rows: number; outcome: string } {
  let best = Infinity;
  let rows = 0;
  let outcome = '';
  for (let i = 0; i < runs; i++) {
    const [ms, n, how] = execFileSync(process.execPath, ['dist/bench/sweep-child.js', spec, mode], { encoding: 'utf8' })
      .trim()
      .split(' ');
    best = Math.min(best, Number(ms));
    rows = Number(n);
    outcome = how!;
  }
  return { ms: best, rows, outcome };
}

/**
 * Sweeps that fork the fault-free run, at each point's step and inside the call holding it, against the
 * same sweeps replaying every run from boot: the teardown after a big map (the fork skips the map in every
 * run) and the sweep of one 2 GiB map (its points all lie inside the map call: a run starts from
 * the in-call checkpoint before its point). Then the 8 GiB map's sweep under the default budget, which no
 * replay finishes.
 */
export function sweepScaleBench(): BenchResult[] {
  const out: BenchResult[] = [];
  // Best of several runs each, but one replay of the 2 GiB map: it takes seconds.
  for (const [spec, what, forkRuns, replayRuns, target] of [
    ['bench/specs/sweep-teardown-2g.yaml', "the private region's teardown after a 2 GiB map in 4 KiB pages", 5, 5],
    ['bench/specs/sweep-map-2g.yaml', 'every table allocation of one 2 GiB map in 4 KiB pages', 3, 1, 3000],
  ] as const) {
    const replay = timeSweep(spec, 'replay', replayRuns);
    const forked = timeSweep(spec, 'fork', forkRuns);
    out.push({
      name: `sweep: ${what} (${forked.rows} runs), forking at each point's step or inside its call`,
      value: forked.ms,
      unit: 'ms',
      baseline: { name: 'the same sweep replaying from boot', value: replay.ms, ratio: forked.ms / replay.ms },
      ...(target === undefined ? {} : { target: `< ${target} ms`, pass: forked.ms < target }),
    });
  }
  const big = timeSweep('bench/specs/sweep-map-8g.yaml', 'fork', 1);
  out.push({
    name: `sweep: every table allocation of one 8 GiB map in 4 KiB pages (${big.rows} runs, ${big.outcome})`,
    value: big.ms,
    unit: 'ms',
    target: 'every point tried within the default budget',
    pass: big.outcome === 'complete',
  });
  return out;
}
