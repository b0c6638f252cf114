import { pt_iommu_amdv1_hw_info } from '../../runtime/pt/fmt/amdv1.js';
import { describe, expect, it } from 'vitest';
import { Errno } from '../../runtime/linux/errno.js';
import { GFP_KERNEL } from '../../runtime/linux/gfp.js';
import { iommu_iotlb_gather_init } from '../../runtime/linux/iommu-gather.js';
import { EntryType, IOMMU_READ, IOMMU_WRITE } from '../../runtime/pt/defs.js';
import * as fmt from '../../runtime/pt/fmt/amdv1.js';
import { hwWalk, isWalkFault } from '../../runtime/hw/walk.js';
import { computeBestPgsize } from '../../runtime/pt/iommu-pt.js';
import { entryAt, newTable } from './helpers.js';

const RW = IOMMU_READ | IOMMU_WRITE;
const PR_IR_IW = 0x6000_0000_0000_0001n; // a PDE's fixed bits
const LEAF_RW = 0x7000_0000_0000_0001n; // PR|FC|IR|IW

describe('domain init and top growth', () => {
  it('starts at level 2 (mode 3) with one table page and the v1 size bitmap', () => {
    const { pt, k } = newTable();
    expect(pt_iommu_amdv1_hw_info(pt.top())).toEqual({ host_pt_root: 0x0n, mode: 3 });
    expect(pt.pgsizeBitmap).toBe(0x000f_ff7f_ffff_f000n);
    expect(k.ledger.liveAllocations()).toHaveLength(1);
  });

  it('grows from level 2 to 3 with the old top at index 0 of the new one', () => {
    const { pt, k, topChanges } = newTable(48);
    expect(pt.map(1n << 39n, 0x20_0000n, 0x1000n, RW, GFP_KERNEL)).toEqual({ ret: 0, mapped: 0x1000n });
    // Allocation order: old top 0x0, new top 0x1000, then level-1 and level-0 tables for 2^39.
    expect(pt_iommu_amdv1_hw_info(pt.top())).toEqual({ host_pt_root: 0x1000n, mode: 4 });
    expect(topChanges).toEqual([{ pa: 0x1000n, level: 3 }]);
    expect(entryAt(k, 0x1000n, 0)).toBe(PR_IR_IW | (3n << 9n) | 0x0n); // NL=3 -> old level-2 top at 0
    expect(entryAt(k, 0x1000n, 1)).toBe(PR_IR_IW | (3n << 9n) | 0x2000n); // new level-2 table for [512G, 1T)
    expect(pt.iovaToPhys((1n << 39n) + 0x123n)).toBe(0x20_0123n);
  });

  it('grows from level 2 to 5 for an IOVA near 2^64 and maps it', () => {
    const { pt, k } = newTable(64);
    const iova = 0xffff_ffff_ffff_f000n;
    expect(pt.map(iova, 0x7000_0000n, 0x1000n, IOMMU_READ, GFP_KERNEL)).toEqual({ ret: 0, mapped: 0x1000n });
    // New tops 0x1000 (L3), 0x2000 (L4), 0x3000 (L5); then tables 0x4000 (L4) .. 0x8000 (L0) for the IOVA.
    expect(pt_iommu_amdv1_hw_info(pt.top())).toEqual({ host_pt_root: 0x3000n, mode: 6 });
    expect(entryAt(k, 0x3000n, 0)).toBe(PR_IR_IW | (5n << 9n) | 0x2000n);
    expect(entryAt(k, 0x2000n, 0)).toBe(PR_IR_IW | (4n << 9n) | 0x1000n);
    expect(entryAt(k, 0x1000n, 0)).toBe(PR_IR_IW | (3n << 9n) | 0x0n);
    expect(entryAt(k, 0x3000n, 127)).toBe(PR_IR_IW | (5n << 9n) | 0x4000n);
    expect(entryAt(k, 0x8000n, 511)).toBe(0x3000_0000_7000_0001n);
    expect(pt.iovaToPhys(iova + 0xfffn)).toBe(0x7000_0fffn);
  });

  it('refuses an IOVA beyond the IOMMU max VA with -ERANGE and leaves no new table', () => {
    const { pt, k } = newTable(48);
    expect(pt.map(1n << 48n, 0n, 0x1000n, RW, GFP_KERNEL).ret).toBe(-Errno.ERANGE);
    expect(k.ledger.liveAllocations()).toHaveLength(1);
    expect(pt_iommu_amdv1_hw_info(pt.top()).mode).toBe(3);
  });
});

