import { Timeline } from '../base/timeline.js';

/**
 * The record of every allocation the simulated kernel made: what is live now, what was freed and by whom.
 * Leak reports, "pages freed during the run", and addresses named by allocation (site + ordinal) all come
 * from here.
 */

/** Which allocator family owns a block; freeing it through another family is a mismatched free. */
export type AllocFamily = 'iommu_pages' | 'kmalloc' | 'pages';

export interface Allocation {
  readonly seq: number;
  readonly family: AllocFamily;
  readonly va: bigint;
  readonly pa: bigint;
  readonly bytes: bigint;
  /** Buddy order for page allocations; size class for kmalloc. */
  readonly order: number;
  readonly node: number;
  readonly site: string;
  /** 1-based: the how-manieth allocation made at this site. */
  readonly ordinal: number;
  readonly step: number;
  freed: { readonly seq: number; readonly by: string; readonly step: number } | undefined;
}

export type ReleaseResult =
  | { readonly ok: true; readonly allocation: Allocation }
  | { readonly ok: false; readonly problem: 'double_free'; readonly allocation: Allocation }
  | { readonly ok: false; readonly problem: 'mismatched_free'; readonly allocation: Allocation }
  | { readonly ok: false; readonly problem: 'invalid_free' };

export class AllocationLedger {
  private readonly live = new Map<bigint, Allocation>();
  private readonly lastFreed = new Map<bigint, Allocation>();
  readonly history: Allocation[] = [];
  private readonly ordinals = new Map<string, number>();
  /**
   * Every allocation ever made, by the page frame it starts at. A buddy block of order o starts at a pfn
   * aligned to 2^o and spans at most 2^o pages, so the blocks that can hold a page start at that page's pfn
   * rounded down to 2^o for each order: isFreedPa looks there. Blocks not shaped so (none today) go in
   * `irregular`, which it always scans.
   */
  private readonly byStart = new Map<number, Allocation[]>();
  private readonly irregular: Allocation[] = [];
  private maxOrder = 0;
  /** Moves on every record and release: a page's answer below is good while it stays. */
  private version = 0;
  /** The last page isFreedPa found to have one answer for all its bytes, and that answer. */
  private lastPage = { version: -1, pfn: -1, freed: false };

  /** `timeline` orders allocations and frees on the machine's one timeline (shared with commands and maps). */
  constructor(private readonly timeline: Timeline = new Timeline()) {}

  record(entry: Omit<Allocation, 'seq' | 'ordinal' | 'freed'>): Allocation {
    const ordinal = (this.ordinals.get(entry.site) ?? 0) + 1;
    this.ordinals.set(entry.site, ordinal);
    // One flat literal, `freed` included: every allocation has the same shape from the start.
    const allocation: Allocation = {
      seq: this.timeline.next(),
      family: entry.family,
      va: entry.va,
      pa: entry.pa,
      bytes: entry.bytes,
      order: entry.order,
      node: entry.node,
      site: entry.site,
      ordinal,
      step: entry.step,
      freed: undefined,
    };
    this.version++;
    this.live.set(entry.va, allocation);
    this.history.push(allocation);
    const span = 4096n << BigInt(allocation.order);
    if (allocation.pa >= 0n && allocation.pa % span === 0n && extent(allocation) <= span && allocation.order < 31) {
      const start = Number(allocation.pa >> 12n);
      const list = this.byStart.get(start);
      if (list) list.push(allocation);
      else this.byStart.set(start, [allocation]);
      if (allocation.order > this.maxOrder) this.maxOrder = allocation.order;
    } else {
      this.irregular.push(allocation);
    }
    return allocation;
  }

  release(va: bigint, family: AllocFamily, by: string, step: number): ReleaseResult {
    const allocation = this.live.get(va);
    if (allocation === undefined) {
      const previous = this.lastFreed.get(va);
      return previous
        ? { ok: false, problem: 'double_free', allocation: previous }
        : { ok: false, problem: 'invalid_free' };
    }
    if (allocation.family !== family) return { ok: false, problem: 'mismatched_free', allocation };
    this.version++;
    this.live.delete(va);
    this.lastFreed.set(va, allocation);
    allocation.freed = { seq: this.timeline.next(), by, step };
    return { ok: true, allocation };
  }

  lookup(va: bigint): Allocation | undefined {
    return this.live.get(va);
  }

  /**
   * Whether `pa` lies in a block that was freed and is not part of any live block now. Looks only where a
   * block holding `pa` can start, one place per order (the DMA checks ask it on every IOTLB hit).
   */
  isFreedPa(pa: bigint): boolean {
    if (pa < 0n) return false;
    const pfn = Number(pa >> 12n);
    const last = this.lastPage;
    if (last.pfn === pfn && last.version === this.version) return last.freed;
    // Whether every block met covers all of the page or none of it: then the answer holds for its every byte.
    const pageStart = pa & ~0xfffn;
    const pageEnd = pageStart + 0x1000n;
    let uniform = true;
    let live = false;
    let freed = false;
    const meet = (a: Allocation): void => {
      const end = a.pa + extent(a);
      if (end <= pageStart || a.pa >= pageEnd) return;
      if (a.pa > pageStart || end < pageEnd) uniform = false;
      if (pa < a.pa || pa >= end) return;
      if (a.freed === undefined) live = true;
      else freed = true;
    };
    for (let order = 0; order <= this.maxOrder; order++) {
      const candidates = this.byStart.get(pfn - (pfn % 2 ** order));
      if (candidates !== undefined) for (const a of candidates) if (a.order === order) meet(a);
    }
    for (const a of this.irregular) meet(a);
    const answer = !live && freed;
    if (uniform) this.lastPage = { version: this.version, pfn, freed: answer };
    return answer;
  }

  liveAllocations(): Allocation[] {
    return [...this.live.values()].sort((a, b) => a.seq - b.seq);
  }

  freedAllocations(): Allocation[] {
    return this.history.filter((a) => a.freed !== undefined);
  }
}

/** The bytes a block covers: kmalloc objects have their pages to themselves (runtime/linux/slab.ts). */
function extent(a: Allocation): bigint {
  return a.family === 'kmalloc' ? 4096n << BigInt(a.order) : a.bytes;
}
