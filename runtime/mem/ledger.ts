import { Timeline } from '../base/timeline.js';

/**
 * The record of every allocation the simulated kernel made: what is live now, what was freed and by whom.
 * Leak reports, "pages freed during the run", and addresses named by allocation (site + ordinal) all come
 * from here.
 */
import { invariant } from '../base/model-bug.js';
import { DIRECT_MAP_SIZE, PAGE_OFFSET } from './direct-map.js';
import { PfnTable } from './pfn-table.js';

/** Which allocator family owns a block; freeing it through another family is a mismatched free. */
export type AllocFamily = 'iommu_pages' | 'kmalloc' | 'pages';

export interface Allocation {
  readonly seq: number;
  readonly family: AllocFamily;
  readonly va: bigint;
  readonly pa: bigint;
  readonly bytes: bigint;
  /** Buddy order for page allocations; size class for kmalloc. */
  readonly order: number;
  readonly node: number;
  readonly site: string;
  /** 1-based: the how-manieth allocation made at this site. */
  readonly ordinal: number;
  readonly step: number;
  freed: { readonly seq: number; readonly by: string; readonly step: number } | undefined;
}

export type ReleaseResult =
  | {
      readonly ok: true;
      /** The freed block's first page frame (its pa >> 12), order and node, for the buddy it goes back to. */
      readonly pfn: number;
      readonly order: number;
      readonly node: number;
    }
  | { readonly ok: false; readonly problem: 'double_free'; readonly allocation: Allocation }
  | { readonly ok: false; readonly problem: 'mismatched_free'; readonly allocation: Allocation }
  | { readonly ok: false; readonly problem: 'invalid_free' };

const FAMILIES: readonly AllocFamily[] = ['iommu_pages', 'kmalloc', 'pages'];
const FAMILY_CODE: Readonly<Record<AllocFamily, number>> = { iommu_pages: 0, kmalloc: 1, pages: 2 };
const KMALLOC = FAMILY_CODE.kmalloc;

/*
 * Each entry's small fields share one 32-bit word, as page->flags packs a page's flags, order and node:
 * family in bits 0-1, freed in bit 2, "filed under its first page frame" in bit 3, order in bits 4-10,
 * node from bit 11. A free reads and writes that one word instead of a column per field.
 */
const FAMILY_MASK = 0x3;
const FREED = 1 << 2;
/** Its key in `slots` is its first page frame, and it is shaped as isFreedPa's look-up by order assumes. */
const REGULAR = 1 << 3;
const ORDER_SHIFT = 4;
const ORDER_MASK = 0x7f;
const NODE_SHIFT = 11;
const NODE_LIMIT = 2 ** (31 - NODE_SHIFT);

/**
 * The allocation ledger keeps its history as columns, one typed array per field, indexed by the order of
 * recording, and builds an `Allocation` object for an entry only when someone asks for one (reports,
 * expectations, address naming, leak and use-after-free checks). A run with hundreds of thousands of
 * allocations then keeps no object per allocation alive, which the garbage collector would otherwise copy
 * and scan again and again; the answers are the same, as every column holds its field exactly.
 */
