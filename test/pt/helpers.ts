import { iommu_iotlb_gather_init_into } from '../../runtime/linux/iommu-gather.js';
import { amdv1 } from '../../runtime/pt/fmt/amdv1.js';
import { Kernel } from '../../runtime/linux/kernel.js';
import { GFP_KERNEL } from '../../runtime/linux/gfp.js';
import { iommu_free_pages } from '../../runtime/linux/iommu-pages.js';
import { PtFeature } from '../../runtime/pt/defs.js';
import { PtIommu, type PtDriverOps } from '../../runtime/pt/iommu-pt.js';
import { PAGE_OFFSET } from '../../runtime/mem/direct-map.js';
import type { InjectionPlan } from '../../runtime/fault/inject.js';

/** The features amd_iommu_domain_alloc_paging_v1 sets on bare metal (no NpCache). */
export const AMD_V1_FEATURES =
  PtFeature.DYNAMIC_TOP | PtFeature.AMDV1_ENCRYPT_TABLES | PtFeature.AMDV1_FORCE_COHERENCE | PtFeature.FLUSH_RANGE;

export interface TestTable {
  k: Kernel;
  pt: PtIommu;
  topChanges: { pa: bigint; level: number }[];
  syncs: { start: bigint; end: bigint; freed: number }[];
}

/** A fresh v1 table on a 1 TiB node at 0, with a driver that records top changes and frees on sync. */
export function newTable(hwMaxVaszLg2 = 64, faults: InjectionPlan[] = [], features = AMD_V1_FEATURES): TestTable {
  const k = new Kernel({ nodes: [{ id: 0, base: 0n, size: 1n << 40n }], faults });
  const topChanges: TestTable['topChanges'] = [];
  const syncs: TestTable['syncs'] = [];
  const ops: PtDriverOps = {
    changeTop: (pa, level) => topChanges.push({ pa, level }),
    iotlbSync: (g) => {
      syncs.push({ start: g.start, end: g.end, freed: g.freelist.length });
      for (const va of g.freelist) iommu_free_pages(k, va);
      iommu_iotlb_gather_init_into(g); // iommu_iotlb_sync re-initialises the gather
    },
  };
  const pt = PtIommu.init(
    k,
    { fmt: amdv1, hwMaxVaszLg2, hwMaxOaszLg2: 52, startingLevel: 2, features, nid: 0, driverOps: ops },
    GFP_KERNEL,
  );
  if (typeof pt === 'number') throw new Error(`init failed: ${pt}`);
  return { k, pt, topChanges, syncs };
}

/** The 64-bit word at index `i` of the table page with physical address `pa`. */
export function entryAt(k: Kernel, pa: bigint, i: number): bigint {
  return k.mem.read64(pa + BigInt(i) * 8n);
}

export const va = (pa: bigint): bigint => pa + PAGE_OFFSET;
