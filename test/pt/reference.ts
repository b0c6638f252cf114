/**
 * A brute-force reference for the v1 table's observable behaviour, written from the rules in the fact sheet
 * and the C source rather than from runtime/pt: leaves in a sorted list, tables as (level, base) keys.
 */
export interface RefLeaf {
  readonly va: bigint;
  readonly size: bigint;
  readonly pa: bigint;
  readonly prot: number;
  readonly level: number;
}

const U64 = 1n << 64n;
const ALLOWED = (lg2: number): boolean => lg2 >= 12 && lg2 <= 51 && lg2 !== 39;
const itemLg2 = (level: number): number => 12 + 9 * level;
const spanLg2 = (level: number): number => (level >= 5 ? 64 : itemLg2(level) + 9);
const levelOf = (lg2: number): number => Math.floor((lg2 - 12) / 9);
const floorLog2 = (v: bigint): number => v.toString(2).length - 1;
const lowBit = (v: bigint): number => (v === 0n ? 64 : floorLog2(v & -v));

export class Reference {
  leaves: RefLeaf[] = [];
  readonly tables = new Set<string>();
  topLevel = 2;

  /** The current top plus every table below it (old tops are ordinary tables at index 0 after growth). */
  livePages(): number {
    return 1 + this.tables.size;
  }

  topLimit(): bigint {
    return 1n << BigInt(spanLg2(this.topLevel));
  }

  leafAt(va: bigint): RefLeaf | undefined {
    return this.leaves.find((l) => va >= l.va && va < l.va + l.size);
  }

  /** iommu_pgsize(): a size and how many of it, for the chunk starting at iova/pa. */
  private static chunk(iova: bigint, pa: bigint, size: bigint): [number, bigint] | undefined {
    const cap = Math.min(floorLog2(size), lowBit(iova | pa));
    let lg2 = -1;
    for (let s = 12; s <= cap; s++) if (ALLOWED(s)) lg2 = s;
    if (lg2 < 0) return undefined;
    const pg = 1n << BigInt(lg2);
    let span = size;
    let next = lg2 + 1;
    while (next <= 51 && !ALLOWED(next)) next++;
    if (next <= 51) {
      const n = 1n << BigInt(next);
      if (((iova ^ pa) & (n - 1n)) === 0n) {
        const offset = n - ((iova | pa) & (n - 1n));
        if (offset + n <= size) span = offset;
      }
    }
    return [lg2, span / pg];
  }

  map(iova: bigint, pa: bigint, len: bigint, prot: number): { ret: number; mapped: bigint } {
    if ((prot & 3) === 0) return { ret: -22, mapped: 0n };
    if (pa >> 52n !== 0n) return { ret: -34, mapped: 0n };
    if (len === 0n) return { ret: -22, mapped: 0n };
    if (iova + len > U64) return { ret: -75, mapped: 0n };
    // map_range sizes the first run, then check_map_range grows the top for the whole request (and that
    // run's level) before any table below is touched, even if the map then fails.
    const first = Reference.chunk(iova, pa, len);
    if (!first) return { ret: -6, mapped: 0n };
    while (iova + len - 1n >= this.topLimit() || levelOf(first[0]) > this.topLevel) {
      this.tables.add(`${this.topLevel}:0`);
      this.topLevel++;
    }
    let mapped = 0n;
    while (mapped < len) {
      const c = Reference.chunk(iova + mapped, pa + mapped, len - mapped);
      if (!c) return { ret: -6, mapped };
      const [lg2, count] = c;
      const size = 1n << BigInt(lg2);
      const runVa = iova + mapped;
      const runLast = runVa + size * count - 1n;
      const level = levelOf(lg2);
      if (runLast >= this.topLimit() || level > this.topLevel) throw new Error('reference: run outside the grown top');
      for (let i = 0n; i < count; i++) {
        const va = runVa + i * size;
        for (let j = this.topLevel; j > level; j--) {
          const above = this.leafAt(va);
          if (above && above.level === j) return { ret: -98, mapped };
          this.tables.add(`${j - 1}:${va & ~((1n << BigInt(spanLg2(j - 1))) - 1n)}`);
        }
        if (this.leaves.some((l) => l.va < va + size && va < l.va + l.size)) return { ret: -98, mapped };
        for (const key of [...this.tables]) {
          const [lvl, base] = key.split(':');
          if (Number(lvl) < level && BigInt(base!) >= va && BigInt(base!) < va + size) this.tables.delete(key);
        }
        this.leaves.push({ va, size, pa: pa + (va - iova), prot, level });
        mapped += size;
      }
      this.leaves.sort((a, b) => (a.va < b.va ? -1 : 1));
    }
    return { ret: 0, mapped };
  }

  unmap(iova: bigint, len: bigint): bigint {
    if (len === 0n || iova + len > U64 || iova + len - 1n >= this.topLimit()) return 0n;
    const last = iova + len - 1n;
    let pos = iova;
    while (pos <= last && pos < U64) {
      const leaf = this.leafAt(pos);
      if (!leaf || leaf.va !== pos) break;
      this.leaves = this.leaves.filter((l) => l !== leaf);
      pos = leaf.va + leaf.size;
    }
    const coveredEnd = pos - 1n < last ? pos - 1n : last;
    for (const key of [...this.tables]) {
      const [lvl, base] = key.split(':');
      const b = BigInt(base!);
      if (b >= iova && b + (1n << BigInt(spanLg2(Number(lvl)))) - 1n <= coveredEnd) this.tables.delete(key);
    }
    return pos - iova;
  }
}
