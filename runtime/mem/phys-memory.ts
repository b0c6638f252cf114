import { ModelBugError } from '../base/model-bug.js';
import type { Meter } from '../base/budget.js';
import { FORK, type Forker } from '../base/fork.js';

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
const PAGE_SHIFT_N = 12n;
const WORDS_PER_PAGE = PAGE_SIZE / 8;

export interface NumaNodeConfig {
  readonly id: number;
  readonly base: bigint;
  readonly size: bigint;
}

export interface NumaNode extends NumaNodeConfig {
  readonly startPfn: number;
  /** One past the last page frame. */
  readonly endPfn: number;
}

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  // Pages are BigUint64Arrays in host byte order; the simulated machine is little-endian x86.
  throw new ModelBugError('viommu-spec needs a little-endian host');
}

/**
 * Sparse physical memory: 4 KiB pages materialise on first write, untouched memory reads as zero, so a
 * terabyte node costs nothing until used. Pages hold 64-bit little-endian words because every structure
 * the IOMMU reads (page-table entries, DTEs, commands, the completion-wait semaphore) is built of them.
 */
export class PhysMemory {
  readonly nodes: readonly NumaNode[];
  private readonly pages = new Map<number, PageRecord>();
  /**
   * Counts handing a page out for writing (page(), page32(), the write paths) and zeroing: a page whose
   * record's `written` is not above a value read from here has not changed since (see unchangedSince).
   */
  private writeClock = 0;
  /**
   * Pages this memory may write in place: those whose record carries this token. A fork gives both sides
   * new tokens, so each copies a page it shares before its first write to it (copy-on-write).
   */
  private owner: object = {};
  /** Where materialised pages' bytes come from, and freed ones go back to. */
  private slots = new PageSlots();

