import { NUMA_NO_NODE, type Gfp } from './gfp.js';
import type { Kernel } from './kernel.js';
import { allocZeroedPages, freeTrackedPages, get_order } from './page-alloc.js';

/**
 * kzalloc/kfree. Objects are whole ledger entries (so leaks and double frees are per object); their memory
 * comes from the page allocator like any slab's, which keeps memory pressure on a node real. Small objects
 * round up to the kmalloc size classes; every object here gets its own backing pages because the modelled
 * driver allocates only a handful and their placement must not depend on slab packing heuristics.
 */
export function kzalloc(k: Kernel, size: bigint, gfp: Gfp, nid = NUMA_NO_NODE): bigint | null {
  return allocZeroedPages(k, 'kzalloc', 'kmalloc', nid, gfp, get_order(size), size);
}

export function kfree(k: Kernel, objp: bigint | null): void {
  if (objp === null) return;
  freeTrackedPages(k, objp, 'kmalloc');
}
