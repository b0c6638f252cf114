import { tableSpanLg2, type PdeStep, type WalkStart } from './walk.js';

/** A cached translation: one page of a domain. */
export interface IotlbEntry {
  readonly domainId: number;
  readonly pageIova: bigint;
  readonly pageLg2: number;
  readonly pa: bigint;
  readonly read: boolean;
  readonly write: boolean;
}

/** What an invalidation dropped from the translation caches: IOTLB entries, and how many page-directory entries. */
export interface Dropped {
  readonly iotlb: readonly IotlbEntry[];
  readonly pdes: number;
}

/** The result of every invalidation that finds nothing to drop. */
export const NOTHING_DROPPED: Dropped = { iotlb: Object.freeze([]), pdes: 0 };

/** A cached page-directory entry: for IOVAs under `prefix`, the walk may start at `step.tablePa`. */
export interface PdeCacheEntry {
  readonly domainId: number;
  readonly prefix: bigint;
  readonly step: PdeStep;
}

/** One number for a domain ID and a page size (log2, below 64), distinct for every pair. */
function domainKey(domainId: number, pageLg2: number): number {
  return domainId * 64 + pageLg2;
}

function overlaps(start: bigint, size: bigint, rStart: bigint, rSize: bigint): boolean {
  return start < rStart + rSize && rStart < start + size;
}

/**
 * The IOMMU's translation caches, keyed by domain. Unlike QEMU, which drops a whole domain on any
 * INVALIDATE_IOMMU_PAGES, invalidation here drops exactly the entries the encoded range overlaps, so a
 * too-narrow flush leaves a stale entry behind. Capacity is unlimited: the worst case, which is what a spec
 * wants to see.
 */
export class Iotlb<E extends IotlbEntry = IotlbEntry> {
  private readonly entries = new Map<string, E>();
  private readonly pdes = new Map<string, PdeCacheEntry>();
  /** Moves on every insert and invalidation: what a lookup finds is unchanged while it stays the same. */
  generation = 0;

  /**
   * The same entries by domain and page size (one number key, domainKey), then page number: what lookup reads,
   * without building a key string from a bigint on every translation. `entries` keeps the insertion order
   * invalidations report in.
   */
  private readonly index = new Map<number, Map<number, E>>();
  /** The page sizes in use (log2) and the same as bigint shifts, in the order first inserted: what lookup tries. */
  private readonly sizeList: number[] = [];
  private readonly shiftList: bigint[] = [];

  lookup(domainId: number, iova: bigint): E | undefined {
    for (let i = 0; i < this.sizeList.length; i++) {
      const shift = this.shiftList[i]!;
      const page = Number(iova >> shift);
      const hit = this.index.get(domainKey(domainId, this.sizeList[i]!))?.get(page);
      // A page number beyond 2^53 (an IOVA far above 2^64) is rounded: then the entry's IOVA decides.
      if (hit && (Number.isSafeInteger(page) || hit.pageIova === (iova >> shift) << shift)) return hit;
    }
    return undefined;
  }

  insert(e: E): void {
    this.generation++;
    if (!this.sizeList.includes(e.pageLg2)) {
      this.sizeList.push(e.pageLg2);
      this.shiftList.push(BigInt(e.pageLg2));
    }
    this.entries.set(`${e.domainId}:${e.pageLg2}:${e.pageIova}`, e);
    const key = domainKey(e.domainId, e.pageLg2);
    let pages = this.index.get(key);
    if (pages === undefined) this.index.set(key, (pages = new Map<number, E>()));
    pages.set(Number(e.pageIova >> BigInt(e.pageLg2)), e);
  }

  private unindex(e: E): void {
    this.index.get(domainKey(e.domainId, e.pageLg2))?.delete(Number(e.pageIova >> BigInt(e.pageLg2)));
  }

  private holdsDomain(domainId: number): boolean {
    return this.sizeList.some((lg2) => (this.index.get(domainKey(domainId, lg2))?.size ?? 0) > 0);
  }

  /** The deepest cached PDE on the way to `iova`, as a walk start. */
  pdeStart(domainId: number, iova: bigint, mode: number): WalkStart | undefined {
    for (let hwLevel = 1; hwLevel < mode; hwLevel++) {
      const hit = this.pdes.get(`${domainId}:${hwLevel}:${iova >> BigInt(tableSpanLg2(hwLevel))}`);
      if (hit) return hit.step;
    }
    return undefined;
  }

  insertPdes(domainId: number, iova: bigint, steps: readonly PdeStep[]): void {
    for (const step of steps) {
      const prefix = iova >> BigInt(tableSpanLg2(step.hwLevel));
      this.pdes.set(`${domainId}:${step.hwLevel}:${prefix}`, { domainId, prefix, step });
    }
  }

  /** INVALIDATE_IOMMU_PAGES: drop what overlaps [start, start + size); page directories too when pde. */
  invalidate(domainId: number, start: bigint, size: bigint, pde: boolean): Dropped {
    this.generation++;
    const dropped: IotlbEntry[] = [];
    // The scan keeps insertion order; a domain with no cached page has nothing in it to drop.
    if (this.holdsDomain(domainId)) {
      for (const [key, e] of this.entries) {
        if (e.domainId === domainId && overlaps(e.pageIova, 1n << BigInt(e.pageLg2), start, size)) {
          this.entries.delete(key);
          this.unindex(e);
          dropped.push(e);
        }
      }
    }
    let pdes = 0;
    if (pde) {
      for (const [key, e] of this.pdes) {
        const lg2 = BigInt(tableSpanLg2(e.step.hwLevel));
        if (e.domainId === domainId && overlaps(e.prefix << lg2, 1n << lg2, start, size)) {
          this.pdes.delete(key);
          pdes++;
        }
      }
    }
    return dropped.length === 0 && pdes === 0 ? NOTHING_DROPPED : { iotlb: dropped, pdes };
  }

  invalidateAll(): Dropped {
    this.generation++;
    const dropped = [...this.entries.values()];
    const pdes = this.pdes.size;
    this.entries.clear();
    this.index.clear();
    this.pdes.clear();
    return { iotlb: dropped, pdes };
  }

  /** Cached translations, ordered by domain and IOVA (for the end state). */
  snapshot(): E[] {
    return [...this.entries.values()].sort(
      (a, b) => a.domainId - b.domainId || (a.pageIova < b.pageIova ? -1 : a.pageIova > b.pageIova ? 1 : 0),
    );
  }
}
