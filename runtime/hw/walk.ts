import type { PhysMemory } from '../mem/phys-memory.js';

/**
 * The IOMMU's own walk of a v1 host page table, written from the AMD I/O Virtualization Technology (IOMMU)
 * Specification (48882, "2.2.3 I/O Page Tables for Host Translations", Tables 14-16), not from Linux: from
 * the DTE's root pointer and mode, reading only memory, ANDing IR/IW down the levels, honouring Next Level
 * skips and the NextLevel=7 size encoding. It shares no code with the kernel's page-table code in
 * runtime/pt (a port of Linux generic_pt), so a test can check the two against each other.
 */

/** Page-table entry fields as the hardware reads them (Table 15/16). */
const PR = 1n;
const NEXT_LEVEL_SHIFT = 9n;
const ADDR_MASK = 0x000f_ffff_ffff_f000n; // bits 51:12
const FC = 1n << 60n;
const IR = 1n << 61n;
const IW = 1n << 62n;
/** NextLevel 0: a page of the level's own size; 7: a larger page whose size is encoded in the address. */
const NL_PAGE = 0;
const NL_SIZED = 7;

const low = (lg2: number): bigint => (1n << BigInt(lg2)) - 1n;

/** log2 of what one entry of a table at hardware level `hwLevel` (1..6) covers: 12, 21, 30, ... */
function entryLg2(hwLevel: number): number {
  return 12 + 9 * (hwLevel - 1);
}

/** VA bits a level indexes: 9, except level 6 (bits 63:57, 7 bits). */
function indexBits(hwLevel: number): number {
  return hwLevel === 6 ? 7 : 9;
}

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
  if (mode < 6 && iova >> BigInt(entryLg2(mode) + 9) !== 0n) return { reason: 'va_out_of_range', level: mode };
  return hwWalkFrom(mem, { tablePa: rootPa, hwLevel: mode, read: true, write: true }, iova);
}

/** The VA bits below which one table at `hwLevel` translates: its whole span. */
export function tableSpanLg2(hwLevel: number): number {
  return Math.min(64, entryLg2(hwLevel) + 9);
}

export function hwWalkFrom(mem: PhysMemory, start: WalkStart, iova: bigint): WalkResult | WalkFault {
  let hwLevel = start.hwLevel;
  let tablePa = start.tablePa;
  let read = start.read;
  let write = start.write;
  const tables: bigint[] = [];
  const pdes: PdeStep[] = [];
  for (;;) {
    if (!mem.contains(tablePa)) return { reason: 'table_outside_memory', level: hwLevel, pa: tablePa };
    tables.push(tablePa);
    const isz = entryLg2(hwLevel);
    const index = Number((iova >> BigInt(isz)) & low(indexBits(hwLevel)));
    const entry = mem.read64(tablePa + BigInt(index * 8));
    if ((entry & PR) === 0n) return { reason: 'not_present', level: hwLevel };
    read &&= (entry & IR) !== 0n;
    write &&= (entry & IW) !== 0n;
    const nl = Number((entry >> NEXT_LEVEL_SHIFT) & 7n);
    if (nl === NL_PAGE || nl === NL_SIZED) {
      const pageLg2 = nl === NL_PAGE ? isz : sizeFromAddress(entry);
      const base = entry & ADDR_MASK & ~low(pageLg2);
      return {
        pa: base | (iova & low(pageLg2)),
        pageIova: iova & ~low(pageLg2),
        pageLg2,
        read,
        write,
        fc: (entry & FC) !== 0n,
        tables,
        pdes,
      };
    }
    if (hwLevel === 1 || nl >= hwLevel) return { reason: 'reserved_next_level', level: hwLevel };
    // A pointer may skip levels; the IOVA bits those levels would index must then be zero.
    if (nl < hwLevel - 1) {
      const skipped = (iova >> BigInt(entryLg2(nl + 1))) & low(isz - entryLg2(nl + 1));
      if (skipped !== 0n) return { reason: 'skipped_level_bits', level: hwLevel };
    }
    tablePa = entry & ADDR_MASK;
    hwLevel = nl;
    pdes.push({ hwLevel, tablePa, read, write });
  }
}

/** Page size of a NextLevel=7 entry: 2^(first zero address bit at or above bit 12, + 1) (Table 14). */
function sizeFromAddress(entry: bigint): number {
  let bit = 12;
  while (bit < 52 && (entry >> BigInt(bit)) & 1n) bit++;
  return bit + 1;
}

export function isWalkFault(r: WalkResult | WalkFault): r is WalkFault {
  return 'reason' in r;
}