  constructor(
    nodes: readonly NumaNodeConfig[],
    /** Counts materialised pages against the spec's budget (and its wall-time limit); none: unlimited. */
    private readonly meter?: Meter,
  ) {
    this.nodes = nodes.map((n) => {
      if (n.base % BigInt(PAGE_SIZE) !== 0n || n.size % BigInt(PAGE_SIZE) !== 0n || n.size <= 0n) {
        throw new ModelBugError(`node ${n.id}: base and size must be whole pages`);
      }
      const startPfn = Number(n.base >> PAGE_SHIFT_N);
      return { ...n, startPfn, endPfn: startPfn + Number(n.size >> PAGE_SHIFT_N) };
    });
    const sorted = [...this.nodes].sort((a, b) => a.startPfn - b.startPfn);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]!.startPfn < sorted[i - 1]!.endPfn)
        throw new ModelBugError(`nodes ${sorted[i - 1]!.id} and ${sorted[i]!.id} overlap`);
    }
  }

  nodeOfPfn(pfn: number): NumaNode | undefined {
    return this.nodes.find((n) => pfn >= n.startPfn && pfn < n.endPfn);
  }

  contains(pa: bigint): boolean {
    return pa >= 0n && this.nodeOfPfn(Number(pa >> PAGE_SHIFT_N)) !== undefined;
  }

  /** The page's words for writing; materialises it. */
  page(pfn: number): BigUint64Array {
    return this.record(pfn).words;
  }

  private record(pfn: number): PageRecord {
    let rec = this.pages.get(pfn);
    if (rec === undefined) {
      if (this.nodeOfPfn(pfn) === undefined)
        throw new ModelBugError(`access to page frame 0x${pfn.toString(16)} outside simulated memory`);
      if (this.meter) {
        this.meter.check('pages', this.pages.size + 1);
        this.meter.tick();
      }
      rec = { words: this.slots.take(), halves: undefined, written: 0, owner: this.owner };
      this.pages.set(pfn, rec);
    } else if (rec.owner !== this.owner) {
      const words = this.slots.take();
      words.set(rec.words);
      rec = { words, halves: undefined, written: rec.written, owner: this.owner };
      this.pages.set(pfn, rec);
    }
    rec.written = ++this.writeClock;
    return rec;
  }

  /** A copy sharing every page until either side writes it: forking costs a map of the pages, not their bytes. */
  [FORK](f: Forker): object {
    const copy = f.remember(this, Object.create(PhysMemory.prototype) as Record<string, unknown>);
    for (const [key, value] of Object.entries(this)) {
      if (key === 'pages') copy[key] = new Map(this.pages);
      else if (key === 'owner') copy[key] = {};
      else if (key === 'slots') copy[key] = new PageSlots();
      else copy[key] = f.copy(value, key);
    }
    this.owner = {};
    return copy;
  }

  /** The page's words if it was ever written; undefined means all zero. Never materialises. */
  peekPage(pfn: number): BigUint64Array | undefined {
    return this.pages.get(pfn)?.words;
  }

  /**
   * The page as 32-bit halves for reading only: it may be shared with a fork, or be the one zero page of a
   * page never written, so nothing may be written through it. Never materialises or copies the page.
   */
  peekPage32(pfn: number): Uint32Array {
    const rec = this.pages.get(pfn);
    if (rec === undefined) return ZERO_PAGE32;
    return halvesOf(rec);
  }

  /**
   * `fact` of a page shared with a fork, worked out once: such a page is never written in place again (a
   * write on either side copies it first), so what its bytes say is remembered with it, for every fork
   * that shares it. Undefined for a page this memory may still write, which the caller reads itself.
   */
  sharedPageFact(pfn: number, fact: PageFact): number | undefined {
    const rec = this.pages.get(pfn);
    if (rec === undefined || rec.owner === this.owner) return undefined;
    const facts = (rec.facts ??= new Map<PageFact, number>());
    let value = facts.get(fact);
    if (value === undefined) {
      value = fact.of(halvesOf(rec));
      facts.set(fact, value);
    }
    return value;
  }

  /** A position of the write clock, for unchangedSince. */
  get writeEpoch(): number {
    return this.writeClock;
  }

  /**
   * Whether none of the pages was handed out for writing, or zeroed, after `epoch` (a writeEpoch value):
   * what a cached walk over them needs to still hold. A page never materialised counts as changed.
   */
  unchangedSince(pfns: readonly number[], epoch: number): boolean {
    for (const pfn of pfns) {
      const rec = this.pages.get(pfn);
      if (rec === undefined || rec.written > epoch) return false;
    }
    return true;
  }

  read64(pa: bigint): bigint {
    const pfn = checkedPfn(pa, 8);
    if (this.nodeOfPfn(pfn) === undefined)
      throw new ModelBugError(`read of 0x${pa.toString(16)} outside simulated memory`);
    return this.pages.get(pfn)?.words[wordIndex(pa)] ?? 0n;
  }

  write64(pa: bigint, value: bigint): void {
    this.page(checkedPfn(pa, 8))[wordIndex(pa)] = BigInt.asUintN(64, value);
  }

  /**
   * A 64-bit store of `hi:lo` (two uint32 halves) at byte `offset` (a multiple of 8) of page frame `pfn`:
   * write64 without a bigint, for the stores that run hundreds of thousands of times per spec.
   */
  write64Halves(pfn: number, offset: number, lo: number, hi: number): void {
    if (offset < 0 || offset >= PAGE_SIZE || offset % 8 !== 0)
      throw new ModelBugError(`unaligned offset 0x${offset.toString(16)} in page frame 0x${pfn.toString(16)}`);
    const words = this.page32(pfn);
    words[offset >>> 2] = lo;
    words[(offset >>> 2) + 1] = hi;
  }

  /**
   * The page's words as 32-bit halves (low half first) for writing; materialises it. The view is cached
   * until the page is zeroed, so the hot loops (page-table leaves, map-port stores) make no view per use.
   */
  page32(pfn: number): Uint32Array {
    const rec = this.record(pfn);
    return halvesOf(rec);
  }

  /** The 32-bit half of the aligned qword holding `pa` that bit 2 of `pa` names (bits 1:0 are ignored). */
  read32(pa: bigint): number {
    const pfn = this.checked32(pa);
    const rec = this.pages.get(pfn);
    if (rec === undefined) return 0;
    return halvesOf(rec)[Number(pa & 0xfffn) >>> 2]!;
  }

  write32(pa: bigint, value: number): void {
    this.page32(this.checked32(pa))[Number(pa & 0xfffn) >>> 2] = value >>> 0;
  }

  /** read64's checks on the qword holding `pa`, with its messages: the page frame of `pa`. */
  private checked32(pa: bigint): number {
    if (pa < 0n) throw new ModelBugError(`unaligned or negative physical address 0x${(pa & ~7n).toString(16)}`);
    const pfn = Number(pa >> PAGE_SHIFT_N);
    if (this.nodeOfPfn(pfn) === undefined)
      throw new ModelBugError(`read of 0x${(pa & ~7n).toString(16)} outside simulated memory`);
    return pfn;
  }

  /** Zero whole pages by forgetting them: what __GFP_ZERO costs on sparse memory. */
  zeroPages(startPfn: number, count: number): void {
    if (this.pages.size === 0) {
      // Nothing materialised: nothing to drop.
    } else if (this.pages.size < count) {
      for (const pfn of [...this.pages.keys()]) if (pfn >= startPfn && pfn < startPfn + count) this.forget(pfn);
    } else {
      for (let pfn = startPfn; pfn < startPfn + count; pfn++) this.forget(pfn);
    }
    this.writeClock++;
  }

  private forget(pfn: number): void {
    const rec = this.pages.get(pfn);
    if (rec === undefined) return;
    this.pages.delete(pfn);
    // A page shared with a fork stays the fork's; only a page of this memory's own goes back for reuse.
    if (rec.owner === this.owner) this.slots.give(rec.words);
  }

  get touchedPages(): number {
    return this.pages.size;
  }
}