describe('map errors', () => {
  const { pt } = newTable();
  it.each([
    ['no permission', 0x1000n, 0x1000n, 0x1000n, 0, -Errno.EINVAL],
    ['pa above 52 bits', 0x1000n, 1n << 52n, 0x1000n, RW, -Errno.ERANGE],
    ['zero length', 0x1000n, 0x1000n, 0n, RW, -Errno.EINVAL],
    ['iova + len wraps', 0xffff_ffff_ffff_f000n, 0x1000n, 0x2000n, RW, -Errno.EOVERFLOW],
    ['misaligned iova', 0x1800n, 0x1000n, 0x1000n, RW, -Errno.ENXIO],
    ['misaligned pa', 0x1000n, 0x1800n, 0x1000n, RW, -Errno.ENXIO],
  ] as const)('%s', (_name, iova, pa, len, prot, ret) => {
    expect(pt.map(iova, pa, len, prot, GFP_KERNEL).ret).toBe(ret);
  });

  it('-EADDRINUSE on any overlap, reporting the bytes it installed before the conflict', () => {
    const { pt } = newTable();
    expect(pt.map(0x20_0000n, 0x20_0000n, 0x20_0000n, RW, GFP_KERNEL).ret).toBe(0);
    // Inside the 2M leaf.
    expect(pt.map(0x30_0000n, 0x0n, 0x1000n, RW, GFP_KERNEL).ret).toBe(-Errno.EADDRINUSE);
    expect(pt.map(0x1f_e000n, 0x0n, 0x4000n, RW, GFP_KERNEL)).toEqual({ ret: -Errno.EADDRINUSE, mapped: 0x2000n });
    // 4M over it.
    expect(pt.map(0x0n, 0x0n, 0x40_0000n, RW, GFP_KERNEL)).toEqual({ ret: -Errno.EADDRINUSE, mapped: 0n });
  });

  it('-ENOMEM when a table page cannot be allocated; tables made before the failure stay linked', () => {
    // Map-time allocations only: the init top is site 'pt_iommu_amdv1_init/iommu_alloc_pages_node_sz'.
    const first = newTable(64, [{ site: 'iommu_alloc_pages_node_sz', schedule: { mode: 'nth', n: 1 } }]);
    expect(first.pt.map(0x0n, 0x0n, 0x1000n, RW, GFP_KERNEL)).toEqual({ ret: -Errno.ENOMEM, mapped: 0n });
    expect(first.k.ledger.liveAllocations()).toHaveLength(1);
    // Failing the level-0 table leaves the new level-1 table in place, empty, as generic_pt does.
    const second = newTable(64, [{ site: 'iommu_alloc_pages_node_sz', schedule: { mode: 'nth', n: 2 } }]);
    expect(second.pt.map(0x0n, 0x0n, 0x1000n, RW, GFP_KERNEL)).toEqual({ ret: -Errno.ENOMEM, mapped: 0n });
    expect(second.k.ledger.liveAllocations()).toHaveLength(2);
    expect(second.pt.tablePages()).toHaveLength(2);
  });
});

