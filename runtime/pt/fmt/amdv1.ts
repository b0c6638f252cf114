import { EntryType, IOMMU_READ, IOMMU_WRITE, lowMask, PtFeature } from '../defs.js';
import type { PtFormat } from '../format.js';

/**
 * The AMD IOMMU v1 (host) page-table format: bit layout and nothing else. Section "2.2.3 I/O Page Tables for
 * Host Translations" of the AMD I/O Virtualization Technology (IOMMU) Specification, as Linux encodes it in
 * drivers/iommu/generic_pt/fmt/amdv1.h. The walk, map and unmap algorithms live in ../iommu-pt.ts.
 */

export const MAX_VA_LG2 = 64;
export const MAX_OA_LG2 = 52;
/** Level 5 only holds pointers and covers VA bits 63:57. */
export const MAX_TOP_LEVEL = 5;
export const GRANULE_LG2 = 12;
export const TABLEMEM_LG2 = 12;

export const PR = 1n << 0n;
export const A = 1n << 5n;
export const D = 1n << 6n;
export const NEXT_LEVEL_SHIFT = 9n;
export const NEXT_LEVEL = 7n << NEXT_LEVEL_SHIFT;
export const OA_MASK = ((1n << 52n) - 1n) & ~0xfffn; // GENMASK_ULL(51, 12)
export const FC = 1n << 60n;
export const IR = 1n << 61n;
export const IW = 1n << 62n;

/** Next Level values with a meaning of their own; 1..6 point to a table of that (hardware) level. */
export const NL_DEFAULT = 0;
export const NL_SIZE = 7;

/** Bytes one item of a level-`level` table covers: 4 KiB, 2 MiB, 1 GiB, 512 GiB, 256 TiB, 2^57. */
export function itemLg2(level: number): number {
  return GRANULE_LG2 + 9 * level;
}

/** Items per table: 512, except the top-only level 5 (bits 63:57 = 128). */
export function numItemsLg2(level: number): number {
  return level === MAX_TOP_LEVEL ? 7 : TABLEMEM_LG2 - 3;
}

/** "Table 15: Page Table Level Parameters": the top-most level cannot have translation entries. */
export function canHaveLeaf(level: number): boolean {
  return level < MAX_TOP_LEVEL;
}

/** Leaf sizes one level can hold: every power of two from its item size up, except 512 GiB (a HW erratum). */
export function possibleSizes(level: number): bigint {
  if (!canHaveLeaf(level)) return 0n;
  const isz = itemLg2(level);
  const hi = Math.min(51, isz + numItemsLg2(level) - 1);
  return lowMask(hi + 1) & ~lowMask(isz) & ~(1n << 39n);
}

/** The decoding rule of amdv1pt_load_entry_raw, on the two 32-bit halves of an entry. */
export function entryTypeOfLow(low: number, level: number): EntryType {
  if ((low & 1) === 0) return EntryType.EMPTY;
  const nl = (low >>> 9) & 7;
  return level === 0 || nl === NL_DEFAULT || nl === NL_SIZE ? EntryType.OA : EntryType.TABLE;
}

export function entryType(entry: bigint, level: number): EntryType {
  return entryTypeOfLow(Number(entry & 0xffff_ffffn), level);
}

export function nextLevel(entry: bigint): number {
  return Number((entry & NEXT_LEVEL) >> NEXT_LEVEL_SHIFT);
}

export function tablePa(entry: bigint): bigint {
  return entry & OA_MASK;
}

/** log2 of the number of items a leaf entry spans (0 for NL=0); reads the run of ones in the OA field. */
export function numContigLg2OfLow(low: number, high: number, level: number): number {
  if (((low >>> 9) & 7) === NL_DEFAULT) return 0;
  // code = entry >> (OA shift - 1 + itemLg2 - granule); its first zero bit is the count's log2.
  const shift = 11 + itemLg2(level) - GRANULE_LG2;
  const code = shift >= 32 ? high >>> (shift - 32) : ((low >>> shift) | (high << (32 - shift))) >>> 0;
  return ffz32(code);
}

export function numContigLg2(entry: bigint, level: number): number {
  return numContigLg2OfLow(Number(entry & 0xffff_ffffn), Number(entry >> 32n), level);
}

/** Output address of the start of the leaf (the size-encoding ones cleared). */
export function entryOa(entry: bigint): bigint {
  let oa = entry & OA_MASK;
  if (nextLevel(entry) === NL_SIZE) {
    const szBits = ffz64(oa >> 12n);
    oa &= ~(lowMask(szBits) << 12n);
  }
  return oa;
}

/** Bytes the leaf entry maps. */
export function entryOaLg2(entry: bigint, level: number): number {
  return itemLg2(level) + numContigLg2(entry, level);
}

/**
 * The value every item of a leaf entry holds (amdv1pt_install_leaf_entry). A page bigger than the level's
 * item size has NL=7 and encodes its size as ones in the OA field: OA |= 2^(oaszLg2 - 13) - 1.
 */
