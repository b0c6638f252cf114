import { describe, expect, it } from 'vitest';
import { discoverSpecs } from '../../app/discover.js';
import { planFile } from '../../app/runner.js';
import { sweep, type SweepMode } from '../../runtime/check/sweep.js';
import { fork, UnforkableError } from '../../runtime/base/fork.js';
import { CapturedState } from '../../runtime/exec/capture.js';
import { execute } from '../../runtime/exec/executor.js';
import type { Plan } from '../../runtime/plan/plan.js';

/** Every plan among the shipped specs and the sweep fixtures. */
function shippedPlans(): Plan[] {
  const found = discoverSpecs(['specs', 'test/check/fixtures']);
  if (!found.ok) throw new Error(found.error);
  return found.files.flatMap((f) => {
    const r = planFile(f.file, f.root);
    return 'plans' in r ? r.plans : [];
  });
}

/** The sweep's table and, per run, its whole captured end state. */
function sweepWith(plan: Plan, mode: SweepMode) {
  const states: [string, ReturnType<CapturedState['all']>][] = [];
  const table = sweep(
    plan,
    plan.sweep!.scope,
    plan.sweep!.invariants,
    undefined,
    (point, _run, state) => states.push([point, state.all()]),
    mode,
  );
  return { table, states };
}

describe('a sweep that forks the fault-free run at each point’s step', () => {
  const all = shippedPlans();
  const plans = all.filter((p) => p.sweep);

  // A closure kept in the model makes its machine unforkable, and its sweeps silently replay from boot:
  // every shipped scenario's machine (the scale specs aside) must fork at the end of its run.
  it('can fork the machine of every shipped scenario', () => {
    const unforkable = all
      .filter((p) => !p.tags.includes('scale'))
      .flatMap((p) => {
        try {
          fork(execute({ ...p, faults: [] }).machine);
          return [];
        } catch (e) {
          if (e instanceof UnforkableError) return [`${p.name}: ${e.message}`];
          throw e;
        }
      });
    expect(unforkable).toEqual([]);
  });

  it('covers the shipped sweeps', () => {
    expect(plans.length).toBeGreaterThanOrEqual(8);
  });

  it.each(plans.map((p) => [p.name, p] as const))(
    '%s: gives every run the end state a replay from boot gives',
    (_, plan) => {
      const forked = sweepWith(plan, 'fork');
      const replayed = sweepWith(plan, 'replay');
      expect(forked.table).toEqual(replayed.table);
      expect(forked.states).toEqual(replayed.states);
    },
  );
});
