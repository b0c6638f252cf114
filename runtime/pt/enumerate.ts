import { invariant } from '../base/model-bug.js';
import { PAGE_SIZE, type PhysMemory } from '../mem/phys-memory.js';
import { lowMask } from './defs.js';
import type { PtFormat } from './format.js';
import { EntryType } from './defs.js';

export interface Leaf {
  readonly iova: bigint;
  readonly lg2: number;
  readonly pa: bigint;
  readonly read: boolean;
  readonly write: boolean;
  /** Raw value of the entry (every item of an NL=7 entry holds the same). */
  readonly entry: bigint;
}

/**
 * Every leaf of a table in format `fmt` whose top table is at `rootPa` and `topLevel`, in IOVA order, read
 * from memory as the format decodes it (each contiguous entry once, permissions ANDed down). For the end
 * state and for checks, never for translation.
 */
export function enumerateLeaves(
  mem: PhysMemory,
  fmt: PtFormat,
  rootPa: bigint,
  topLevel: number,
  /** Sees the count after each leaf: where a budget stops an end state too large to hold. */
  onLeaf?: (count: number) => void,
): Leaf[] {
  const out: Leaf[] = [];
  const visit = (tablePa: bigint, level: number, base: bigint, read: boolean, write: boolean): void => {
    const items = 1 << fmt.numItemsLg2(level);
    const isz = fmt.itemLg2(level);
    // Empty slots are told by their low half alone, without a bigint each: most of a sparse table.
    const low = tablePage32(mem, tablePa, items);
    for (let i = 0; i < items; i++) {
      if (fmt.entryTypeOfLow(low[2 * i]!, level) === EntryType.EMPTY) continue;
      const entry = mem.read64(tablePa + BigInt(i * 8));
      const type = fmt.entryType(entry, level);
      const iova = base + (BigInt(i) << BigInt(isz));
      const perm = fmt.permissions(entry);
      const r = read && perm.read;
      const w = write && perm.write;
      if (type === EntryType.OA) {
        const lg2 = fmt.entryOaLg2(entry, level);
        out.push({ iova, lg2, pa: fmt.entryOa(entry) & ~lowMask(lg2), read: r, write: w, entry });
        onLeaf?.(out.length);
        i += (1 << (lg2 - isz)) - 1;
      } else {
        visit(fmt.tablePa(entry), level - 1, iova, r, w);
      }
    }
  };
  visit(rootPa, topLevel, 0n, true, true);
  return out;
}

/** A table's entries as 32-bit halves, read only: tables here fit in one page, page aligned. */
function tablePage32(mem: PhysMemory, tablePa: bigint, items: number): Uint32Array {
  invariant(items * 8 <= PAGE_SIZE && (tablePa & BigInt(PAGE_SIZE - 1)) === 0n, 'a table larger than a page');
  invariant(mem.contains(tablePa), () => `a table at 0x${tablePa.toString(16)}, outside simulated memory`);
  return mem.peekPage32(Number(tablePa >> 12n));
}

/** One table a walk reads: its level, where it is, which entry the IOVA selects and that entry's value. */
export interface WalkStep {
  readonly level: number;
  readonly tablePa: bigint;
  readonly index: number;
  readonly entry: bigint;
}

/**
 * The tables the walk for `iova` reads, top first, as the kernel decodes them: it stops at a leaf, an empty
 * slot, or the leaf level.
 */
export function walkPath(mem: PhysMemory, fmt: PtFormat, rootPa: bigint, topLevel: number, iova: bigint): WalkStep[] {
  const path: WalkStep[] = [];
  let tablePa = rootPa;
  for (let level = topLevel; ; level--) {
    const index = Number((iova >> BigInt(fmt.itemLg2(level))) & lowMask(fmt.numItemsLg2(level)));
    const entry = mem.read64(tablePa + BigInt(index) * 8n);
    path.push({ level, tablePa, index, entry });
    if (level === 0 || fmt.entryType(entry, level) !== EntryType.TABLE) return path;
    tablePa = fmt.tablePa(entry);
  }
}

/** The raw entry the walk for `iova` ends on: a leaf, an empty slot, or the entry found at the leaf level. */
export function entryAt(mem: PhysMemory, fmt: PtFormat, rootPa: bigint, topLevel: number, iova: bigint): bigint {
  return walkPath(mem, fmt, rootPa, topLevel, iova).at(-1)!.entry;
}

/** Every entry of the table at `tablePa`, a table of `level`. */
export function tableEntries(mem: PhysMemory, fmt: PtFormat, tablePa: bigint, level: number): bigint[] {
  return Array.from({ length: 1 << fmt.numItemsLg2(level) }, (_, i) => mem.read64(tablePa + BigInt(i) * 8n));
}