describe('KUnit-equivalent checks', () => {
  it('every allowed size at every level maps, translates back, occupies exactly one entry group, and unmaps', () => {
    for (let lg2 = 12; lg2 <= 51; lg2++) {
      if (lg2 === 39) continue;
      const { pt, k } = newTable(64);
      const size = 1n << BigInt(lg2);
      const iova = size * 3n; // aligned, and not at index 0
      const pa = size * 5n < 1n << 52n ? size * 5n : size; // the OA must stay below 2^52
      expect(pt.map(iova, pa, size, RW, GFP_KERNEL)).toEqual({ ret: 0, mapped: size });
      expect(pt.iovaToPhys(iova)).toBe(pa);
      expect(pt.iovaToPhys(iova + size - 1n)).toBe(pa + size - 1n);
      expect(pt.iovaToPhys(iova - 1n)).toBe(0n);
      // Exactly one entry group: count present entries in the leaf's table.
      const level = Math.floor((lg2 - 12) / 9);
      const w = hwWalk(
        k.mem,
        pt_iommu_amdv1_hw_info(pt.top()).host_pt_root,
        pt_iommu_amdv1_hw_info(pt.top()).mode,
        iova,
      );
      if (isWalkFault(w)) throw new Error('walk fault');
      expect(w.pageLg2).toBe(lg2);
      const leafTable = w.tables[w.tables.length - 1]!;
      let leaves = 0;
      for (let i = 0; i < 512; i++) if (fmt.entryType(entryAt(k, leafTable, i), level) === EntryType.OA) leaves++;
      expect(leaves).toBe(1 << (lg2 - fmt.itemLg2(level)));
      expect(pt.unmap(iova, size, iommu_iotlb_gather_init())).toBe(size);
      expect(pt.iovaToPhys(iova)).toBe(0n);
    }
  });

  it('unmapping a 4 KiB piece at the start of a 2 MiB leaf unmaps all 2 MiB; inside it unmaps nothing', () => {
    const { pt } = newTable();
    pt.map(0x20_0000n, 0x4000_0000n, 0x20_0000n, RW, GFP_KERNEL);
    expect(pt.unmap(0x20_1000n, 0x1000n, iommu_iotlb_gather_init())).toBe(0n);
    expect(pt.unmap(0x20_0000n, 0x1000n, iommu_iotlb_gather_init())).toBe(0x20_0000n);
    expect(pt.iovaToPhys(0x30_0000n)).toBe(0n);
  });

  it('unmap stops at the first hole', () => {
    const { pt } = newTable();
    pt.map(0x0n, 0x0n, 0x4000n, RW, GFP_KERNEL); // one 16K leaf
    pt.map(0x8000n, 0x8000n, 0x1000n, RW, GFP_KERNEL);
    const g = iommu_iotlb_gather_init();
    expect(pt.unmap(0x0n, 0x10000n, g)).toBe(0x4000n); // hole at 0x4000
    // The gather holds what was unmapped, not what was asked (ee6e69d03255).
    expect([g.start, g.end, g.freelist]).toEqual([0x0n, 0x3fffn, []]);
    expect(pt.iovaToPhys(0x8000n)).toBe(0x8000n);
  });

  it('frees a lower table only when one request covers all of it; an emptied table otherwise stays', () => {
    const { pt, k } = newTable();
    // iova ^ pa forces 4K leaves.
    const fourK = (): void => void expect(pt.map(0x0n, 0x1000n, 0x20_0000n, RW, GFP_KERNEL).ret).toBe(0);
    fourK();
    expect(k.ledger.liveAllocations()).toHaveLength(3); // top, level 1, level 0
    const halves = iommu_iotlb_gather_init();
    expect(pt.unmap(0x0n, 0x10_0000n, halves) + pt.unmap(0x10_0000n, 0x10_0000n, halves)).toBe(0x20_0000n);
    expect(halves.freelist).toEqual([]);
    // The level-0 table is now empty but linked; a whole-span unmap meets a hole at once and frees nothing.
    expect(pt.unmap(0x0n, 0x20_0000n, halves)).toBe(0n);
    expect(halves.freelist).toEqual([]);
    const whole = iommu_iotlb_gather_init();
    fourK();
    expect(pt.unmap(0x0n, 0x20_0000n, whole)).toBe(0x20_0000n);
    expect(whole.freelist.map((va) => va - 0xffff_8880_0000_0000n)).toEqual([0x2000n]);
  });

  it('a mixed-alignment range produces exactly the hand-derived leaf list', () => {
    const { pt, k } = newTable();
    const base = 0x3e40_0000n;
    const len = 0xc220_0000n;
    expect(pt.map(base, base, len, RW, GFP_KERNEL)).toEqual({ ret: 0, mapped: len });
    // Greedy rule, derived by hand: size = largest allowed <= lowest set bit of (iova | pa | 2^floor(log2 rest)).
    const expected: [bigint, number, number, number][] = [
      // [iova, size lg2, level, copies]
      [0x3e40_0000n, 22, 1, 2], // 4M: NL=7, 2 items of 2M
      [0x3e80_0000n, 23, 1, 4], // 8M
      [0x3f00_0000n, 24, 1, 8], // 16M
      [0x4000_0000n, 30, 2, 1], // 1G: NL=0 at level 2
      [0x8000_0000n, 31, 2, 2], // 2G: NL=7 at level 2
      [0x1_0000_0000n, 22, 1, 2], // 4M
      [0x1_0040_0000n, 21, 1, 1], // 2M: NL=0
    ];
    const root = pt_iommu_amdv1_hw_info(pt.top()).host_pt_root;
    let total = 0n;
    for (const [iova, lg2, level, copies] of expected) {
      const w = hwWalk(k.mem, root, 3, iova);
      if (isWalkFault(w)) throw new Error(`fault at ${iova}`);
      expect([w.pageIova, w.pageLg2, w.tables.length]).toEqual([iova, lg2, 3 - level]);
      const table = w.tables[w.tables.length - 1]!;
      const first = Number((iova >> BigInt(fmt.itemLg2(level))) & 511n);
      const entry = entryAt(k, table, first);
      expect(entry).toBe(LEAF_RW | iova | (copies > 1 ? (7n << 9n) | (((1n << BigInt(lg2 - 13)) - 1n) << 12n) : 0n));
      for (let c = 0; c < copies; c++) expect(entryAt(k, table, first + c)).toBe(entry);
      expect(entryAt(k, table, first + copies) === entry).toBe(false);
      total += 1n << BigInt(lg2);
    }
    expect(total).toBe(len);
    expect(k.ledger.liveAllocations()).toHaveLength(3); // top + level-1 tables for [0,1G) and [4G,5G)
  });
});