export class AllocationLedger {
  private count = 0;
  private capacity = 256;
  private seqs = new Float64Array(this.capacity);
  private vas = new BigUint64Array(this.capacity);
  private pas = new BigInt64Array(this.capacity);
  private byteCounts = new BigInt64Array(this.capacity);
  private steps = new Float64Array(this.capacity);
  /** Family, freed, regular, order and node: see FAMILY_MASK and the constants after it. */
  private metas = new Int32Array(this.capacity);
  /** The first page frame of each block (pa >> 12); the buddy gets it back on free. */
  private pfns = new Float64Array(this.capacity);
  /** The entry recorded at the same address before this one, or -1: `slots` heads these chains. */
  private previous = new Int32Array(this.capacity);
  /** For a freed entry, its place in the free log below. */
  private freedAt = new Int32Array(this.capacity);
  private readonly sites: string[] = [];
  /** The free log, in the order of the frees: the timeline's seq, the step, the freeing function. */
  private readonly freeSeqs: number[] = [];
  private readonly freeSteps: number[] = [];
  private readonly freeBy: string[] = [];
  /**
   * The objects built so far: those of the first `views.length` entries, so that a caller sees one object
   * per allocation, kept up to date by later frees. Built in order, each once, when one is first asked for.
   */
  private readonly views: Allocation[] = [];
  /** Allocations per site among the objects built so far: their `ordinal`s, counted as they are built. */
  private readonly ordinals = new Map<string, number>();
  /**
   * The last entry recorded at each address, live or freed: live until it is freed, and then what a second
   * free of that address names as the double free; `previous` chains the ones recorded there before it.
   * One slot for every question, so a record and a release each touch one. Keyed as `keyOf` says: by page
   * frame for the allocators' blocks, whose kernel address is the direct map's view of their pa, in
   * `slots`; any other address (a bad pointer given to a free) in `oddSlots`.
   *
   * A buddy block of order o starts at a pfn aligned to 2^o and spans at most 2^o pages, so the blocks
   * that can hold a page start at that page's pfn rounded down to 2^o for each order: isFreedPa walks the
   * chains there. A block not REGULAR (none today) goes in `irregular` as well, which isFreedPa always
   * scans.
   */
  private readonly slots = new PfnTable();
  private readonly oddSlots = new Map<bigint, number>();
  private readonly irregular: number[] = [];
  private maxOrder = 0;
  /** Moves on every record and release: a page's answer below is good while it stays. */
  private version = 0;
  /** The last page isFreedPa found to have one answer for all its bytes, and that answer. */
  private lastPage = { version: -1, pfn: -1, freed: false };

  /** `timeline` orders allocations and frees on the machine's one timeline (shared with commands and maps). */
  constructor(private readonly timeline: Timeline = new Timeline()) {}

  /** Every allocation made, in the order they were made (freed ones carry `freed`). */
  get history(): readonly Allocation[] {
    if (this.count > 0) this.view(this.count - 1);
    return this.views;
  }

  record(entry: Omit<Allocation, 'seq' | 'ordinal' | 'freed'>): Allocation {
    return this.view(this.add(entry));
  }

  /** Records an allocation as `record` does, without building its object: the allocators' path. */
  add(entry: Omit<Allocation, 'seq' | 'ordinal' | 'freed'>): number {
    const { va, pa, bytes, order, node } = entry;
    const key = keyOf(va);
    const paNumber = Number(pa);
    // What the columns hold exactly, checked in doubles (a direct-map key already puts va in range); the
    // doubles round, so the check turns away a few values within 2^10 of the 64-bit limits as well.
    invariant(
      (typeof key === 'number' || (va >= 0n && va <= U64_MAX)) &&
        inS64(paNumber) &&
        inS64(Number(bytes)) &&
        order >= 0 &&
        order <= ORDER_MASK &&
        node >= 0 &&
        node < NODE_LIMIT,
      'ledger: an address, size, order or node out of range',
    );
    const i = this.count;
    if (i === this.capacity) this.grow();
    this.count = i + 1;
    this.seqs[i] = this.timeline.next();
    this.vas[i] = va;
    this.pas[i] = pa;
    this.byteCounts[i] = bytes;
    this.steps[i] = entry.step;
    this.sites.push(entry.site);
    this.version++;
    const pfn = paNumber < 2 ** 53 ? Math.floor(paNumber / 4096) : Number(pa >> 12n);
    this.pfns[i] = pfn;
    let meta = FAMILY_CODE[entry.family] | (order << ORDER_SHIFT) | (node << NODE_SHIFT);
    if (typeof key === 'number') {
      this.previous[i] = this.slots.get(key);
      this.slots.set(key, i);
      if (key === pfn && isRegular(paNumber, order, entry.family, bytes)) meta |= REGULAR;
    } else {
      this.previous[i] = this.oddSlots.get(key) ?? -1;
      this.oddSlots.set(key, i);
    }
    this.metas[i] = meta;
    if ((meta & REGULAR) === 0) this.irregular.push(i);
    else if (order > this.maxOrder) this.maxOrder = order;
    return i;
  }

