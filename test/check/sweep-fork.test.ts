import { afterEach, describe, expect, it, vi } from 'vitest';
import { discoverSpecs } from '../../app/discover.js';
import { planFile } from '../../app/runner.js';
import { sweep, type SweepMode } from '../../runtime/check/sweep.js';
import { fork, UnforkableError } from '../../runtime/base/fork.js';
import { CapturedState } from '../../runtime/exec/capture.js';
import { boot, execute, resume, type Checkpoint } from '../../runtime/exec/executor.js';
import { Restarts } from '../../runtime/linux/restart.js';
import { Meter, DEFAULT_BUDGET } from '../../runtime/base/budget.js';
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

describe('a sweep that forks inside a call, at restart points (runtime/linux/restart.ts)', () => {
  const plan = (file = 'specs/sweeps/map-walk.yaml'): Plan => {
    const r = planFile(file, '.');
    if (!('plans' in r)) throw new Error(`${file} does not plan`);
    return r.plans[0]!;
  };
  afterEach(() => vi.restoreAllMocks());

  // Without this, a walk that stopped marking its restart points would leave the comparison above passing
  // on step forks alone.
  it('starts the run of every point inside a map from inside that map', () => {
    const take = vi.spyOn(Restarts.prototype, 'take');
    const p = plan();
    const table = sweep(p, p.sweep!.scope, p.sweep!.invariants);
    // Each map's first restart point comes before any of its failure points: all of them start inside it.
    const insideMaps = table.rows.filter((r) => r.point.startsWith('iommu_map/'));
    const resumed = take.mock.results.filter((r) => r.value !== undefined).length;
    expect(insideMaps.length).toBe(41);
    expect(resumed).toBe(insideMaps.length);
  });

  it('starts each run inside its repetition of a repeated map, after the returns of those before', () => {
    const take = vi.spyOn(Restarts.prototype, 'take');
    const p = plan('test/check/fixtures/sweep-repeat-map.yaml');
    const table = sweep(p, p.sweep!.scope, p.sweep!.invariants);
    expect(table.rows.length).toBe(41);
    expect(take.mock.results.filter((r) => r.value !== undefined).length).toBe(41);
    // Row 35 fails repetition 34's leaf table (allocation 1 was the level-1 table): the 34 repetitions
    // before it mapped, the five after it still do.
    expect(table.rows[35]!.steps[1]).toBe('map: iommu_map -> 0 x34, -ENOMEM, 0 x5');
  });

  // The walk must go on from any of its restart points, not only fail there: a sweep keeps a checkpoint
  // per so many points, and a run redoes the points between its checkpoint and its own.
  it('resumed with no fault from each restart point, ends as the fault-free run', () => {
    const clean = { ...plan(), faults: [] };
    const meter = new Meter(DEFAULT_BUDGET);
    const paused: Checkpoint[] = [];
    const booted = boot(clean, meter);
    const whole = resume(clean, { ...booted, machine: fork(booted.machine) }, meter, {
      atRestartPoint: (cp) => paused.push({ ...cp, machine: fork(cp.machine) }),
    });
    expect(paused.length).toBe(39);
    const expected = new CapturedState(whole).all();
    for (const cp of paused) expect(new CapturedState(resume(clean, cp, meter)).all()).toEqual(expected);
  });
});
