import { Kernel } from '../runtime/linux/kernel.js';
import { GFP_KERNEL } from '../runtime/linux/gfp.js';
import { iommu_free_pages } from '../runtime/linux/iommu-pages.js';
import { iommu_iotlb_gather_init } from '../runtime/linux/iommu-gather.js';
import { IOMMU_READ, IOMMU_WRITE, PtFeature } from '../runtime/pt/defs.js';
import { PtIommu } from '../runtime/pt/iommu-pt.js';
import { amdv1 } from '../runtime/pt/fmt/amdv1.js';
import { against, measureRate, type BenchResult } from './harness.js';

const GiB = 1n << 30n;
/** The AMD driver's features (amd_iommu_domain_alloc_paging_v1) outside NpCache. */
export const FEATURES =
  PtFeature.DYNAMIC_TOP | PtFeature.AMDV1_ENCRYPT_TABLES | PtFeature.AMDV1_FORCE_COHERENCE | PtFeature.FLUSH_RANGE;

function newTable(): { k: Kernel; pt: PtIommu } {
  const k = new Kernel({ nodes: [{ id: 0, base: 0n, size: 1n << 40n }] });
  const ops = { changeTop: () => {}, iotlbSync: () => {} };
  const pt = PtIommu.init(
    k,
    { fmt: amdv1, hwMaxVaszLg2: 48, hwMaxOaszLg2: 52, startingLevel: 2, features: FEATURES, nid: 0, driverOps: ops },
    GFP_KERNEL,
  );
  if (typeof pt === 'number') throw new Error('init failed');
  return { k, pt };
}

/** One map + unmap on a fresh table; iova and pa together decide the leaf sizes. */
function mapUnmap(iova: bigint, pa: bigint, len: bigint): () => void {
  return () => {
    const { k, pt } = newTable();
    const r = pt.map(iova, pa, len, IOMMU_READ | IOMMU_WRITE, GFP_KERNEL);
    if (r.ret) throw new Error(`map failed ${r.ret}`);
    const g = iommu_iotlb_gather_init();
    if (pt.unmap(iova, len, g) !== len) throw new Error('unmap short');
    for (const va of g.freelist) iommu_free_pages(k, va);
  };
}

export function pageTableBench(): BenchResult[] {
  const leaves4k = 262_144;
  // Baseline: writing then clearing the same number of 64-bit entries in a plain typed array.
  const baseline = measureRate(() => {
    const t = new BigUint64Array(leaves4k);
    let e = 0x7000_0000_0000_0001n;
    for (let i = 0; i < leaves4k; i++) {
      t[i] = e;
      e += 0x1000n;
    }
    for (let i = 0; i < leaves4k; i++) if (t[i]! & 1n) t[i] = 0n;
  }, leaves4k);
  const baselineInfo = (v: number) => against('typed-array write+clear', baseline, v);
  const r4k = measureRate(mapUnmap(GiB, 0x4000_1000n, GiB), leaves4k); // iova^pa = 4K: only 4K leaves
  const r2m = measureRate(mapUnmap(GiB, 0x8020_0000n, 64n * GiB), 32_768); // 64 GiB as 2M leaves
  // The mixed range: 4M, 8M, 16M, 1G, 2G, 4M and 2M leaves (see test/pt/iommu-pt.test.ts).
  const rMixed = measureRate(mapUnmap(0x3e40_0000n, 0x3e40_0000n, 0xc220_0000n), 7);
  return [
    {
      name: 'page table: map+unmap 1 GiB as 4 KiB leaves',
      value: r4k,
      unit: 'leaves/s',
      baseline: baselineInfo(r4k),
      target: '>= 5,000,000',
    },
    {
      name: 'page table: map+unmap 64 GiB as 2 MiB leaves',
      value: r2m,
      unit: 'leaves/s',
      baseline: baselineInfo(r2m),
      target: '>= 2,000,000',
    },
    {
      name: 'page table: map+unmap 0xC2200000 at 0x3E400000 (7 mixed leaves)',
      value: rMixed,
      unit: 'leaves/s',
      baseline: baselineInfo(rMixed),
    },
  ];
}
