import { invariant } from '../base/model-bug.js';

/** Page frames per chunk: one chunk covers 16 MiB of physical memory. */
const CHUNK = 4096;
/** 2^34 page frames: the 64 TiB direct map (runtime/mem/direct-map.ts) and more. */
export const PFN_LIMIT = 2 ** 34;

/**
 * A table from page frame number to a non-negative 32-bit value, absent = -1: a two-level table of
 * 4096-entry chunks, made for the 16 MiB regions used, as the kernel's sparse memmap keeps one section of
 * `struct page`s per region present. A look-up is two array loads rather than a hash of the key, and a
 * run of neighbouring page frames shares one chunk.
 */
export class PfnTable {
  private readonly chunks = new Map<number, Int32Array>();
  /** The chunk used last and its number: allocations cluster, so most look-ups stay in it. */
  private lastChunk: Int32Array | undefined;
  private lastHi = -1;

  get(pfn: number): number {
    if (!(pfn >= 0 && pfn < PFN_LIMIT)) return -1;
    const chunk = this.chunk((pfn / CHUNK) | 0, false);
    return chunk === undefined ? -1 : chunk[pfn & (CHUNK - 1)]!;
  }

  set(pfn: number, value: number): void {
    invariant(pfn >= 0 && pfn < PFN_LIMIT && Number.isInteger(pfn), `page frame ${pfn} out of range`);
    this.chunk((pfn / CHUNK) | 0, true)![pfn & (CHUNK - 1)] = value;
  }

  /** Every value present, chunk by chunk in the order chunks were made. */
  *values(): IterableIterator<number> {
    for (const chunk of this.chunks.values()) for (const v of chunk) if (v >= 0) yield v;
  }

  private chunk(hi: number, make: boolean): Int32Array | undefined {
    if (hi === this.lastHi) return this.lastChunk;
    let chunk = this.chunks.get(hi);
    if (chunk === undefined) {
      if (!make) return undefined;
      chunk = new Int32Array(CHUNK).fill(-1);
      this.chunks.set(hi, chunk);
    }
    this.lastHi = hi;
    this.lastChunk = chunk;
    return chunk;
  }
}