export function leafEntry(oa: bigint, oaszLg2: number, level: number, descriptorBits: bigint): bigint {
  let entry = PR | (oa & OA_MASK) | descriptorBits;
  if (oaszLg2 !== itemLg2(level)) {
    entry |= BigInt(NL_SIZE) << NEXT_LEVEL_SHIFT;
    entry |= ((1n << BigInt(oaszLg2 - GRANULE_LG2 - 1)) - 1n) << 12n;
  }
  return entry;
}

/**
 * A pointer to a lower table held at `level`: NL = level (the child's hardware level), IR|IW always set
 * because permissions are ANDed down the walk and the leaf decides.
 */
export function tableEntry(level: number, childPa: bigint): bigint {
  return PR | (BigInt(level) << NEXT_LEVEL_SHIFT) | (childPa & OA_MASK) | IR | IW;
}

/**
 * amdv1pt_iommu_set_prot (fmt/amdv1.h): FC with FORCE_COHERENCE, IR/IW from IOMMU_READ/IOMMU_WRITE. No other
 * prot bit reaches the entry: IOMMU_CACHE and IOMMU_NOEXEC are ignored (the format has no execute or cache
 * attribute; coherence is the table-wide FC feature), and IOMMU_MMIO only keeps SME's C-bit (__sme_set) off
 * the leaf under ENCRYPT_TABLES. The model has no SME (sme_me_mask = 0), so __sme_set adds nothing either way.
 */
export function descriptorBits(prot: number, features: number): bigint {
  let pte = 0n;
  if (features & PtFeature.AMDV1_FORCE_COHERENCE) pte |= FC;
  if (prot & IOMMU_READ) pte |= IR;
  if (prot & IOMMU_WRITE) pte |= IW;
  return pte;
}

/** pt_iommu_amdv1_hw_info: the DTE's host page-table root and mode (= top level + 1). */
export function pt_iommu_amdv1_hw_info(top: { pa: bigint; level: number }): { host_pt_root: bigint; mode: number } {
  return { host_pt_root: top.pa, mode: top.level + 1 };
}

/** amdv1pt_iommu_fmt_init: without DYNAMIC_TOP the table cannot grow past its starting level. */
export function fmtInit(startingLevel: number, features: number): number {
  if (startingLevel === 0 || startingLevel > MAX_TOP_LEVEL) return -22; // -EINVAL
  if (!(features & PtFeature.DYNAMIC_TOP) && startingLevel !== MAX_TOP_LEVEL) {
    return GRANULE_LG2 + (TABLEMEM_LG2 - 3) * (startingLevel + 1);
  }
  return MAX_VA_LG2;
}

/** The AMD v1 format as a PtFormat; frozen, so a forked machine shares it (runtime/base/fork.ts). */
export const amdv1: PtFormat = Object.freeze<PtFormat>({
  name: 'amdv1',
  maxVaLg2: MAX_VA_LG2,
  maxOaLg2: MAX_OA_LG2,
  maxTopLevel: MAX_TOP_LEVEL,
  granuleLg2: GRANULE_LG2,
  tablememLg2: TABLEMEM_LG2,
  // drivers/iommu/generic_pt/fmt/iommu_amdv1.c @ ec496f77b4c11036cc835d6f045fb5e5ef1e6530
  forcedFeatures: PtFeature.DYNAMIC_TOP | PtFeature.AMDV1_ENCRYPT_TABLES | PtFeature.AMDV1_FORCE_COHERENCE,
  supportedFeatures:
    PtFeature.FULL_VA |
    PtFeature.DYNAMIC_TOP |
    PtFeature.FLUSH_RANGE |
    PtFeature.FLUSH_RANGE_NO_GAPS |
    PtFeature.AMDV1_ENCRYPT_TABLES |
    PtFeature.AMDV1_FORCE_COHERENCE,
  itemLg2,
  numItemsLg2,
  possibleSizes,
  entryTypeOfLow,
  entryType,
  tablePa,
  entryOa,
  entryOaLg2,
  numContigLg2OfLow,
  // Present with NextLevel 0: a leaf at level 0, an OA of one item above it (NL 7 encodes a larger size).
  oneItemLeafLow: Object.freeze({ mask: Number(PR | NEXT_LEVEL), value: Number(PR) }),
  leafEntry,
  tableEntry,
  attrsFromProt: descriptorBits,
  permissions: (entry) => ({ read: (entry & IR) !== 0n, write: (entry & IW) !== 0n }),
  fmtInit,
});

function ffz32(v: number): number {
  const inv = ~v >>> 0;
  return inv === 0 ? 32 : 31 - Math.clz32(inv & -inv);
}

function ffz64(v: bigint): number {
  let n = 0;
  while ((v >> BigInt(n)) & 1n) n++;
  return n;
}