  release(va: bigint, family: AllocFamily, by: string, step: number): ReleaseResult {
    const key = keyOf(va);
    const i = typeof key === 'number' ? this.slots.get(key) : (this.oddSlots.get(key) ?? -1);
    if (i < 0) return INVALID_FREE;
    const meta = this.metas[i]!;
    if ((meta & FREED) !== 0) return { ok: false, problem: 'double_free', allocation: this.view(i) };
    if ((meta & FAMILY_MASK) !== FAMILY_CODE[family])
      return { ok: false, problem: 'mismatched_free', allocation: this.view(i) };
    this.version++;
    const seq = this.timeline.next();
    this.metas[i] = meta | FREED;
    this.freedAt[i] = this.freeSeqs.length;
    this.freeSeqs.push(seq);
    this.freeSteps.push(step);
    this.freeBy.push(by);
    if (i < this.views.length) this.views[i]!.freed = { seq, by, step };
    // A REGULAR entry's key is its first page frame.
    const pfn = (meta & REGULAR) !== 0 ? (key as number) : this.pfns[i]!;
    return { ok: true, pfn, order: (meta >> ORDER_SHIFT) & ORDER_MASK, node: meta >>> NODE_SHIFT };
  }

  lookup(va: bigint): Allocation | undefined {
    const i = this.slotOf(va);
    return i >= 0 && (this.metas[i]! & FREED) === 0 ? this.view(i) : undefined;
  }

  /**
   * Whether `pa` lies in a block that was freed and is not part of any live block now. Looks only where a
   * block holding `pa` can start, one place per order (the DMA checks ask it on every IOTLB hit).
   */
  isFreedPa(pa: bigint): boolean {
    if (pa < 0n) return false;
    const pfn = Number(pa >> 12n);
    const last = this.lastPage;
    if (last.pfn === pfn && last.version === this.version) return last.freed;
    // Whether every block met covers all of the page or none of it: then the answer holds for its every byte.
    const pageStart = pa & ~0xfffn;
    const pageEnd = pageStart + 0x1000n;
    let uniform = true;
    let live = false;
    let freed = false;
    const meet = (i: number): void => {
      const start = this.pas[i]!;
      const end = start + this.extent(i);
      if (end <= pageStart || start >= pageEnd) return;
      if (start > pageStart || end < pageEnd) uniform = false;
      if (pa < start || pa >= end) return;
      if ((this.metas[i]! & FREED) === 0) live = true;
      else freed = true;
    };
    // Meeting a block twice (an irregular one on a chain) changes nothing: `meet` is exact.
    for (let order = 0; order <= this.maxOrder; order++)
      for (let i = this.slots.get(Math.floor(pfn / 2 ** order) * 2 ** order); i >= 0; i = this.previous[i]!)
        if (this.orderOf(i) === order) meet(i);
    for (const i of this.irregular) meet(i);
    const answer = !live && freed;
    if (uniform) this.lastPage = { version: this.version, pfn, freed: answer };
    return answer;
  }

  liveAllocations(): Allocation[] {
    return this.liveEntries()
      .map((i) => this.view(i))
      .sort((a, b) => a.seq - b.seq);
  }

  /** Pages the live blocks hold, by node, without building an object per allocation. */
  livePagesByNode(): Map<number, number> {
    const pages = new Map<number, number>();
    for (const i of this.liveEntries()) {
      const meta = this.metas[i]!;
      const node = meta >>> NODE_SHIFT;
      pages.set(node, (pages.get(node) ?? 0) + (1 << ((meta >> ORDER_SHIFT) & ORDER_MASK)));
    }
    return pages;
  }

  /** The entries of the live blocks: the last recorded at each address, unless freed since. */
  private liveEntries(): number[] {
    const live: number[] = [];
    for (const i of this.slots.values()) if ((this.metas[i]! & FREED) === 0) live.push(i);
    for (const i of this.oddSlots.values()) if ((this.metas[i]! & FREED) === 0) live.push(i);
    return live;
  }

  freedAllocations(): Allocation[] {
    return this.history.filter((a) => a.freed !== undefined);
  }

  private slotOf(va: bigint): number {
    const key = keyOf(va);
    return typeof key === 'number' ? this.slots.get(key) : (this.oddSlots.get(key) ?? -1);
  }

  private orderOf(i: number): number {
    return (this.metas[i]! >> ORDER_SHIFT) & ORDER_MASK;
  }

  /** The object for entry `i` (and those before it), built once; a later free updates its `freed`. */
  private view(i: number): Allocation {
    while (this.views.length <= i) this.views.push(this.build(this.views.length));
    return this.views[i]!;
  }

