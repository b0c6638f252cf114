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
  /**
   * What guests whose ID is free again left behind: a table mapped in the private space (and its pages' cache
   * mode), a queue enabled or a translate devid in VF_CNTL, a device or DTE still naming the guest, a
   * translating DTE no device or vIOMMU owns.
   */
  guestResidue(): readonly string[];
  /** The vIOMMU guests of this IOMMU (any whose ID is allocated or that left state behind), by guest ID. */
  guests(): readonly GuestView[];
  /** Guest IDs and translate devids not matched to a live vIOMMU, and live vIOMMUs missing theirs. */
  guestIdImbalance(): readonly string[];
  /** Where a live guest's DevID table differs from its live vDEVICEs (virt_id → the device's DevID). */
  vdeviceMismatches(): readonly string[];
}

/** A guest queue as VF_CNTL sets it up (and, for the command and event queues, the VF page's pointers). */
export interface GuestQueueView {
  readonly base: bigint;
  /** The 4-bit length code (bits 3:0). */
  readonly length: number;
  /** The enable bits set, by name. */
  readonly flags: readonly string[];
  readonly head?: bigint;
  readonly tail?: bigint;
  /** The hardware stopped the guest's command processing on an error (until RESET_VMMIO). */
  readonly halted?: boolean;
}

/** One vIOMMU guest of an IOMMU at the end of a run (`expect: guests:`). */
export interface GuestView {
  readonly gid: number;
  /** The guest ID is allocated in the IOMMU's gid_ida. */
  readonly allocated: boolean;
  /** The trans_devid of the live vIOMMU object with this guest ID; null when none has it. */
  readonly transDevid: number | null;
  /** Where the guest's DevID and DomID table IPAs translate to through the private space; null: unmapped. */
  readonly devidTable: bigint | null;
  readonly domidTable: bigint | null;
  /** The guest's VF_CNTL registers that are not zero, by name. */
  readonly vfCntl: ReadonlyMap<string, bigint>;
  /** The guest's VF page registers that are not zero, by name. */
  readonly vf: ReadonlyMap<string, bigint>;
  /** Table entries that differ from what viommu_clear_mapping leaves (and from zero): guest ID → host ID. */
  readonly devidMap: ReadonlyMap<number, number>;
  readonly domidMap: ReadonlyMap<number, number>;
  /** The queues whose VF_CNTL register is set, by type (`cmd`, `evt`, `ppr`). */
  readonly queues: ReadonlyMap<string, GuestQueueView>;
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
