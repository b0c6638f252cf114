import type { PhysMemory } from '../mem/phys-memory.js';
import { lowMask } from './defs.js';
import * as fmt from './fmt/amdv1.js';

/**
 * The IOMMU's own walk of a v1 host page table, as the hardware does it: from the DTE's root pointer and
 * mode, reading only memory, ANDing IR/IW down the levels, honouring Next Level skips and the NL=7 size
 * encoding. It shares no state with the driver-side algorithms, so the two can be checked against each other.
 */

export type WalkFault =
  | { readonly reason: 'not_present'; readonly level: number }
  | { readonly reason: 'reserved_next_level'; readonly level: number }
  | { readonly reason: 'va_out_of_range'; readonly level: number }
  | { readonly reason: 'skipped_level_bits'; readonly level: number }
  | { readonly reason: 'table_outside_memory'; readonly level: number; readonly pa: bigint };

/** A page-directory entry the walk followed: what a PDE cache may keep. */
export interface PdeStep {
  /** Hardware level of the table the entry points to. */
  readonly hwLevel: number;
  readonly tablePa: bigint;
  readonly read: boolean;
  readonly write: boolean;
}

/** Where a walk starts: the root, or a table a cached PDE points to. */
export interface WalkStart {
  readonly tablePa: bigint;
  readonly hwLevel: number;
  readonly read: boolean;
  readonly write: boolean;
}

export interface WalkResult {
  readonly pa: bigint;
  /** Start and size of the page the translation came from. */
  readonly pageIova: bigint;
  readonly pageLg2: number;
  readonly read: boolean;
  readonly write: boolean;
  readonly fc: boolean;
  /** Pages of the tables read, top first: the walk's footprint (for stale page-directory caching). */
  readonly tables: readonly bigint[];
  readonly pdes: readonly PdeStep[];
}

/** Translates `iova` through the table at `rootPa` with DTE `mode` (1..6 = levels). */
export function hwWalk(mem: PhysMemory, rootPa: bigint, mode: number, iova: bigint): WalkResult | WalkFault {
  // Above the top level the IOVA must be zero; mode 6 covers all 64 bits.
  if (mode < 6 && iova >> BigInt(fmt.itemLg2(mode - 1) + 9) !== 0n) return { reason: 'va_out_of_range', level: mode };
  return hwWalkFrom(mem, { tablePa: rootPa, hwLevel: mode, read: true, write: true }, iova);
}

/** The VA bits below which one table at `hwLevel` translates: its whole span. */
export function tableSpanLg2(hwLevel: number): number {
  return Math.min(64, fmt.itemLg2(hwLevel - 1) + 9);
}

export function hwWalkFrom(mem: PhysMemory, start: WalkStart, iova: bigint): WalkResult | WalkFault {
  let hwLevel = start.hwLevel;
  let tablePa = start.tablePa;
  let read = start.read;
  let write = start.write;
  const tables: bigint[] = [];
  const pdes: PdeStep[] = [];
  for (;;) {
    const level = hwLevel - 1;
    if (!mem.contains(tablePa)) return { reason: 'table_outside_memory', level: hwLevel, pa: tablePa };
    tables.push(tablePa);
    const isz = fmt.itemLg2(level);
    const index = Number((iova >> BigInt(isz)) & lowMask(fmt.numItemsLg2(level)));
    const entry = mem.read64(tablePa + BigInt(index * 8));
    if ((entry & fmt.PR) === 0n) return { reason: 'not_present', level: hwLevel };
    read &&= (entry & fmt.IR) !== 0n;
    write &&= (entry & fmt.IW) !== 0n;
    const nl = fmt.nextLevel(entry);
    if (nl === fmt.NL_DEFAULT || nl === fmt.NL_SIZE) {
      const pageLg2 = nl === fmt.NL_DEFAULT ? isz : sizeFromOa(entry);
      const base = (entry & fmt.OA_MASK) & ~lowMask(pageLg2);
      return { pa: base | (iova & lowMask(pageLg2)), pageIova: iova & ~lowMask(pageLg2), pageLg2, read, write, fc: (entry & fmt.FC) !== 0n, tables, pdes };
    }
    if (level === 0 || nl >= hwLevel) return { reason: 'reserved_next_level', level: hwLevel };
    // A pointer may skip levels; the IOVA bits those levels would index must then be zero.
    if (nl < hwLevel - 1) {
      const skipped = (iova >> BigInt(fmt.itemLg2(nl))) & lowMask(isz - fmt.itemLg2(nl));
      if (skipped !== 0n) return { reason: 'skipped_level_bits', level: hwLevel };
    }
    tablePa = entry & fmt.OA_MASK;
    hwLevel = nl;
    pdes.push({ hwLevel, tablePa, read, write });
  }
}

/** Page size of an NL=7 leaf: 2^(first zero OA bit at or above bit 12, + 1). */
function sizeFromOa(entry: bigint): number {
  let bit = 12;
  while (bit < 52 && (entry >> BigInt(bit)) & 1n) bit++;
  return bit + 1;
}

export function isWalkFault(r: WalkResult | WalkFault): r is WalkFault {
  return 'reason' in r;
}
