/**
 * Generic page table language, after Linux drivers/iommu/generic_pt/pt_defs.h:
 * - level 0 is the leaf table (AMD "mode 1"); a table at level L holds items of 2^itemLg2(L) bytes;
 * - an *item* is one slot, an *entry* a run of contiguous items that together map one page;
 * - ranges are {va, last} inclusive, so a range ending at 2^64 - 1 needs no 65th bit;
 * - `Lg2` names a log2 value (a size of 2^x bytes).
 */
export const EntryType = { EMPTY: 0, TABLE: 1, OA: 2 } as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

/** IOMMU_READ / IOMMU_WRITE (include/linux/iommu.h); the AMD IOMMU_PROT_IR/IW share the values. */
export const IOMMU_READ = 1;
export const IOMMU_WRITE = 2;
/** DMA cache coherency (include/linux/iommu.h). */
export const IOMMU_CACHE = 1 << 2;
export const IOMMU_NOEXEC = 1 << 3;
/** For example, an MSI doorbell or MMIO: not memory, so not encrypted. */
export const IOMMU_MMIO = 1 << 4;

/** The generic_pt features the AMD v1 driver sets or the format forces (pt_defs.h: enum pt_features). */
export const PtFeature = {
  DMA_INCOHERENT: 1 << 0,
  FULL_VA: 1 << 1,
  DYNAMIC_TOP: 1 << 2,
  SIGN_EXTEND: 1 << 3,
  FLUSH_RANGE: 1 << 4,
  FLUSH_RANGE_NO_GAPS: 1 << 5,
  AMDV1_ENCRYPT_TABLES: 1 << 6,
  AMDV1_FORCE_COHERENCE: 1 << 7,
} as const;

/** lowMask's answers for 0..64, made once: the walkers ask for one per table they visit. */
const LOW_MASKS: readonly bigint[] = Array.from({ length: 65 }, (_, lg2) => (1n << BigInt(lg2)) - 1n);

/** VA bits [0, lg2) as a mask; lg2 64 means all of them. */
export function lowMask(lg2: number): bigint {
  return LOW_MASKS[lg2] ?? (1n << BigInt(lg2)) - 1n;
}
