import { ModelBugError } from '../base/model-bug.js';
import type { Meter } from '../base/budget.js';

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
  private readonly pages = new Map<number, BigUint64Array>();
  /** 32-bit views of the same pages, made on first use of the number-only paths. */
  private readonly halves = new Map<number, Uint32Array>();

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
    let words = this.pages.get(pfn);
    if (words === undefined) {
      if (this.nodeOfPfn(pfn) === undefined)
        throw new ModelBugError(`access to page frame 0x${pfn.toString(16)} outside simulated memory`);
      if (this.meter) {
        this.meter.check('pages', this.pages.size + 1);
        this.meter.tick();
      }
      words = new BigUint64Array(WORDS_PER_PAGE);
      this.pages.set(pfn, words);
    }
    return words;
  }

  /** The page's words if it was ever written; undefined means all zero. Never materialises. */
  peekPage(pfn: number): BigUint64Array | undefined {
    return this.pages.get(pfn);
  }

  read64(pa: bigint): bigint {
    const pfn = checkedPfn(pa, 8);
    if (this.nodeOfPfn(pfn) === undefined)
      throw new ModelBugError(`read of 0x${pa.toString(16)} outside simulated memory`);
    return this.pages.get(pfn)?.[wordIndex(pa)] ?? 0n;
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
    const words = this.halvesOf(pfn);
    words[offset >>> 2] = lo;
    words[(offset >>> 2) + 1] = hi;
  }

  /** The page's 32-bit view for writing; materialises it. */
  private halvesOf(pfn: number): Uint32Array {
    let view = this.halves.get(pfn);
    if (view === undefined) {
      const words = this.page(pfn);
      view = new Uint32Array(words.buffer, words.byteOffset, PAGE_SIZE / 4);
      this.halves.set(pfn, view);
    }
    return view;
  }

  read32(pa: bigint): number {
    const word = this.read64(pa & ~7n);
    return Number((pa & 4n) === 0n ? word & 0xffff_ffffn : word >> 32n);
  }

  write32(pa: bigint, value: number): void {
    const aligned = pa & ~7n;
    const word = this.read64(aligned);
    const v = BigInt(value >>> 0);
    this.write64(aligned, (pa & 4n) === 0n ? (word & 0xffff_ffff_0000_0000n) | v : (word & 0xffff_ffffn) | (v << 32n));
  }

  /** Zero whole pages by forgetting them: what __GFP_ZERO costs on sparse memory. */
  zeroPages(startPfn: number, count: number): void {
    if (this.pages.size < count) {
      for (const pfn of [...this.pages.keys()])
        if (pfn >= startPfn && pfn < startPfn + count) {
          this.pages.delete(pfn);
          this.halves.delete(pfn);
        }
    } else {
      for (let pfn = startPfn; pfn < startPfn + count; pfn++) {
        this.pages.delete(pfn);
        this.halves.delete(pfn);
      }
    }
  }

  get touchedPages(): number {
    return this.pages.size;
  }
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
  return BigInt(pfn) << PAGE_SHIFT_N;
}

export function physToPfn(pa: bigint): number {
  return Number(pa >> PAGE_SHIFT_N);
}
