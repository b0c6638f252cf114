/** GFP flags the modelled code passes (bit positions from include/linux/gfp_types.h). */
export const __GFP_DMA = 1 << 0;
export const __GFP_HIGHMEM = 1 << 1;
export const __GFP_DMA32 = 1 << 2;
export const __GFP_HIGH = 1 << 5;
export const __GFP_IO = 1 << 6;
export const __GFP_FS = 1 << 7;
export const __GFP_ZERO = 1 << 8;
export const __GFP_DIRECT_RECLAIM = 1 << 10;
export const __GFP_KSWAPD_RECLAIM = 1 << 11;
export const __GFP_NOFAIL = 1 << 15;
export const __GFP_COMP = 1 << 18;
export const __GFP_THISNODE = 1 << 21;

export const __GFP_RECLAIM = __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM;
export const GFP_ATOMIC = __GFP_HIGH | __GFP_KSWAPD_RECLAIM;
export const GFP_KERNEL = __GFP_RECLAIM | __GFP_IO | __GFP_FS;

export type Gfp = number;

/** NUMA_NO_NODE: the caller has no preference. */
export const NUMA_NO_NODE = -1;
