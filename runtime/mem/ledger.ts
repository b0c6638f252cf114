/**
 * The record of every allocation the simulated kernel made: what is live now, what was freed and by whom.
 * Leak reports, "pages freed during the run", and addresses named by allocation (site + ordinal) all come
 * from here.
 */
import { PAGE_OFFSET } from './direct-map.js';

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
  /**
   * The last block recorded at each address, live or freed: live until its `freed` is set, and then what a
   * second free of that address names as the double free. One map for both answers, so a record and a
   * release each touch it once. Keyed as `keyOf` says.
   */
  private readonly byVa = new Map<number | bigint, Allocation>();
  readonly history: Allocation[] = [];
  private readonly ordinals = new Map<string, number>();
  /**
   * Every allocation ever made, by the page frame it starts at (one block, or the list of those that
   * started there when the address was reused). A buddy block of order o starts at a pfn aligned to 2^o
   * and spans at most 2^o pages, so the blocks that can hold a page start at that page's pfn rounded down
   * to 2^o for each order: isFreedPa looks there. Blocks not shaped so (none today) go in `irregular`,
   * which it always scans.
   */
  private readonly byStart = new Map<number, Allocation | Allocation[]>();
  private readonly irregular: Allocation[] = [];
  private maxOrder = 0;
  /** Moves on every record and release: a page's answer below is good while it stays. */
  private version = 0;
  /** The last page isFreedPa found to have one answer for all its bytes, and that answer. */
  private lastPage = { version: -1, pfn: -1, freed: false };

  /** `tick` orders allocations and frees on the machine's one timeline (shared with commands and maps). */
  constructor(private readonly tick: () => number = counter()) {}

  record(entry: Omit<Allocation, 'seq' | 'ordinal' | 'freed'>): Allocation {
    const ordinal = (this.ordinals.get(entry.site) ?? 0) + 1;
    this.ordinals.set(entry.site, ordinal);
    // One flat literal, `freed` included: every allocation has the same shape from the start.
    const allocation: Allocation = {
      seq: this.tick(),
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
    this.byVa.set(keyOf(entry.va), allocation);
    this.history.push(allocation);
    const start = regularStart(allocation);
    if (start >= 0) {
      const at = this.byStart.get(start);
      if (at === undefined) this.byStart.set(start, allocation);
      else if (Array.isArray(at)) at.push(allocation);
      else this.byStart.set(start, [at, allocation]);
      if (allocation.order > this.maxOrder) this.maxOrder = allocation.order;
    } else {
      this.irregular.push(allocation);
    }
    return allocation;
  }

  release(va: bigint, family: AllocFamily, by: string, step: number): ReleaseResult {
    const allocation = this.byVa.get(keyOf(va));
    if (allocation === undefined) return INVALID_FREE;
    if (allocation.freed !== undefined) return { ok: false, problem: 'double_free', allocation };
    if (allocation.family !== family) return { ok: false, problem: 'mismatched_free', allocation };
    this.version++;
    allocation.freed = { seq: this.tick(), by, step };
    return { ok: true, allocation };
  }

  lookup(va: bigint): Allocation | undefined {
    const allocation = this.byVa.get(keyOf(va));
    return allocation?.freed === undefined ? allocation : undefined;
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
      const at = this.byStart.get(pfn - (pfn % 2 ** order));
      if (at === undefined) continue;
      if (Array.isArray(at)) {
        for (const a of at) if (a.order === order) meet(a);
      } else if (at.order === order) meet(at);
    }
    for (const a of this.irregular) meet(a);
    const answer = !live && freed;
    if (uniform) this.lastPage = { version: this.version, pfn, freed: answer };
    return answer;
  }

  liveAllocations(): Allocation[] {
    const live: Allocation[] = [];
    for (const a of this.byVa.values()) if (a.freed === undefined) live.push(a);
    return live.sort((a, b) => a.seq - b.seq);
  }

  freedAllocations(): Allocation[] {
    return this.history.filter((a) => a.freed !== undefined);
  }
}

const INVALID_FREE: ReleaseResult = Object.freeze({ ok: false, problem: 'invalid_free' });

/** 2^46: the direct map's size with 4-level paging (runtime/mem/direct-map.ts). */
const DIRECT_MAP_BYTES = 2 ** 46;

/**
 * The key an address is filed under in `byVa`: the page frame, as a number, for a page-aligned direct-map
 * address (every block the allocators hand out), else the address itself (a bad pointer given to a free).
 * A number and a bigint never compare equal as Map keys, so the two kinds cannot collide; a small number
 * hashes and compares without touching the heap, unlike a bigint.
 */
function keyOf(va: bigint): number | bigint {
  // Exact while the difference is below 2^53; any larger or negative difference fails the range test.
  const offset = Number(va - PAGE_OFFSET);
  return offset >= 0 && offset < DIRECT_MAP_BYTES && offset % 4096 === 0 ? offset / 4096 : va;
}

/**
 * The pfn a block is indexed under in `byStart`: where it starts, when it starts at a page aligned to its
 * order's span and covers no more than that span; -1 otherwise (the block goes in `irregular`). Done in
 * doubles, exact below 2^53 bytes; larger addresses take the bigint arithmetic.
 */
function regularStart(a: Allocation): number {
  if (a.pa < 0n || a.order >= 31) return -1;
  const span = 4096 * 2 ** a.order;
  const pa = Number(a.pa);
  if (pa >= 2 ** 53) {
    const spanN = BigInt(span);
    return a.pa % spanN === 0n && extent(a) <= spanN ? Number(a.pa >> 12n) : -1;
  }
  const covers = a.family === 'kmalloc' ? span : Number(a.bytes);
  return pa % span === 0 && covers <= span ? pa / 4096 : -1;
}

/** The bytes a block covers: kmalloc objects have their pages to themselves (runtime/linux/slab.ts). */
function extent(a: Allocation): bigint {
  return a.family === 'kmalloc' ? 4096n << BigInt(a.order) : a.bytes;
}

function counter(): () => number {
  let n = 0;
  return () => ++n;
}
