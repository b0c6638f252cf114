import { ModelBugError } from '../base/model-bug.js';

/**
 * x86-64 direct map with 4-level paging and no KASLR: PAGE_OFFSET = __PAGE_OFFSET_BASE_L4. Driver code holds
 * kernel virtual addresses and converts them exactly where the kernel does (virt_to_phys, __pa, __va).
 */
export const PAGE_OFFSET = 0xffff_8880_0000_0000n;
/** The direct map covers 64 TiB with 4-level paging. */
export const DIRECT_MAP_SIZE = 1n << 46n;
/** One past the direct map's last address: a constant, not a bigint sum per call on the command path. */
const DIRECT_MAP_END = PAGE_OFFSET + DIRECT_MAP_SIZE;

export function virt_to_phys(va: bigint): bigint {
  if (va < PAGE_OFFSET || va >= DIRECT_MAP_END) {
    throw new ModelBugError(`virt_to_phys(0x${va.toString(16)}): not a direct-map address`);
  }
  return va - PAGE_OFFSET;
}

export function phys_to_virt(pa: bigint): bigint {
  if (pa < 0n || pa >= DIRECT_MAP_SIZE)
    throw new ModelBugError(`phys_to_virt(0x${pa.toString(16)}): beyond the direct map`);
  return pa + PAGE_OFFSET;
}
