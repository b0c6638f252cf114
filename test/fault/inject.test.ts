import { describe, expect, it } from 'vitest';
import { FaultRegistry, siteMatcher, type InjectionPlan } from '../../runtime/fault/inject.js';

/** Calls `site` n times and returns the 1-based call numbers that failed. */
function failing(plans: InjectionPlan[], calls: [string, number?][]): number[] {
  const r = new FaultRegistry(plans);
  const out: number[] = [];
  calls.forEach(([site, order], i) => {
    if (r.check(site, 'null', 0, order)) out.push(i + 1);
  });
  return out;
}

const times = (site: string, n: number): [string][] => Array.from({ length: n }, () => [site]);

describe('FaultRegistry schedules', () => {
  it('nth fails exactly the nth matching call, once', () => {
    expect(failing([{ site: 'a', schedule: { mode: 'nth', n: 3 } }], times('a', 6))).toEqual([3]);
  });

  it('nth with no site counts every failure point (fail-nth)', () => {
    expect(failing([{ schedule: { mode: 'nth', n: 4 } }], [['a'], ['b'], ['a'], ['c'], ['b']])).toEqual([4]);
  });

  it('every N fails calls N, 2N, ... and times caps it', () => {
    expect(failing([{ site: 'a', schedule: { mode: 'every', n: 3 } }], times('a', 10))).toEqual([3, 6, 9]);
    expect(failing([{ site: 'a', schedule: { mode: 'every', n: 3 }, times: 2 }], times('a', 10))).toEqual([3, 6]);
  });

  it('first K fails the first K calls', () => {
    expect(failing([{ site: 'a', schedule: { mode: 'first', count: 2 } }], times('a', 5))).toEqual([1, 2]);
  });

  it('probability is a pure function of the seed', () => {
    const plan: InjectionPlan = { site: 'a', schedule: { mode: 'probability', percent: 30, seed: 42 } };
    const first = failing([plan], times('a', 1000));
    expect(failing([plan], times('a', 1000))).toEqual(first);
    expect(first.length).toBeGreaterThan(240);
    expect(first.length).toBeLessThan(360);
    expect(
      failing([{ ...plan, schedule: { mode: 'probability', percent: 30, seed: 43 } }], times('a', 1000)),
    ).not.toEqual(first);
  });

  it('only counts calls inside the step window', () => {
    const r = new FaultRegistry([{ site: 'a', schedule: { mode: 'nth', n: 1 }, window: { fromStep: 2 } }]);
    r.step = 1;
    expect(r.check('a', 'null', 0)).toBeUndefined();
    r.step = 2;
    expect(r.check('a', 'null', 0)).toEqual({ value: null });
  });

  it('skips allocations below minOrder', () => {
    expect(
      failing(
        [{ site: 'a', schedule: { mode: 'nth', n: 1 }, minOrder: 9 }],
        [
          ['a', 0],
          ['a', 9],
          ['a', 9],
        ],
      ),
    ).toEqual([2]);
  });

  it('returns the planned errno for errno sites, else the natural one, and records what fired', () => {
    const r = new FaultRegistry([
      { site: 'x', schedule: { mode: 'nth', n: 1 }, errno: -5 },
      { site: 'y', schedule: { mode: 'nth', n: 2 } },
      { site: 'never', schedule: { mode: 'nth', n: 1 } },
    ]);
    expect(r.check('x', 'errno', -12)).toEqual({ value: -5 });
    expect(r.check('y', 'errno', -12)).toBeUndefined();
    expect(r.check('y', 'errno', -12)).toEqual({ value: -12 });
    expect(r.fired.map((f) => [f.plan, f.point.site, f.point.call, f.point.global, f.value])).toEqual([
      [0, 'x', 1, 1, -5],
      [1, 'y', 2, 3, -12],
    ]);
    expect(r.unfiredPlans()).toEqual([2]);
    expect(r.passed.all().map((p) => `${p.site}#${p.call}`)).toEqual(['x#1', 'y#1', 'y#2']);
  });
});

describe('siteMatcher', () => {
  it('matches * within a segment and ** across segments', () => {
    const m = siteMatcher('init/alloc[*]/iommu_alloc_pages_node_sz');
    expect(m('init/alloc[2]/iommu_alloc_pages_node_sz')).toBe(true);
    expect(m('init/alloc[2]/x/iommu_alloc_pages_node_sz')).toBe(false);
    expect(siteMatcher('**/iommu_alloc_pages_node_sz')('a/b[1]/c/iommu_alloc_pages_node_sz')).toBe(true);
    expect(siteMatcher('a.b')('axb')).toBe(false);
    expect(siteMatcher('**/c/leaf')('c/leaf')).toBe(true); // ** may match no segment
    expect(siteMatcher('a/**/leaf')('a/leaf')).toBe(true);
    expect(siteMatcher('**/leaf')('xleaf')).toBe(false);
  });
});
