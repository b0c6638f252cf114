import { performance } from 'node:perf_hooks';
import { planFile } from '../app/runner.js';
import { sweep, type SweepMode } from '../runtime/check/sweep.js';

/**
 * Sweeps one spec in this fresh process, forking or replaying (argv: spec, mode), and prints the wall ms
 * and the runs: each mode gets a process of its own, as a user's run does, so neither inherits the other's
 * warmed-up (or polymorphic) code.
 */
const [file, mode] = process.argv.slice(2) as [string, SweepMode];
const r = planFile(file, '.');
if (!('plans' in r) || !r.plans[0]!.sweep) throw new Error(`${file}: not a sweep spec`);
const plan = r.plans[0]!;
const t0 = performance.now();
const table = sweep(plan, plan.sweep!.scope, plan.sweep!.invariants, undefined, undefined, mode);
process.stdout.write(`${performance.now() - t0} ${table.rows.length}\n`);
