import { execFileSync } from 'node:child_process';
import type { SweepMode } from '../runtime/check/sweep.js';
import type { BenchResult } from './harness.js';

/** Best wall ms of `runs` sweeps of `spec` in `mode`, each in a fresh process, and the sweep's runs. */
function timeSweep(spec: string, mode: SweepMode, runs: number): { ms: number; rows: number } {
  let best = Infinity;
  let rows = 0;
  for (let i = 0; i < runs; i++) {
    const [ms, n] = execFileSync(process.execPath, ['dist/bench/sweep-child.js', spec, mode], { encoding: 'utf8' })
      .trim()
      .split(' ')
      .map(Number);
    best = Math.min(best, ms!);
    rows = n!;
  }
  return { ms: best, rows };
}

/**
 * Sweeps that fork the fault-free run at each point's step against the same sweeps replaying every run
 * from boot: the teardown after a big map (the fork skips the map in every run) and the sweep of
 * one 2 GiB map (its points all lie inside the map call, which a run still replays up to its point:
 * forking happens between steps).
 */
export function sweepScaleBench(): BenchResult[] {
  const out: BenchResult[] = [];
  for (const [spec, what, runs, target] of [
    ['bench/specs/sweep-teardown-2g.yaml', "the private region's teardown after a 2 GiB map in 4 KiB pages", 5],
    ['bench/specs/sweep-map-2g.yaml', 'every table allocation of one 2 GiB map in 4 KiB pages', 1, 3000],
  ] as const) {
    const replay = timeSweep(spec, 'replay', runs);
    const forked = timeSweep(spec, 'fork', runs);
    out.push({
      name: `sweep: ${what} (${forked.rows} runs), forking at each point's step`,
      value: forked.ms,
      unit: 'ms',
      baseline: { name: 'the same sweep replaying from boot', value: replay.ms, ratio: forked.ms / replay.ms },
      ...(target === undefined ? {} : { target: `< ${target} ms`, pass: forked.ms < target }),
    });
  }
  return out;
}
