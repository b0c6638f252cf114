import { performance } from 'node:perf_hooks';
import { planFile } from '../app/runner.js';
import { BudgetExceededError } from '../runtime/base/budget.js';
import { sweep, type SweepMode } from '../runtime/check/sweep.js';

/**
 * Sweeps one spec in this fresh process, forking or replaying (argv: spec, mode), under the default
 * budget, and prints the wall ms, the runs, and whether every point was tried (`complete`, `unfinished`, or
 * the budget that stopped it): each mode gets a process of its own, as a user's run does, so neither
 * inherits the other's warmed-up (or polymorphic) code.
 */
const [file, mode] = process.argv.slice(2) as [string, SweepMode];
const r = planFile(file, '.');
if (!('plans' in r) || !r.plans[0]!.sweep) throw new Error(`${file}: not a sweep spec`);
const plan = r.plans[0]!;
const t0 = performance.now();
let outcome: string;
let runs = 0;
try {
  const table = sweep(plan, plan.sweep!.scope, plan.sweep!.invariants, undefined, undefined, mode);
  runs = table.rows.length;
  outcome = table.complete ? 'complete' : 'unfinished';
} catch (e) {
  if (!(e instanceof BudgetExceededError)) throw e;
  outcome = e.budget;
}
process.stdout.write(`${performance.now() - t0} ${runs} ${outcome}\n`);