  private build(i: number): Allocation {
    const meta = this.metas[i]!;
    const site = this.sites[i]!;
    const ordinal = (this.ordinals.get(site) ?? 0) + 1;
    this.ordinals.set(site, ordinal);
    const f = this.freedAt[i]!;
    // One flat literal, `freed` included: every allocation has the same shape.
    return {
      seq: this.seqs[i]!,
      family: FAMILIES[meta & FAMILY_MASK]!,
      va: this.vas[i]!,
      pa: this.pas[i]!,
      bytes: this.byteCounts[i]!,
      order: (meta >> ORDER_SHIFT) & ORDER_MASK,
      node: meta >>> NODE_SHIFT,
      site,
      ordinal,
      step: this.steps[i]!,
      freed:
        (meta & FREED) === 0 ? undefined : { seq: this.freeSeqs[f]!, by: this.freeBy[f]!, step: this.freeSteps[f]! },
    };
  }

  /** The bytes entry `i` covers: kmalloc objects have their pages to themselves (runtime/linux/slab.ts). */
  private extent(i: number): bigint {
    const meta = this.metas[i]!;
    return (meta & FAMILY_MASK) === KMALLOC ? 4096n << BigInt((meta >> ORDER_SHIFT) & ORDER_MASK) : this.byteCounts[i]!;
  }

  private grow(): void {
    this.capacity *= 2;
    const grown = <T extends { set(from: T): void }>(from: T, make: (n: number) => T): T => {
      const to = make(this.capacity);
      to.set(from);
      return to;
    };
    this.seqs = grown(this.seqs, (n) => new Float64Array(n));
    this.vas = grown(this.vas, (n) => new BigUint64Array(n));
    this.pas = grown(this.pas, (n) => new BigInt64Array(n));
    this.byteCounts = grown(this.byteCounts, (n) => new BigInt64Array(n));
    this.steps = grown(this.steps, (n) => new Float64Array(n));
    this.metas = grown(this.metas, (n) => new Int32Array(n));
    this.pfns = grown(this.pfns, (n) => new Float64Array(n));
    this.previous = grown(this.previous, (n) => new Int32Array(n));
    this.freedAt = grown(this.freedAt, (n) => new Int32Array(n));
  }
}

const U64_MAX = (1n << 64n) - 1n;

/** Whether a bigint whose double is `n` surely fits 64 signed bits (n is rounded: stay clear of the ends). */
function inS64(n: number): boolean {
  return n > -(2 ** 63) && n < 2 ** 63;
}

const INVALID_FREE: ReleaseResult = Object.freeze({ ok: false, problem: 'invalid_free' });

const DIRECT_MAP_END = PAGE_OFFSET + DIRECT_MAP_SIZE;
/** PAGE_OFFSET's upper 32 bits; its lower 32 are zero. */
const PAGE_OFFSET_HI = Number(PAGE_OFFSET >> 32n);
/** The address split into 32-bit halves through a u64 view (the host is little-endian, as PhysMemory checks). */
const scratch = new BigUint64Array(1);
const halves = new Uint32Array(scratch.buffer);

/**
 * The key an address is filed under: the page frame, as a number, for a page-aligned direct-map address
 * (every block the allocators hand out), else the address itself (a bad pointer given to a free). The
 * split through `scratch` makes no bigint, which `va - PAGE_OFFSET` would on every record and free.
 */
function keyOf(va: bigint): number | bigint {
  if (va < PAGE_OFFSET || va >= DIRECT_MAP_END) return va;
  scratch[0] = va;
  const lo = halves[0]!;
  return (lo & 0xfff) === 0 ? (halves[1]! - PAGE_OFFSET_HI) * 2 ** 20 + lo / 4096 : va;
}

/**
 * Whether a block at `pa` (a double below 2^53 bytes, as the direct map's are) starts at a page aligned to
 * its order's span and covers no more than that span: what isFreedPa's look-up by order assumes.
 */
function isRegular(pa: number, order: number, family: AllocFamily, bytes: bigint): boolean {
  if (order >= 31) return false;
  // order < 31 here, so the shift is exact; `2 ** order` would be a Math.pow call on every record.
  const span = 4096 * (1 << order);
  // Number() rounds a size above 2^53 to at least 2^53, still above any span: the test stays exact.
  const covers = family === 'kmalloc' ? span : Number(bytes);
  // Aligned: a whole number of spans (dividing by a power of two is exact; `%` on a double is a slow fmod).
  return Number.isInteger(pa / span) && covers <= span;
}
