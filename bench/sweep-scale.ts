import { performance } from 'node:perf_hooks';
import { planFile } from '../app/runner.js';
import { sweep, type SweepMode, type SweepTable } from '../runtime/check/sweep.js';
import type { Plan } from '../runtime/plan/plan.js';
import type { BenchResult } from './harness.js';

function sweepPlan(file: string): Plan {
  const r = planFile(file, '.');
  if (!('plans' in r) || !r.plans[0]!.sweep) throw new Error(`${file}: not a sweep spec`);
  return r.plans[0]!;
}

/** One sweep's wall time in ms (best of `runs`) and its table. */
function timeSweep(plan: Plan, mode: SweepMode, runs: number): { ms: number; table: SweepTable } {
  let best = Infinity;
  let table: SweepTable | undefined;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    table = sweep(plan, plan.sweep!.scope, plan.sweep!.invariants, undefined, undefined, mode);
    best = Math.min(best, performance.now() - t0);
  }
  return { ms: best, table: table! };
}

/**
 * Sweeps that fork the fault-free run at each point's step against the same sweeps replaying every run
 * from boot, in the same process: the teardown after a big map (the fork skips the map in every run) and
 * the sweep of one 2 GiB map (its points all lie inside the map call, which a run still replays up
 * to its point: forking happens between steps).
 */
export function sweepScaleBench(): BenchResult[] {
  const out: BenchResult[] = [];
  for (const [file, runs, target] of [
    ['bench/specs/sweep-teardown-2g.yaml', 3, undefined],
    ['bench/specs/sweep-map-2g.yaml', 1, 3000],
  ] as const) {
    const plan = sweepPlan(file);
    const replay = timeSweep(plan, 'replay', runs);
    const forked = timeSweep(plan, 'fork', runs);
    const points = forked.table.rows.length;
    out.push({
      name: `sweep: ${plan.name} (${points} runs), forking at each point's step`,
      value: forked.ms,
      unit: 'ms',
      baseline: { name: 'the same sweep replaying from boot', value: replay.ms, ratio: forked.ms / replay.ms },
      ...(target === undefined ? {} : { target: `< ${target} ms`, pass: forked.ms < target }),
    });
  }
  return out;
}
