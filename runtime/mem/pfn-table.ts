import { invariant } from '../base/model-bug.js';

/** Page frames per chunk: one chunk covers 16 MiB of physical memory. */
const CHUNK = 4096;
/** Chunks of the first 1 TiB, also kept in a dense array (at most 2^16 entries). */
const LOW_CHUNKS = 2 ** 16;

/**
 * The cells of a table: 8-bit for values up to 126 (denser, so neighbours share cache lines), or 32-bit
 * for values up to 2^31 - 2.
 */
type Cells = Int8Array | Int32Array;

/**
 * A table from page frame number (any safe integer >= 0) to a non-negative value, absent = -1: a
 * two-level table of 4096-entry chunks, made for the 16 MiB regions used, as the kernel's sparse memmap
 * keeps one section of `struct page`s per region present. A look-up is two array loads rather than a hash
 * of the key, and a run of neighbouring page frames shares one chunk.
 */
export class PfnTable {
  private readonly chunks = new Map<number, Cells>();
  /** The same chunks for the first 1 TiB (chunk numbers below LOW_CHUNKS), by number: no hashing. */
  private readonly low: (Cells | undefined)[] = [];
  /** The chunk used last and its number: allocations cluster, so most look-ups stay in it. */
  private lastChunk: Cells | undefined;
  private lastHi = -1;
  private readonly max: number;

  /** `bits`: the cells' width. A number, not the array constructor: a forked machine copies its tables. */
  constructor(private readonly bits: 8 | 32 = 32) {
    this.max = bits === 8 ? 0x7e : 0x7fff_fffe;
  }

  // The index within a chunk is pfn - hi * CHUNK, exact in doubles: `%` on a double is a slow fmod call.
  // A cell holds its value + 1, so that a new chunk, zero-filled, holds -1 (absent) everywhere.

  get(pfn: number): number {
    if (!(pfn >= 0)) return -1;
    const hi = Math.floor(pfn / CHUNK);
    const chunk = this.chunk(hi, false);
    return chunk === undefined ? -1 : chunk[pfn - hi * CHUNK]! - 1;
  }

  set(pfn: number, value: number): void {
    invariant(pfn >= 0 && value >= 0 && value <= this.max, 'PfnTable.set: page frame or value out of range');
    const hi = Math.floor(pfn / CHUNK);
    this.chunk(hi, true)![pfn - hi * CHUNK] = value + 1;
  }

  delete(pfn: number): void {
    if (!(pfn >= 0)) return;
    const hi = Math.floor(pfn / CHUNK);
    const chunk = this.chunk(hi, false);
    if (chunk !== undefined) chunk[pfn - hi * CHUNK] = 0;
  }

  /** Every value present, chunk by chunk in the order chunks were made (a plain loop: no generator). */
  values(): number[] {
    const out: number[] = [];
    for (const chunk of this.chunks.values())
      for (let i = 0; i < chunk.length; i++) {
        const v = chunk[i]!;
        if (v > 0) out.push(v - 1);
      }
    return out;
  }

  private chunk(hi: number, make: boolean): Cells | undefined {
    if (hi === this.lastHi) return this.lastChunk;
    let chunk = hi < LOW_CHUNKS ? this.low[hi] : this.chunks.get(hi);
    if (chunk === undefined) {
      if (!make) return undefined;
      chunk = this.bits === 8 ? new Int8Array(CHUNK) : new Int32Array(CHUNK);
      this.chunks.set(hi, chunk);
      if (hi < LOW_CHUNKS) {
        while (this.low.length < hi) this.low.push(undefined);
        this.low[hi] = chunk;
      }
    }
    this.lastHi = hi;
    this.lastChunk = chunk;
    return chunk;
  }
}
