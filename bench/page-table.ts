import { Kernel } from '../runtime/linux/kernel.js';
import { GFP_KERNEL } from '../runtime/linux/gfp.js';
import { iommu_free_pages } from '../runtime/linux/iommu-pages.js';
import { iommu_iotlb_gather_init } from '../runtime/linux/iommu-gather.js';
import { IOMMU_READ, IOMMU_WRITE, PtFeature } from '../runtime/pt/defs.js';
import { PtIommu } from '../runtime/pt/iommu-pt.js';
import { amdv1 } from '../runtime/pt/fmt/amdv1.js';
import { execFileSync } from 'node:child_process';
import { against, measureRate, nativeBinary, wallMs, type BenchResult } from './harness.js';

const GiB = 1n << 30n;
/** The AMD driver's features (amd_iommu_domain_alloc_paging_v1) outside NpCache. */
export const FEATURES =
  PtFeature.DYNAMIC_TOP | PtFeature.AMDV1_ENCRYPT_TABLES | PtFeature.AMDV1_FORCE_COHERENCE | PtFeature.FLUSH_RANGE;

function newTable(k = new Kernel({ nodes: [{ id: 0, base: 0n, size: 1n << 40n }] })): { k: Kernel; pt: PtIommu } {
  const ops = { changeTop: () => {}, iotlbSync: () => {} };
  const pt = PtIommu.init(
    k,
    { fmt: amdv1, hwMaxVaszLg2: 48, hwMaxOaszLg2: 52, startingLevel: 2, features: FEATURES, nid: 0, driverOps: ops },
    GFP_KERNEL,
  );
  if (typeof pt === 'number') throw new Error('init failed');
  return { k, pt };
}

/** One map + unmap on `table`, its freed tables given back; iova and pa together decide the leaf sizes. */
function mapThenUnmap({ k, pt }: { k: Kernel; pt: PtIommu }, iova: bigint, pa: bigint, len: bigint): void {
  const r = pt.map(iova, pa, len, IOMMU_READ | IOMMU_WRITE, GFP_KERNEL);
  if (r.ret) throw new Error(`map failed ${r.ret}`);
  const g = iommu_iotlb_gather_init();
  if (pt.unmap(iova, len, g) !== len) throw new Error('unmap short');
  for (const va of g.freelist) iommu_free_pages(k, va);
}

/** One map + unmap on a fresh table of a fresh machine. */
function mapUnmap(iova: bigint, pa: bigint, len: bigint): () => void {
  return () => mapThenUnmap(newTable(), iova, pa, len);
}

/**
 * A table made, mapped, unmapped and torn down on one machine, as the C loop does with its tables each run:
 * for a range of a few leaves, where a new machine per map would be most of the time.
 */
function mapUnmapFreshTable(k: Kernel, iova: bigint, pa: bigint, len: bigint): () => void {
  return () => {
    const table = newTable(k);
    mapThenUnmap(table, iova, pa, len);
    table.pt.deinit();
  };
}

/** Leaves per second of the C loop (bench/native/pt-loop.c) doing the same map+unmap, best of its runs. */
function cRate(binary: string, iova: bigint, pa: bigint, len: bigint, leafLg2: number): number {
  const args = [iova, pa, len].map((v) => `0x${v.toString(16)}`);
  return Number(execFileSync(binary, [...args, String(leafLg2), '300'], { encoding: 'utf8' }).trim());
}

const MIXED_BATCH = 200;

/** Within 3x of C: the target for the page table, judged on the same-run ratio. */
const WITHIN_3X_OF_C = 'within 3 x the C loop';

export function pageTableBench(): BenchResult[] {
  const leaves4k = 262_144;
  const c = nativeBinary('pt-loop');
  // Without a C compiler: writing then clearing the same number of 64-bit entries in a plain typed array.
  const typedArray = measureRate(() => {
    const t = new BigUint64Array(leaves4k);
    let e = 0x7000_0000_0000_0001n;
    for (let i = 0; i < leaves4k; i++) {
      t[i] = e;
      e += 0x1000n;
    }
    for (let i = 0; i < leaves4k; i++) if (t[i]! & 1n) t[i] = 0n;
  }, leaves4k);
  const row = (name: string, value: number, cBase: number | undefined): BenchResult =>
    cBase === undefined
      ? { name, value, unit: 'leaves/s', baseline: against('typed-array write+clear', typedArray, value) }
      : {
          name,
          value,
          unit: 'leaves/s',
          baseline: against('C loop', cBase, value),
          target: WITHIN_3X_OF_C,
          pass: value / cBase >= 1 / 3,
        };
  const cases: [string, bigint, bigint, bigint, number, number][] = [
    // iova^pa = 4K: only 4K leaves.
    ['page table: map+unmap 1 GiB as 4 KiB leaves', GiB, 0x4000_1000n, GiB, 12, leaves4k],
    ['page table: map+unmap 16 GiB as 4 KiB leaves', 16n * GiB, 0x4_0000_1000n, 16n * GiB, 12, 16 * leaves4k],
    ['page table: map+unmap 64 GiB as 2 MiB leaves', GiB, 0x8020_0000n, 64n * GiB, 21, 32_768],
  ];
  const cRates = cases.map(([, iova, pa, len, leafLg2]) => (c ? cRate(c, iova, pa, len, leafLg2) : undefined));
  const rows = cases.map(([name, iova, pa, len, , leaves], i) =>
    row(name, measureRate(mapUnmap(iova, pa, len), leaves), cRates[i]),
  );
  // Through the CLI: a spec that maps and unmaps 16 GiB in 4 KiB leaves, less a spec that maps one page
  // (start-up, boot, capture of an empty table), against the C loop over the same 16 GiB.
  const cli = wallMs(['dist/bin/viommu-spec.cjs', 'run', 'bench/specs/map-16g-4k.yaml', '--no-color'], 3);
  const control = wallMs(['dist/bin/viommu-spec.cjs', 'run', 'bench/specs/map-4k.yaml', '--no-color'], 3);
  const cliRate = (16 * leaves4k) / (Math.max(cli - control, 1) / 1000);
  rows.push(row('page table through the CLI: a spec mapping+unmapping 16 GiB as 4 KiB leaves', cliRate, cRates[1]));
  // The mixed range: 4M, 8M, 16M, 1G, 2G, 4M and 2M leaves (see test/pt/iommu-pt.test.ts), against
  // the C loop's same leaves (leaf_lg2 0: each the largest size alignment and length allow).
  const mixed = [0x3e40_0000n, 0x3e40_0000n, 0xc220_0000n] as const;
  // Each timed body is a batch of maps: one takes microseconds, near the timer's resolution.
  const once = mapUnmapFreshTable(new Kernel({ nodes: [{ id: 0, base: 0n, size: 1n << 40n }] }), ...mixed);
  const rMixed = measureRate(() => {
    for (let i = 0; i < MIXED_BATCH; i++) once();
  }, 7 * MIXED_BATCH);
  rows.push(
    row(
      'page table: map+unmap 0xC2200000 at 0x3E400000 (7 mixed leaves, a new table each time)',
      rMixed,
      c ? cRate(c, ...mixed, 0) : undefined,
    ),
  );
  return rows;
}
