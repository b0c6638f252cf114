import type { EntryType } from './defs.js';

/**
 * A page-table format: the bit layout of its entries and the geometry of its tables, and nothing else
 * (generic_pt's fmt/*.h). The generic algorithms in iommu-pt.ts and the leaf enumerator take one as a
 * parameter, so a second format (VT-d second stage, ARM LPAE) is a new module implementing this.
 *
 * Levels follow generic_pt: 0 is the leaf table. Entries are 64-bit; the hot paths read them as two
 * 32-bit halves (`low`, `high`) to avoid a bigint per entry.
 */
export interface PtFormat {
  readonly name: string;
  readonly maxVaLg2: number;
  readonly maxOaLg2: number;
  /** The highest level a top table can be at. */
  readonly maxTopLevel: number;
  readonly granuleLg2: number;
  /** log2 of the bytes of one table (all levels use one size here). */
  readonly tablememLg2: number;
  /** PT_FORCE_ENABLED_FEATURES: features the format compiles in; pt_feature() is always true for them. */
  readonly forcedFeatures: number;
  /** PT_SUPPORTED_FEATURES: a config asking for any other feature is -EOPNOTSUPP. */
  readonly supportedFeatures: number;

  /** Bytes one item of a level-`level` table covers. */
  itemLg2(level: number): number;
  /** Items per table at `level`. */
  numItemsLg2(level: number): number;
  /** Leaf sizes a level can hold, as a page-size bitmap. */
  possibleSizes(level: number): bigint;

  /** The decoding rule of load_entry_raw, on the low half of an entry. */
  entryTypeOfLow(low: number, level: number): EntryType;
  entryType(entry: bigint, level: number): EntryType;
  /** Physical address of the table a table entry points to. */
  tablePa(entry: bigint): bigint;
  /** Output address of the start of the leaf. */
  entryOa(entry: bigint): bigint;
  /** log2 of the bytes a leaf entry maps. */
  entryOaLg2(entry: bigint, level: number): number;
  /** log2 of the number of items a leaf entry spans. */
  numContigLg2OfLow(low: number, high: number, level: number): number;
  /**
   * A leaf spanning one item at any level is an entry whose low half has `(low & mask) === value` (and
   * nothing else is): what lets a walk count a run of 4 KiB leaves without decoding each one.
   */
  readonly oneItemLeafLow: { readonly mask: number; readonly value: number };
  /** The value every item of a leaf entry holds. */
  leafEntry(oa: bigint, oaszLg2: number, level: number, attrs: bigint): bigint;
  /** A pointer, held at `level`, to the table one level down at `childPa`. */
  tableEntry(level: number, childPa: bigint): bigint;
  /** The attribute bits of a leaf for IOMMU_READ/IOMMU_WRITE/... prot and the table's features. */
  attrsFromProt(prot: number, features: number): bigint;
  /** Whether a leaf entry allows reads and writes (for the decoded end state). */
  permissions(entry: bigint): { read: boolean; write: boolean };
  /**
   * The format's own configuration check (fmt_init): the VA bits a table starting at `startingLevel` can
   * reach with `features`, or a negative errno.
   */
  fmtInit(startingLevel: number, features: number): number;
}
