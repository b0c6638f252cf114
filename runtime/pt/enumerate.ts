import type { PhysMemory } from '../mem/phys-memory.js';
import { lowMask } from './defs.js';
import * as fmt from './fmt/amdv1.js';

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
 * Every leaf of a v1 table, in IOVA order, read from memory the way the hardware decodes it (each NL=7
 * entry once, permissions ANDed down). For the end state and for checks, never for translation.
 */
export function enumerateLeaves(mem: PhysMemory, rootPa: bigint, mode: number): Leaf[] {
  const out: Leaf[] = [];
  const visit = (tablePa: bigint, level: number, base: bigint, read: boolean, write: boolean): void => {
    const items = 1 << fmt.numItemsLg2(level);
    const isz = fmt.itemLg2(level);
    for (let i = 0; i < items; i++) {
      const entry = mem.read64(tablePa + BigInt(i * 8));
      if ((entry & fmt.PR) === 0n) continue;
      const iova = base + (BigInt(i) << BigInt(isz));
      const r = read && (entry & fmt.IR) !== 0n;
      const w = write && (entry & fmt.IW) !== 0n;
      const nl = fmt.nextLevel(entry);
      if (level === 0 || nl === fmt.NL_DEFAULT || nl === fmt.NL_SIZE) {
        const lg2 = fmt.entryOaLg2(entry, level);
        out.push({ iova, lg2, pa: fmt.entryOa(entry) & ~lowMask(lg2), read: r, write: w, entry });
        i += (1 << (lg2 - isz)) - 1;
      } else if (nl - 1 < level) {
        visit(fmt.tablePa(entry), nl - 1, iova, r, w);
      }
    }
  };
  visit(rootPa, mode - 1, 0n, true, true);
  return out;
}
