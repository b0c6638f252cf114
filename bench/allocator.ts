import { iommu_alloc_pages_node_sz, iommu_free_pages } from '../runtime/linux/iommu-pages.js';
import { Kernel } from '../runtime/linux/kernel.js';
import { GFP_KERNEL } from '../runtime/linux/gfp.js';
import { seededRandom } from '../runtime/fault/prng.js';
import { measureRatesInTurns, type BenchResult } from './harness.js';

const BLOCKS = 100_000;

/**
 * 100 000 mixed-order allocations, freed in a shuffled order so the buddy coalesces from every side, in
 * turns with its Map baseline.
 */
export function allocatorBench(): BenchResult[] {
  const random = seededRandom(1);
  const sizes = Array.from({ length: BLOCKS }, () => 4096n << BigInt(Math.floor(random() * random() * 10)));
  const freeOrder = Array.from({ length: BLOCKS }, (_, i) => i).sort(() => random() - 0.5);
  const model = (): void => {
    const k = new Kernel({ nodes: [{ id: 0, base: 0n, size: 1n << 40n }] });
    const vas = sizes.map((s) => iommu_alloc_pages_node_sz(k, 0, GFP_KERNEL, s));
    for (const i of freeOrder) iommu_free_pages(k, vas[i]!);
  };
  // Baseline: the same number of Map insertions and deletions, the cheapest possible ledger.
  const map = (): void => {
    const m = new Map<bigint, number>();
    for (let i = 0; i < BLOCKS; i++) m.set(BigInt(i) << 12n, i);
    for (const i of freeOrder) m.delete(BigInt(i) << 12n);
  };
  const [rate, baseline] = measureRatesInTurns([
    { body: model, ops: 2 * BLOCKS },
    { body: map, ops: 2 * BLOCKS },
  ]) as [number, number];
  return [
    {
      name: 'allocator: alloc+free, 100k mixed orders',
      value: rate,
      unit: 'ops/s',
      baseline: { name: 'Map set+delete', value: baseline, ratio: rate / baseline },
      target: '>= 0.3 x Map set+delete',
      pass: rate / baseline >= 0.3,
    },
  ];
}
