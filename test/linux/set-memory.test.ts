import { describe, expect, it } from 'vitest';
import { set_memory_uc, set_memory_wb } from '../../runtime/linux/set-memory.js';
import { iommu_alloc_pages_node_sz, iommu_free_pages } from '../../runtime/linux/iommu-pages.js';
import { GFP_KERNEL } from '../../runtime/linux/gfp.js';
import { CacheMode } from '../../runtime/mem/memtype.js';
import { Errno } from '../../runtime/linux/errno.js';
import { makeKernel } from '../helpers.js';

describe('set_memory_uc / set_memory_wb', () => {
  it('moves WB -> UC- -> WB', () => {
    const k = makeKernel();
    const va = iommu_alloc_pages_node_sz(k, 0, GFP_KERNEL, 0x4000n)!;
    expect(set_memory_uc(k, va, 4)).toBe(0);
    expect([0, 1, 2, 3, 4].map((pfn) => k.memtypes.get(pfn))).toEqual([2, 2, 2, 2, 0]);
    expect(set_memory_wb(k, va, 4)).toBe(0);
    expect(k.memtypes.nonWb()).toEqual([]);
  });

  it('fails with -EBUSY and changes nothing when any page is not WB, printing the PAT line', () => {
    const k = makeKernel();
    const va = iommu_alloc_pages_node_sz(k, 0, GFP_KERNEL, 0x4000n)!;
    expect(set_memory_uc(k, va + 0x2000n, 1)).toBe(0);
    expect(set_memory_uc(k, va, 4)).toBe(-Errno.EBUSY);
    expect(k.memtypes.nonWb()).toEqual([[2, CacheMode.UC_MINUS]]);
    expect(k.log.lines.map((l) => [l.level, l.text])).toEqual([
      ['info', 'x86/PAT: reserve_ram_pages_type failed [mem 0x00000000-0x00003fff], track 0x2, req 0x2'],
    ]);
  });

  it('undoes the reservation when the attribute change fails', () => {
    const k = makeKernel([[0n, 1n << 26n]], [{ site: '**/_set_memory_uc', schedule: { mode: 'nth', n: 1 } }]);
    const va = iommu_alloc_pages_node_sz(k, 0, GFP_KERNEL, 0x2000n)!;
    expect(set_memory_uc(k, va, 2)).toBe(-Errno.ENOMEM);
    expect(k.memtypes.nonWb()).toEqual([]);
    expect(k.faults.fired.map((f) => f.point.site)).toEqual(['set_memory_uc/_set_memory_uc']);
  });

  it('keeps UC- when set_memory_wb fails, and a free in that state is reported', () => {
    const k = makeKernel([[0n, 1n << 26n]], [{ site: '**/_set_memory_wb', schedule: { mode: 'nth', n: 1 } }]);
    const va = iommu_alloc_pages_node_sz(k, 0, GFP_KERNEL, 0x2000n)!;
    expect(set_memory_uc(k, va, 2)).toBe(0);
    expect(set_memory_wb(k, va, 2)).toBe(-Errno.ENOMEM);
    expect(k.memtypes.get(0)).toBe(CacheMode.UC_MINUS);
    iommu_free_pages(k, va);
    expect(k.events).toMatchObject([{ kind: 'freed_not_wb', pa: 0n, pages: 2, mode: 'UC_MINUS' }]);
    // The tracking survives the free: the next owner of the page cannot set it UC.
    const again = iommu_alloc_pages_node_sz(k, 0, GFP_KERNEL, 0x1000n)!;
    expect(set_memory_uc(k, again, 1)).toBe(-Errno.EBUSY);
  });

  it('WARNs and returns -EINVAL for an empty range', () => {
    const k = makeKernel();
    const va = iommu_alloc_pages_node_sz(k, 0, GFP_KERNEL, 0x1000n)!;
    expect(set_memory_uc(k, va, 0)).toBe(-Errno.EINVAL);
    expect(k.events).toMatchObject([
      { kind: 'warn', message: 'memtype_reserve failed: [mem 0x00000000-0xffffffffffffffff], req uncached-minus' },
    ]);
  });
});
