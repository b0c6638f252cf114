import type { Kernel } from '../linux/kernel.js';
import type { Leaf, WalkStep } from '../pt/enumerate.js';

/**
 * The one read-only view of a machine that the end-state capture, the invariants, the model self-check,
 * `explain` and the diff use: the live domains with their tables, leaves and entries, and what each IOMMU
 * executed and cached. A vendor implements it; nothing above it walks driver or hardware state itself.
 */

/** A paging domain the driver holds. */
export interface DomainView {
  readonly id: number;
  /** Kernel VA of the driver's domain object. */
  readonly objectVa: bigint;
  /** Physical address and level of the top table, and what the hardware is told (`mode` for AMD). */
  readonly top: { readonly pa: bigint; readonly level: number; readonly mode: number };
  /** Kernel VAs of every table page, top first. */
  tablePages(): readonly bigint[];
  /** Every leaf, in IOVA order. */
  leaves(): readonly Leaf[];
  /** The raw entry an IOVA's walk ends on. */
  entryFor(iova: bigint): bigint;
  /** The tables an IOVA's walk reads, top first. */
  walk(iova: bigint): readonly WalkStep[];
  /** Every entry of one of the domain's tables. */
  tableEntries(tablePa: bigint, level: number): readonly bigint[];
  /** log2 of the IOVA bytes one entry of a level-`level` table covers. */
  itemLg2(level: number): number;
  /** An entry of a level-`level` table as the format reads it, with its fields named (for the HTML report). */
  decodeEntry(entry: bigint, level: number): DecodedEntry;
}

/** A page-table entry decoded: what it is, where it points, and its bits by name (`PR NL=2 OA=0x1000 IR IW`). */
export interface DecodedEntry {
  readonly kind: 'empty' | 'table' | 'leaf';
  /** The child table's physical address (a table entry) or the output address (a leaf); 0 when empty. */
  readonly target: bigint;
  /** log2 of the bytes a leaf maps; the level's item size otherwise. */
  readonly lg2: number;
  readonly fields: string;
}

/** What an executed command did, in vendor-neutral terms (for the invariants). */
export type CommandEffect =
  | {
      readonly kind: 'invalidate';
      readonly domainId: number;
      readonly start: bigint;
      readonly size: bigint;
      readonly guest: boolean;
    }
  | { readonly kind: 'wait' }
  /**
   * A device-table entry invalidated: the device's cached DTE dropped. `translates` is the entry the IOMMU
   * fetches from then on, when it translates through a host table (V, TV, a non-zero mode): its domain ID
   * (the tag of what it caches) and the table's root.
   */
  | {
      readonly kind: 'device_entry';
      readonly deviceId: number;
      readonly translates?: { readonly domainId: number; readonly rootPa: bigint };
    }
  | { readonly kind: 'other' };

export interface ExecutedCommandView {
  /** Position on the machine's one timeline (shared with allocations, frees, maps). */
  readonly seq: number;
  readonly step: number;
  readonly effect: CommandEffect;
}

/** A translation served from an IOTLB entry that memory no longer backs. */
export interface StaleHitView {
  readonly domainId: number;
  readonly iova: bigint;
}

export interface IommuView {
  readonly index: number;
  executed(): readonly ExecutedCommandView[];
  /** The executed commands as the end state prints them. */
  commandLines(): readonly string[];
  /** The executed commands' raw words, in order (four 32-bit words each). */
  commandWords(): readonly (readonly number[])[];
  /** The ring's head and tail (byte offsets) and the commands queued between them, decoded and raw. */
  ring(): {
    readonly head: bigint;
    readonly tail: bigint;
    readonly queued: readonly {
      readonly line: string;
      readonly words: readonly number[];
      readonly effect: CommandEffect;
    }[];
  };
  iotlbLines(): readonly string[];
  /** Hardware events (what the IOMMU posted to its event log), as the end state prints them. */
  eventLines(): readonly string[];
  /** Translations served from stale IOTLB entries, as the end state prints them. */
  staleLines(): readonly string[];
  staleHits(): readonly StaleHitView[];
  /** Whether this IOMMU ever cached a translation of the domain (a flush must reach it). */
  cachesDomain(domainId: number): boolean;
  /** Words of a device's entry in the device table, read from memory. */
  deviceEntry(devid: number, words: number): readonly bigint[];
  /** Stores the IOMMU made into its own private space that faulted, one line per table and guest. */
  privateSpaceFaults(): readonly string[];
  /** What guests whose ID is free again left mapped in the IOMMU's private space, one line per table. */
  guestResidue(): readonly string[];
}

/** A field of a driver struct: a pointer or number (NULL as null), or an array of them. */
export type DriverField = bigint | null | readonly (bigint | null)[];

export interface MachineView {
  readonly k: Kernel;
  /** Live paging domains, by ID. */
  domains(): readonly DomainView[];
  domain(id: number): DomainView | undefined;
  iommus(): readonly IommuView[];
  /** Domain IDs allocated now, and those taken at boot. */
  allocatedDomainIds(): readonly number[];
  readonly bootDomainIds: readonly number[];
  /** The driver structs that exist now, by key (`iommu0`, `viommu1`), with their observable fields. */
  driverObjects(): ReadonlyMap<string, Readonly<Record<string, DriverField>>>;
  /** IDs of the paging domains that were ever a vIOMMU's nest parent. */
  nestParentIds(): readonly number[];
  /** Kernel VAs of blocks the driver's own objects point to (beyond domains and their tables). */
  driverReferences(): readonly bigint[];
}
