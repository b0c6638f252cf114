import { pfnToPhys, PAGE_SIZE } from '../mem/phys-memory.js';
import { MAX_PAGE_ORDER } from '../mem/buddy.js';
import { phys_to_virt } from '../mem/direct-map.js';
import { CacheMode, cacheModeName } from '../mem/memtype.js';
import type { AllocFamily } from '../mem/ledger.js';
import { __GFP_NOFAIL, __GFP_THISNODE, NUMA_NO_NODE, type Gfp } from './gfp.js';
import type { Kernel } from './kernel.js';

/** get_order(): the buddy order that holds `size` bytes (sub-page sizes take one page). */
export function get_order(size: bigint): number {
  let order = 0;
  // In doubles up to 8 TiB (2^31 pages, what Math.clz32 takes); larger sizes in bigints.
  if (size <= CLZ_LIMIT) {
    const bytes = Number(size);
    if (bytes <= PAGE_SIZE) return 0;
    // The smallest order with 2^order >= pages, i.e. the bit length of pages - 1.
    const pages = Math.ceil(bytes / PAGE_SIZE);
    return 32 - Math.clz32(pages - 1);
  }
  while (BigInt(PAGE_SIZE) << BigInt(order) < size) order++;
  return order;
}

const CLZ_LIMIT = 1n << 43n;

/** The bytes of a block of each order up to MAX_PAGE_ORDER, made once rather than on every allocation. */
const ORDER_BYTES: readonly bigint[] = Array.from(
  { length: MAX_PAGE_ORDER + 1 },
  (_, o) => BigInt(PAGE_SIZE) << BigInt(o),
);

/** 4096 << order as a bigint: the bytes of a block of that order. */
export function orderBytes(order: number): bigint {
  return ORDER_BYTES[order] ?? BigInt(PAGE_SIZE) << BigInt(order);
}

/** numa_mem_id() of the CPU the simulated kernel runs on. */
const CURRENT_NODE = 0;

export interface PageBlock {
  readonly pfn: number;
  readonly node: number;
}

/**
 * The page allocator's node policy: the preferred node first, then the others in node order, unless the
 * caller pinned the node with __GFP_THISNODE. Returns undefined when nothing fits anywhere.
 */
export function allocPagesNode(k: Kernel, nid: number, gfp: Gfp, order: number): PageBlock | undefined {
  const preferred = nid === NUMA_NO_NODE ? CURRENT_NODE : nid;
  // k.buddies is in node order, so the second pass visits the other nodes in node order.
  for (const buddy of k.buddies) {
    if (buddy.node.id !== preferred) continue;
    const pfn = buddy.alloc(order);
    if (pfn !== undefined) return { pfn, node: buddy.node.id };
  }
  if ((gfp & __GFP_THISNODE) !== 0) return undefined;
  for (const buddy of k.buddies) {
    if (buddy.node.id === preferred) continue;
    const pfn = buddy.alloc(order);
    if (pfn !== undefined) return { pfn, node: buddy.node.id };
  }
  return undefined;
}

/**
 * One fallible page allocation under the failure point `leaf` (the fail_page_alloc hook), zeroed as the
 * callers here always ask. Returns the block's kernel virtual address and records it in the ledger.
 */
export function allocZeroedPages(
  k: Kernel,
  leaf: 'iommu_alloc_pages_node_sz' | 'kzalloc' | '__get_free_pages',
  family: AllocFamily,
  nid: number,
  gfp: Gfp,
  order: number,
  bytes: bigint,
): bigint | null {
  if ((gfp & __GFP_NOFAIL) === 0 && k.shouldFail(leaf, order)) return null;
  const block = allocPagesNode(k, nid, gfp, order);
  if (block === undefined) return null;
  k.mem.zeroPages(block.pfn, 1 << order);
  const pa = pfnToPhys(block.pfn);
  const va = phys_to_virt(pa);
  k.ledger.add({ family, va, pa, bytes, order, node: block.node, site: k.siteName(leaf), step: k.step });
  return va;
}

/** The function that frees each family, as the frame a free is recorded under. */
const FREE_FUNCTION: Record<AllocFamily, string> = {
  kmalloc: 'kfree',
  iommu_pages: 'iommu_free_pages',
  pages: 'free_pages',
};

/**
 * Frees a ledger-tracked block. A block that is not live, or belongs to another allocator family, is
 * reported as the kernel would (a BUG event) and left alone.
 */
export function freeTrackedPages(k: Kernel, va: bigint, family: AllocFamily): void {
  const result = k.ledger.release(va, family, k.siteName(FREE_FUNCTION[family]), k.step);
  if (!result.ok) {
    k.event({
      kind: result.problem,
      family,
      va,
      function: k.currentFunction,
      step: k.step,
      ...(result.problem === 'invalid_free' ? {} : { allocatedBy: result.allocation.site }),
    });
    return;
  }
  reportNonWb(k, result.pfn, 1 << result.order);
  k.buddyOf(result.node)!.release(result.pfn, result.order);
}

/** PAT keeps the memtype in page flags across a free; a page freed while not WB is a driver bug. */
function reportNonWb(k: Kernel, firstPfn: number, pages: number): void {
  if (k.memtypes.allWb(firstPfn, pages)) return;
  let runStart = -1;
  let runMode = 0;
  const flush = (end: number): void => {
    if (runStart < 0) return;
    k.event({
      kind: 'freed_not_wb',
      pa: pfnToPhys(runStart),
      pages: end - runStart,
      mode: cacheModeName(runMode as 0),
      function: k.currentFunction,
      step: k.step,
    });
    runStart = -1;
  };
  for (let pfn = firstPfn; pfn < firstPfn + pages; pfn++) {
    const mode = k.memtypes.get(pfn);
    if (mode !== CacheMode.WB && (runStart < 0 || mode !== runMode)) {
      flush(pfn);
      runStart = pfn;
      runMode = mode;
    } else if (mode === CacheMode.WB) {
      flush(pfn);
    }
  }
  flush(firstPfn + pages);
}

/** mm/page_alloc.c __get_free_pages: `order` pages from any node, zeroed only with __GFP_ZERO. NULL on failure. */
export function __get_free_pages(k: Kernel, gfp: Gfp, order: number): bigint | null {
  // Every caller in the model passes __GFP_ZERO; allocZeroedPages zeroes unconditionally.
  return allocZeroedPages(k, '__get_free_pages', 'pages', NUMA_NO_NODE, gfp, order, orderBytes(order));
}

/** free_pages: the counterpart of __get_free_pages. */
export function free_pages(k: Kernel, va: bigint, _order: number): void {
  freeTrackedPages(k, va, 'pages');
}