describe('pt_compute_best_pgsize against a brute-force reference', () => {
  it('agrees for alignment/length combinations', () => {
    const bitmap = 0x000f_ff7f_ffff_f000n;
    for (let a = 12; a < 52; a += 3) {
      for (let l = 12; l < 52; l += 5) {
        const va = 1n << BigInt(a);
        const last = va + (1n << BigInt(l)) + 0x1000n - 1n;
        let ref = 0;
        for (let s = 12; s <= 51; s++) {
          const sz = 1n << BigInt(s);
          if (s !== 39 && va % sz === 0n && sz <= last - va + 1n) ref = s;
        }
        expect(computeBestPgsize(bitmap, va, last, va)).toBe(ref);
      }
    }
  });
});

describe('large frees', () => {
  it('gathers hundreds of thousands of freed tables without overflowing the stack', () => {
    const { pt } = newTable();
    const gather = iommu_iotlb_gather_init();
    const freed = Array.from({ length: 300_000 }, (_, i) => BigInt(i));
    // What unmapping 600 GiB of 4 KiB pages hands to the gather in one go.
    (
      pt as unknown as { gatherRangePages(g: typeof gather, iova: bigint, len: bigint, f: bigint[]): void }
    ).gatherRangePages(gather, 0n, 1n << 30n, freed);
    expect(gather.freelist).toHaveLength(300_000);
  });
});
