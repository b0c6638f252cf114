import { describe, expect, it } from 'vitest';
import { iommu_alloc_pages_node_sz, iommu_free_pages } from '../../runtime/linux/iommu-pages.js';
import { get_order } from '../../runtime/linux/page-alloc.js';
import { kfree, kzalloc } from '../../runtime/linux/slab.js';
import { GFP_KERNEL, __GFP_THISNODE, NUMA_NO_NODE } from '../../runtime/linux/gfp.js';
import { virt_to_phys } from '../../runtime/mem/direct-map.js';
import { makeKernel, MiB } from '../helpers.js';

const pa = (va: bigint | null): bigint => virt_to_phys(va!);

describe('iommu_alloc_pages_node_sz / iommu_free_pages', () => {
  it('rounds sizes up to an order, aligns naturally and zeroes the block', () => {
    const k = makeKernel();
    k.mem.write64(0x20_0008n, 0xdeadn); // dirty memory that a 2 MiB block will cover
    expect(pa(iommu_alloc_pages_node_sz(k, 0, GFP_KERNEL, 100n))).toBe(0x0n); // sub-page: order 0
    expect(pa(iommu_alloc_pages_node_sz(k, 0, GFP_KERNEL, 0x20_0000n))).toBe(0x20_0000n);
    expect(k.mem.read64(0x20_0008n)).toBe(0n);
    expect(pa(iommu_alloc_pages_node_sz(k, 0, GFP_KERNEL, 0x3000n))).toBe(0x4000n); // 12 KiB: order 2
    const live = k.ledger.liveAllocations();
    expect(live.map((a) => [a.order, a.seq, a.node, a.site])).toEqual([
      [0, 1, 0, 'iommu_alloc_pages_node_sz'],
      [9, 2, 0, 'iommu_alloc_pages_node_sz'],
      [2, 3, 0, 'iommu_alloc_pages_node_sz'],
    ]);
  });

  it('falls back to the next node unless __GFP_THISNODE, and NUMA_NO_NODE means node 0', () => {
    const k = makeKernel([
      [0n, 4n * MiB],
      [0x1_0000_0000n, 4n * MiB],
    ]);
    expect(pa(iommu_alloc_pages_node_sz(k, NUMA_NO_NODE, GFP_KERNEL, 4n * MiB))).toBe(0x0n);
    expect(iommu_alloc_pages_node_sz(k, 0, GFP_KERNEL | __GFP_THISNODE, 4096n)).toBeNull();
    expect(pa(iommu_alloc_pages_node_sz(k, 0, GFP_KERNEL, 4096n))).toBe(0x1_0000_0000n);
    expect(k.ledger.liveAllocations().map((a) => a.node)).toEqual([0, 1]);
    // Node 1 is preferred for this one, so it lands there even though node 0 would be first in order.
    iommu_free_pages(k, k.ledger.liveAllocations()[0]!.va);
    expect(pa(iommu_alloc_pages_node_sz(k, 1, GFP_KERNEL, 4096n))).toBe(0x1_0000_1000n);
  });

  it('returns NULL, not an exception, when memory is exhausted', () => {
    const k = makeKernel([[0n, 8n * MiB]]);
    expect(iommu_alloc_pages_node_sz(k, 0, GFP_KERNEL, 4n * MiB)).not.toBeNull();
    expect(iommu_alloc_pages_node_sz(k, 0, GFP_KERNEL, 4n * MiB)).not.toBeNull();
    expect(iommu_alloc_pages_node_sz(k, 0, GFP_KERNEL, 4096n)).toBeNull();
    expect(k.events).toEqual([]);
  });

  it('lists exactly the blocks still live after a partial free, and frees NULL as a no-op', () => {
    const k = makeKernel();
    const a = iommu_alloc_pages_node_sz(k, 0, GFP_KERNEL, 4096n);
    const b = iommu_alloc_pages_node_sz(k, 0, GFP_KERNEL, 0x20_0000n);
    const c = iommu_alloc_pages_node_sz(k, 0, GFP_KERNEL, 4096n);
    iommu_free_pages(k, b);
    iommu_free_pages(k, null);
    expect(k.ledger.liveAllocations().map((x) => x.va)).toEqual([a, c]);
    expect(k.ledger.freedAllocations().map((x) => x.va)).toEqual([b]);
  });

  it('reports a double free and a mismatched free as kernel bug events and changes nothing', () => {
    const k = makeKernel();
    const page = iommu_alloc_pages_node_sz(k, 0, GFP_KERNEL, 4096n);
    const obj = kzalloc(k, 256n, GFP_KERNEL);
    iommu_free_pages(k, page);
    const freeBefore = k.buddies[0]!.freePages;
    iommu_free_pages(k, page);
    iommu_free_pages(k, obj);
    expect(k.buddies[0]!.freePages).toBe(freeBefore);
    expect(k.events.map((e) => e.kind)).toEqual(['double_free', 'mismatched_free']);
    expect(k.ledger.liveAllocations().map((x) => x.va)).toEqual([obj]);
    kfree(k, obj);
    expect(k.ledger.liveAllocations()).toEqual([]);
  });
});

describe('get_order', () => {
  it('gives the smallest order whose block holds the size, on both sides of each power of two', () => {
    // Hand-computed: 4 KiB << order >= size.
    const cases: [bigint, number][] = [
      [0n, 0],
      [1n, 0],
      [0x1000n, 0],
      [0x1001n, 1],
      [0x2000n, 1],
      [0x2001n, 2],
      [0x3000n, 2],
      [0x5000n, 3],
      [0x40_0000n, 10], // 4 MiB: MAX_PAGE_ORDER
      [0x40_0001n, 11],
      [1n << 43n, 31], // 8 TiB, the last size counted in doubles
      [(1n << 43n) + 1n, 32],
      [1n << 60n, 48],
    ];
    expect(cases.map(([size]) => get_order(size))).toEqual(cases.map(([, order]) => order));
  });
});