/** Pages carved from one buffer: 256 of them, a MiB, which the OS backs only where they are written. */
const SLOTS_PER_CHUNK = 256;

/**
 * The bytes of materialised pages, as views into shared buffers rather than a buffer per page: a 4 KiB
 * ArrayBuffer costs its own allocation and bookkeeping, about a kilobyte per page touched beyond the page.
 */
/** What peekPage32 shows of a page never written. */
const ZERO_PAGE32 = new Uint32Array(PAGE_SIZE / 4);

class PageSlots {
  private chunk: ArrayBuffer | undefined;
  private used = SLOTS_PER_CHUNK;
  private readonly freed: BigUint64Array[] = [];

  /** A zeroed page. */
  take(): BigUint64Array {
    const reused = this.freed.pop();
    if (reused !== undefined) return reused.fill(0n);
    if (this.used === SLOTS_PER_CHUNK) {
      this.chunk = new ArrayBuffer(SLOTS_PER_CHUNK * PAGE_SIZE);
      this.used = 0;
    }
    return new BigUint64Array(this.chunk!, this.used++ * PAGE_SIZE, WORDS_PER_PAGE);
  }

  /** A page no record holds any more. */
  give(words: BigUint64Array): void {
    this.freed.push(words);
  }
}

/**
 * One materialised page: its words, their 32-bit view once asked for, when it was last written, and which
 * memory may write it in place (see PhysMemory.owner).
 */
interface PageRecord {
  readonly words: BigUint64Array;
  halves: Uint32Array | undefined;
  written: number;
  readonly owner: object;
  /** What sharedPageFact worked out, once the page is shared and cannot change. */
  facts?: Map<PageFact, number>;
}

/** The record's words as 32-bit halves, low half first: one view per record, made when first asked for. */
function halvesOf(rec: PageRecord): Uint32Array {
  return (rec.halves ??= new Uint32Array(rec.words.buffer, rec.words.byteOffset, PAGE_SIZE / 4));
}

/** Something a page's bytes say (as 32-bit halves): the same bytes always give the same number. */
export interface PageFact {
  of(page32: Uint32Array): number;
}

function checkedPfn(pa: bigint, align: number): number {
  if (pa < 0n || pa % BigInt(align) !== 0n)
    throw new ModelBugError(`unaligned or negative physical address 0x${pa.toString(16)}`);
  return Number(pa >> PAGE_SHIFT_N);
}

function wordIndex(pa: bigint): number {
  return Number(pa & 0xfffn) >> 3;
}

export function pfnToPhys(pfn: number): bigint {
  // One bigint rather than two while the product is exact in a double (every pfn of the 64 TiB direct map).
  return pfn <= MAX_EXACT_PFN && Number.isInteger(pfn) ? BigInt(pfn * PAGE_SIZE) : BigInt(pfn) << PAGE_SHIFT_N;
}

const MAX_EXACT_PFN = Math.floor(Number.MAX_SAFE_INTEGER / PAGE_SIZE);

export function physToPfn(pa: bigint): number {
  return Number(pa >> PAGE_SHIFT_N);
}
