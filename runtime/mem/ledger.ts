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
  freed?: { readonly seq: number; readonly by: string; readonly step: number };
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
  /** Every allocation ever made, by each page frame its extent touches: what isFreedPa looks through. */
  private readonly byPage = new Map<number, Allocation[]>();

  /** `tick` orders allocations and frees on the machine's one timeline (shared with commands and maps). */
  constructor(private readonly tick: () => number = counter()) {}

  record(entry: Omit<Allocation, 'seq' | 'ordinal' | 'freed'>): Allocation {
    const ordinal = (this.ordinals.get(entry.site) ?? 0) + 1;
    this.ordinals.set(entry.site, ordinal);
    const allocation: Allocation = { ...entry, seq: this.tick(), ordinal };
    this.live.set(entry.va, allocation);
    this.history.push(allocation);
    const end = allocation.pa + extent(allocation);
    if (end > allocation.pa) {
      for (let pfn = Number(allocation.pa >> 12n), last = Number((end - 1n) >> 12n); pfn <= last; pfn++) {
        const list = this.byPage.get(pfn);
        if (list) list.push(allocation);
        else this.byPage.set(pfn, [allocation]);
      }
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
    this.live.delete(va);
    this.lastFreed.set(va, allocation);
    allocation.freed = { seq: this.tick(), by, step };
    return { ok: true, allocation };
  }

  lookup(va: bigint): Allocation | undefined {
    return this.live.get(va);
  }

  /**
   * Whether `pa` lies in a block that was freed and is not part of any live block now. Looks only at the
   * allocations that ever touched the page of `pa` (the DMA checks ask it on every IOTLB hit).
   */
  isFreedPa(pa: bigint): boolean {
    const candidates = pa < 0n ? undefined : this.byPage.get(Number(pa >> 12n));
    if (candidates === undefined) return false;
    let freed = false;
    for (const a of candidates) {
      if (pa < a.pa || pa >= a.pa + extent(a)) continue;
      if (a.freed === undefined) return false;
      freed = true;
    }
    return freed;
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

function counter(): () => number {
  let n = 0;
  return () => ++n;
}
