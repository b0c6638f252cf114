import type { Gfp } from './gfp.js';
import { __GFP_HIGHMEM, __GFP_ZERO } from './gfp.js';
import type { Kernel } from './kernel.js';
import { allocZeroedPages, freeTrackedPages, get_order, orderBytes } from './page-alloc.js';

/** drivers/iommu/iommu-pages.c: always zeroed, naturally aligned to its order, NULL on failure. */
export function iommu_alloc_pages_node_sz(k: Kernel, nid: number, gfp: Gfp, size: bigint): bigint | null {
  if (k.WARN_ON((gfp & __GFP_HIGHMEM) !== 0)) return null;
  const order = get_order(size);
  return allocZeroedPages(
    k,
    'iommu_alloc_pages_node_sz',
    'iommu_pages',
    nid,
    gfp | __GFP_ZERO,
    order,
    orderBytes(order),
  );
}

export function iommu_free_pages(k: Kernel, virt: bigint | null): void {
  if (virt === null) return;
  freeTrackedPages(k, virt, 'iommu_pages');
}
