/**
 * x86 page cache modes (enum page_cache_mode, arch/x86/include/asm/pgtable_types.h), with the numbers the
 * PAT code prints in its "track 0x%x, req 0x%x" messages.
 */
export const CacheMode = {
  WB: 0,
  WC: 1,
  UC_MINUS: 2,
  UC: 3,
  WT: 4,
  WP: 5,
} as const;
export type CacheModeName = keyof typeof CacheMode;
export type CacheModeValue = (typeof CacheMode)[CacheModeName];

const names = Object.fromEntries(Object.entries(CacheMode).map(([k, v]) => [v, k])) as Record<
  CacheModeValue,
  CacheModeName
>;

export function cacheModeName(mode: CacheModeValue): CacheModeName {
  return names[mode];
}

/** A run of pages [start, end) with one non-WB mode. */
export interface Run {
  start: number;
  end: number;
  mode: CacheModeValue;
}

/**
 * Per-page memory type of RAM, as PAT tracks it in page flags. Only non-WB pages are stored, as sorted,
 * disjoint runs (adjacent runs of one mode merged): a 1 MiB table set UC is one run, not 256 entries.
 */
export class MemTypes {
  private runs: Run[] = [];

  get(pfn: number): CacheModeValue {
    const i = this.runAt(pfn);
    const r = this.runs[i];
    return r !== undefined && r.start <= pfn ? r.mode : CacheMode.WB;
  }

  /** Whether all `count` pages from `first` are WB (no run meets them): one search, not one per page. */
  allWb(first: number, count: number): boolean {
    const r = this.runs[this.runAt(first)];
    return r === undefined || r.start >= first + count;
  }

  set(pfn: number, mode: CacheModeValue): void {
    this.setRange(pfn, 1, mode);
  }

  /** Sets `count` pages from `first` to `mode` (WB removes them). */
  setRange(first: number, count: number, mode: CacheModeValue): void {
    if (count <= 0) return;
    const end = first + count;
    const out: Run[] = [];
    let i = 0;
    // Runs wholly before the range stay; the one straddling its start keeps its head.
    for (; i < this.runs.length && this.runs[i]!.start < first; i++) {
      const r = this.runs[i]!;
      if (r.end <= first) out.push(r);
      else {
        out.push({ start: r.start, end: first, mode: r.mode });
        if (r.end > end) {
          // The range lies inside this run: its tail survives after the range.
          this.push(out, { start: first, end, mode });
          this.push(out, { start: end, end: r.end, mode: r.mode });
          i++;
          this.runs = this.mergedTail(out, i);
          return;
        }
      }
    }
    if (mode !== CacheMode.WB) this.push(out, { start: first, end, mode });
    // Runs inside the range go; the one straddling its end keeps its tail.
    for (; i < this.runs.length && this.runs[i]!.start < end; i++) {
      const r = this.runs[i]!;
      if (r.end > end) this.push(out, { start: end, end: r.end, mode: r.mode });
    }
    this.runs = this.mergedTail(out, i);
  }

  /** The runs of non-WB pages, ascending, adjacent runs of one mode merged: [start, end) page frames. */
  nonWbRuns(): readonly Readonly<Run>[] {
    return this.runs;
  }

  /** Non-WB pages in ascending order, one entry per page. */
  nonWb(): [number, CacheModeValue][] {
    const out: [number, CacheModeValue][] = [];
    for (const r of this.runs) for (let pfn = r.start; pfn < r.end; pfn++) out.push([pfn, r.mode]);
    return out;
  }

  /** The index of the first run that ends after `pfn` (it contains pfn when it starts at or before it). */
  private runAt(pfn: number): number {
    let lo = 0;
    let hi = this.runs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.runs[mid]!.end <= pfn) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Appends a run, merging it into the previous one when they touch with the same mode. */
  private push(out: Run[], r: Run): void {
    if (r.mode === CacheMode.WB || r.end <= r.start) return;
    const last = out[out.length - 1];
    if (last !== undefined && last.end === r.start && last.mode === r.mode) last.end = r.end;
    else out.push({ ...r });
  }

  /** `out` followed by this.runs from index `from`, merged at the seam. */
  private mergedTail(out: Run[], from: number): Run[] {
    for (let i = from; i < this.runs.length; i++) this.push(out, this.runs[i]!);
    return out;
  }
}
