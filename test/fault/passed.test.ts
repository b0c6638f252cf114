import { describe, expect, it } from 'vitest';
import { PassedPoints } from '../../runtime/fault/passed.js';

describe('the points a run passed', () => {
  it('gives back each point as recorded, numbered from 1, with an order only where one was given', () => {
    const p = new PassedPoints();
    expect(p.add('a/iommu_alloc_pages_node_sz', 1, 'null', 0, 0)).toBe(1);
    expect(p.add('a/b/set_memory_uc', 1, 'errno', 2, undefined)).toBe(2);
    expect(p.add('a/iommu_alloc_pages_node_sz', 2, 'null', 3, 10)).toBe(3);
    expect(p.all()).toEqual([
      { site: 'a/iommu_alloc_pages_node_sz', call: 1, global: 1, kind: 'null', step: 0, order: 0 },
      { site: 'a/b/set_memory_uc', call: 1, global: 2, kind: 'errno', step: 2 },
      { site: 'a/iommu_alloc_pages_node_sz', call: 2, global: 3, kind: 'null', step: 3, order: 10 },
    ]);
    expect('order' in p.get(2)).toBe(false);
    expect([p.siteOf(3), p.stepOf(3), p.orderOf(3), p.orderOf(2)]).toEqual([
      'a/iommu_alloc_pages_node_sz',
      3,
      10,
      undefined,
    ]);
  });

  it('makes each point once, and keeps them all past its first columns', () => {
    const p = new PassedPoints();
    for (let i = 1; i <= 1000; i++) p.add(`s${i % 7}`, i, i % 3 === 0 ? 'hang' : 'null', i, undefined);
    expect(p.get(500)).toBe(p.get(500));
    expect(p.from(997).map((x) => [x.site, x.call, x.kind, x.step])).toEqual([
      ['s4', 998, 'null', 998],
      ['s5', 999, 'hang', 999],
      ['s6', 1000, 'null', 1000],
    ]);
    expect(p.length).toBe(1000);
  });
});
