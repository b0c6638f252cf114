import { describe, expect, it } from 'vitest';
import { planFile, runPlan } from '../../app/runner.js';
import { failurePoints, sweep } from '../../runtime/check/sweep.js';
import type { Plan } from '../../runtime/plan/plan.js';

function plan(): Plan {
  const r = planFile('test/check/fixtures/init-teardown.yaml', 'test/check/fixtures');
  if ('invalid' in r) throw new Error(r.invalid.errors.join('\n'));
  return r.plans[0]!;
}

const none = { disabled: [] };

describe('sweep', () => {
  it('tries every point of the fault-free run once, each fired, then the points found only under a fault', () => {
    const p = plan();
    const points = failurePoints(p).map((x) => `${x.site}#${x.call}`);
    const table = sweep(p, { sites: [], maxRuns: 1000 }, none);
    expect(table.complete).toBe(true);
    expect(table.rows.filter((r) => !r.discovered).map((r) => r.point)).toEqual(points);
    expect(table.rows.every((r) => r.fired)).toBe(true);
    // A discovered point is tried with the fault that led to it: the chain names both.
    const chained = table.rows.filter((r) => r.discovered);
    expect(chained.length).toBe(table.discovered);
    expect(chained.every((r) => r.point.includes(' + ') && points.includes(r.point.split(' + ')[0]!))).toBe(true);
    expect(table.points).toBe(table.rows.length);
  });

  it('narrows to sites under a call path and to a window of steps', () => {
    const p = plan();
    const teardown = sweep(p, { sites: ['viommu_private_space_uninit/**'], maxRuns: 1000 }, none);
    expect(teardown.rows.map((r) => r.point).every((x) => x.startsWith('viommu_private_space_uninit/'))).toBe(true);
    const fromUninit = sweep(p, { sites: [], fromStep: 1, maxRuns: 1000 }, none);
    expect(fromUninit.rows.map((r) => r.point)).toEqual(teardown.rows.map((r) => r.point));
  });

  it('reports an unfinished sweep when max_runs stops it', () => {
    const table = sweep(plan(), { sites: [], maxRuns: 3 }, none);
    expect([table.rows.length, table.complete]).toEqual([3, false]);
  });
});

describe('sweep rows with end-state expectations and opt-in columns', () => {
  it('holds any expect: key against each matching run, titled by its point; (none) names the baseline', () => {
    const r = planFile('test/check/fixtures/sweep-row-expect.yaml', 'test/check/fixtures');
    if ('invalid' in r) throw new Error(r.invalid.errors.join('\n'));
    const o = runPlan(r.plans[0]!, { update: false, ci: false });
    // After teardown the domain is gone: the baseline's stated pointer names nothing. The subregion-0 row
    // queued no command and left nothing behind, as stated.
    expect(o.mismatches.map((m) => [m.title, m.expected, m.actual])).toEqual([
      ['(none): iommu0.viommu_pdom differs', ['viommu_pdom: domain(2) (no domain 2)'], ['viommu_pdom: NULL']],
    ]);
    // The memtypes column is recorded per run; the other opt-in columns are not.
    expect(o.sweep!.baseline.memtypes).toEqual([]);
    expect(o.sweep!.rows.map((row) => row.memtypes?.length)).toEqual([0, 0, 0, 0]);
    expect(o.sweep!.baseline.commands).toBeUndefined();
  });
});
