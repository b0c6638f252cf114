import { PAGE_OFFSET, virt_to_phys } from '../mem/direct-map.js';
import type { PageFact } from '../mem/phys-memory.js';
import { Errno } from '../linux/errno.js';
import type { Gfp } from '../linux/gfp.js';
import { iommu_alloc_pages_node_sz, iommu_free_pages } from '../linux/iommu-pages.js';
import {
  iommu_iotlb_gather_add_range,
  iommu_iotlb_gather_init,
  iommu_iotlb_gather_is_disjoint,
  type IotlbGather,
} from '../linux/iommu-gather.js';
import type { Kernel } from '../linux/kernel.js';
import type { RestartPosition } from '../linux/restart.js';
import { invariant } from '../base/model-bug.js';
import { EntryType, IOMMU_READ, IOMMU_WRITE, lowMask, PtFeature } from './defs.js';
import type { PtFormat } from './format.js';
import { IOMMUPT, portedFrom } from '../linux/ported.js';

const F = portedFrom(IOMMUPT, 'drivers/iommu/generic_pt/iommu_pt.h', ['pt_iommu_amdv1_init', 'increase_top']);

/**
 * The generic_pt algorithms (drivers/iommu/generic_pt/iommu_pt.h + pt_iter.h), written once over any
 * PtFormat: init, map, unmap, iova_to_phys, top growth, deinit. This is kernel code (the page-table side of
 * the IOMMU driver), not the hardware's walk, which lives in runtime/hw. Tables are pages of simulated
 * memory from the kernel's page allocator; every entry is read from and written to that memory, never
 * cached here.
 */

export interface PtDriverOps {
  /** amd_iommu_change_top: the top grew; DTEs using the domain must learn the new root and mode. */
  changeTop(topPa: bigint, topLevel: number): void;
  /**
   * iommu_iotlb_sync(&domain, gather): the driver's flush of the gathered range, which frees the gathered
   * table pages after it, then the gather re-initialised (the core's inline, called from iommu_pt.h).
   */
  iotlbSync(gather: IotlbGather): void;
}

export interface PtConfig {
  readonly fmt: PtFormat;
  readonly hwMaxVaszLg2: number;
  readonly hwMaxOaszLg2: number;
  readonly startingLevel: number;
  readonly features: number;
  readonly nid: number;
  readonly driverOps: PtDriverOps;
  /**
   * CONFIG_DEBUG_GENERIC_PT (KUnit's .kunitconfig sets it): pt_init_common then accepts features that lack
   * the format's forced ones, such as a table whose top cannot grow in a format forcing DYNAMIC_TOP.
   */
  readonly debugGenericPt?: boolean;
}

const U64_MAX = (1n << 64n) - 1n;
const INT32_MIN = -0x8000_0000;
/** 0n..64n, so the per-table helpers convert no shift counts. */
const SMALL: readonly bigint[] = Array.from({ length: 65 }, (_, i) => BigInt(i));
/** ~lowMask(lg2) within 64 bits, for lg2 0..64. */
const HIGH_MASKS: readonly bigint[] = SMALL.map((lg2) => U64_MAX ^ ((1n << lg2) - 1n));

const PAGE_SHIFT = 12;
const PAGE_SIZE = 1n << 12n;
const PAGE_BYTES = 4096;

/**
 * pt_range: the top a walk started from and its VA window; `va` is the walk's cursor, moved by
 * pt_index_to_va as the walkers advance and shared by every level, exactly like the C struct.
 */
interface Range {
  va: bigint;
  last: bigint;
  top: bigint;
  topLevel: number;
  maxVaszLg2: number;
}

/** struct pt_iommu_map_args */
interface MapArgs {
  readonly gather: IotlbGather;
  readonly attrs: bigint;
  readonly gfp: Gfp;
  oa: bigint;
  leafLg2: number;
  leafLevel: number;
  numLeaves: number;
}

/**
 * Where a map walk is: its range (va the cursor) and args, which is all do_map descends by. A restart point
 * names it (linux/restart.ts); a map that finds it pending goes on from it, past map_range's start.
 */
interface MapPosition extends RestartPosition {
  readonly walk: PtIommu;
  readonly range: Range;
  readonly map: MapArgs;
  readonly singlePage: boolean;
}

interface UnmapArgs {
  readonly freeList: bigint[];
  unmapped: bigint;
}

/** Walkers return 0 or a negative errno, as in C. */
type Ret = number;

export class PtIommu {
  /** Kernel VA of the top table. */
  topTable: bigint;
  topLevel: number;
  features: number;
  readonly maxVaszLg2: number;
  readonly maxOaszLg2: number;
  /** domain->pgsize_bitmap: the format's sizes; the driver may narrow it. */
  pgsizeBitmap: bigint;
  readonly apertureEnd: bigint;

  private readonly f: PtFormat;
  private readonly leadingLeaves: LeadingLeaves;

  private constructor(
    private readonly k: Kernel,
    private readonly cfg: PtConfig,
    maxVaszLg2: number,
  ) {
    this.f = cfg.fmt;
    this.leadingLeaves = new LeadingLeaves(cfg.fmt);
    this.maxVaszLg2 = maxVaszLg2;
    this.maxOaszLg2 = Math.min(this.f.maxOaLg2, cfg.hwMaxOaszLg2);
    this.topLevel = cfg.startingLevel;
    this.features = cfg.features;
    this.topTable = 0n;
    this.pgsizeBitmap = 0n;
    this.apertureEnd = 0n;
  }

  /** pt_iommu_amdv1_init. Returns the table or a negative errno; -ENOMEM when the top table cannot be had. */
  static init(k: Kernel, cfg: PtConfig, gfp: Gfp): PtIommu | number {
    const f = cfg.fmt;
    if (cfg.hwMaxVaszLg2 > f.maxVaLg2 || !cfg.hwMaxVaszLg2 || !cfg.hwMaxOaszLg2) return -Errno.EINVAL;
    const maxVasz = f.fmtInit(cfg.startingLevel, cfg.features);
    if (maxVasz < 0) return maxVasz;
    const pt = new PtIommu(k, cfg, Math.min(maxVasz, cfg.hwMaxVaszLg2));
    if (cfg.hwMaxOaszLg2 > f.maxOaLg2) return -Errno.EINVAL;
    // pt_init_common
    if (pt.topLevel === f.maxTopLevel || pt.maxVaszLg2 === pt.topRangeMaxVasz(pt.topLevel))
      pt.features &= ~PtFeature.DYNAMIC_TOP;
    if (pt.topRangeMaxVasz(pt.topLevel) === 64) pt.features |= PtFeature.FULL_VA;
    // Requested features must match features compiled into this format
    if (
      (pt.features & ~f.supportedFeatures) !== 0 ||
      (!cfg.debugGenericPt && (pt.features & f.forcedFeatures) !== f.forcedFeatures)
    )
      return -Errno.EOPNOTSUPP;
    // Check if the top level of the page table is too small to hold the specified maxvasz.
    if (
      !pt.feature(PtFeature.DYNAMIC_TOP) &&
      pt.topLevel !== f.maxTopLevel &&
      pt.maxVaszLg2 > f.numItemsLg2(pt.topLevel) + f.itemLg2(pt.topLevel)
    )
      return -Errno.EOPNOTSUPP;
    // pt_iommu_init_domain: the sizes every reachable level can hold, below the maximum OA
    let bitmap = 0n;
    const lastLevel = pt.feature(PtFeature.DYNAMIC_TOP) ? f.maxTopLevel : pt.topLevel;
    for (let level = 0; level <= lastLevel; level++) {
      if (pt.feature(PtFeature.DYNAMIC_TOP) && f.itemLg2(level) >= pt.maxVaszLg2) break;
      bitmap |= f.possibleSizes(level);
    }
    pt.pgsizeBitmap = bitmap & lowMask(pt.maxOaszLg2);
    (pt as { apertureEnd: bigint }).apertureEnd = lowMask(
      pt.feature(PtFeature.DYNAMIC_TOP) ? pt.maxVaszLg2 : pt.topRangeMaxVasz(pt.topLevel),
    );
    const top = k.call(F.pt_iommu_amdv1_init, () =>
      iommu_alloc_pages_node_sz(k, cfg.nid, gfp, 1n << BigInt(f.tablememLg2)),
    );
    if (top === null) return -Errno.ENOMEM;
    pt.topTable = top;
    return pt;
  }

  /** Physical address and level of the top table (what pt_iommu_*_hw_info reports to the driver). */
  top(): { pa: bigint; level: number } {
    return { pa: virt_to_phys(this.topTable), level: this.topLevel };
  }

  /** VA bits a top at `level` translates (_pt_top_range). */
  private topRangeMaxVasz(level: number): number {
    if (this.feature(PtFeature.DYNAMIC_TOP) && level !== this.f.maxTopLevel) {
      return Math.min(this.maxVaszLg2, this.f.numItemsLg2(level) + this.f.itemLg2(level));
    }
    return this.maxVaszLg2;
  }

  /** pt_make_range: the current top with [va, last]. */
  private makeRange(va: bigint, last: bigint): Range {
    return { va, last, top: this.topTable, topLevel: this.topLevel, maxVaszLg2: this.topRangeMaxVasz(this.topLevel) };
  }

  /** The range a top at `level` would give (increase_top's probe; `top` is unused there). */
  private makeRangeAt(level: number, va: bigint, last: bigint): Range {
    return { va, last, top: 0n, topLevel: level, maxVaszLg2: this.topRangeMaxVasz(level) };
  }

  /** pt_feature: the table's features plus the ones the format forces on. */
  private feature(bit: number): boolean {
    return ((this.features | this.f.forcedFeatures) & bit) !== 0;
  }

  /** pt_check_range: both ends inside the VA the current top translates. */
  private checkRange(range: Range): Ret {
    const limit = range.maxVaszLg2;
    if (limit < 64 && (range.va >> BigInt(limit) !== 0n || range.last >> BigInt(limit) !== 0n)) return -Errno.ERANGE;
    return 0;
  }

  // --- table memory -------------------------------------------------------------------------------------

  private words(table: bigint): BigUint64Array {
    return this.k.mem.page(tablePfn(table));
  }

  /**
   * Entry `index` of a table, read without materialising or copying its page (words() is for writing: it
   * copies a page shared with a sweep's checkpoint and marks the page written).
   */
  private entryAt(pfn: number, index: number): bigint {
    return this.k.mem.peekPage(pfn)?.[index] ?? 0n;
  }

  /** The same table as 32-bit halves (entry i: low half at 2i, high half at 2i + 1), a cached view. */
  private words32(table: bigint): Uint32Array {
    return this.k.mem.page32(tablePfn(table));
  }

  // --- iteration helpers (pt_iter.h) ---------------------------------------------------------------------

  private firstIndex(range: Range, level: number): number {
    const isz = SMALL[this.f.itemLg2(level)]!;
    if (level === range.topLevel) return Number((range.va & lowMask(range.maxVaszLg2)) >> isz);
    return Number((range.va >> isz) & lowMask(this.f.numItemsLg2(level)));
  }

  private endIndex(range: Range, level: number, index: number): number {
    if (range.va === range.last) return index + 1;
    const isz = SMALL[this.f.itemLg2(level)]!;
    if (level === range.topLevel) return Number((range.last & lowMask(range.maxVaszLg2)) >> isz) + 1;
    const n = this.f.numItemsLg2(level);
    const span = SMALL[this.f.itemLg2(level) + n]!;
    if (range.va >> span === range.last >> span) return Number((range.last >> isz) & lowMask(n)) + 1;
    return 1 << n;
  }

  /** pt_index_to_va: move range.va to the start of item `index` of the current table. */
  private indexToVa(range: Range, level: number, index: number): void {
    const isz = this.f.itemLg2(level);
    const tableLg2 = Math.min(isz + this.f.numItemsLg2(level), 64);
    range.va = (range.va & HIGH_MASKS[tableLg2]!) | (BigInt(index) << SMALL[isz]!);
  }

  /** pt_entry_fully_covered */
  private fullyCovered(range: Range, oaszLg2: number): boolean {
    const lg2 = SMALL[oaszLg2]!;
    const mask = lowMask(oaszLg2);
    if ((range.va & mask) !== 0n) return false;
    if (range.va >> lg2 !== range.last >> lg2) return true;
    return (range.last & mask) === mask;
  }

  // --- map (iommu_pt.h @ 8ef3f77c: map_range, check_map_range, do_map and the level walkers) ------------

  /**
   * NS(map_range): maps [iova, iova+len) to pa with the largest page sizes alignment allows. Returns 0 or a
   * negative errno and the bytes installed; on error the core (iommu_map_nosync) unmaps exactly those.
   * Top growth for the whole range happens first (check_map_range), so under fail-nth the new tops are the
   * first allocations, then the interior tables in VA order, as upstream.
   */
  map(iova: bigint, pa: bigint, len: bigint, prot: number, gfp: Gfp): { ret: number; mapped: bigint } {
    const walk = this.k.restarts.take<MapPosition>(this) ?? this.startMap(iova, pa, len, prot, gfp);
    if (typeof walk === 'number') return { ret: walk, mapped: 0n };
    const { range, map } = walk;
    const ret = this.doMap(range, walk.singlePage, map);
    // Table levels were freed and replaced with large items, flush any walk cache that may refer to them.
    if (map.gather.freelist.length > 0) this.cfg.driverOps.iotlbSync(map.gather);
    return { ret, mapped: map.oa - pa };
  }

  /** map_range up to do_map: the checks, the leaf size, the top grown to fit. A negative errno on failure. */
  private startMap(iova: bigint, pa: bigint, len: bigint, prot: number, gfp: Gfp): MapPosition | number {
    const bitmap = this.pgsizeBitmap;
    if (this.k.WARN_ON(!(prot & (IOMMU_READ | IOMMU_WRITE)))) return -Errno.EINVAL;
    // Check the paddr doesn't exceed what the table can store
    if (this.maxOaszLg2 !== 64 && pa >> BigInt(this.maxOaszLg2) !== 0n) return -Errno.ERANGE;
    // make_range_no_check
    if (len === 0n) return -Errno.EINVAL;
    if (iova + len - 1n > U64_MAX) return -Errno.EOVERFLOW;
    const range = this.makeRange(iova, iova + len - 1n);
    const map: MapArgs = {
      gather: iommu_iotlb_gather_init(),
      attrs: this.f.attrsFromProt(prot, this.features),
      gfp,
      oa: pa,
      leafLg2: 0,
      leafLevel: 0,
      numLeaves: 0,
    };
    // Calculate target page size and level for the leaves
    let singlePage = false;
    if (len === PAGE_SIZE && (bitmap & PAGE_SIZE) !== 0n) {
      if (((iova | pa) & (PAGE_SIZE - 1n)) !== 0n) return -Errno.ENXIO;
      map.leafLg2 = PAGE_SHIFT;
      map.numLeaves = 1;
      singlePage = true;
    } else {
      map.leafLg2 = computeBestPgsize(bitmap, range.va, range.last, pa);
      if (!map.leafLg2) return -Errno.ENXIO;
      map.leafLevel = this.pgszLg2ToLevel(map.leafLg2);
      map.numLeaves = pgszCount(bitmap, range.va, range.last, pa, map.leafLg2);
    }
    const ret = this.checkMapRange(range, map);
    if (ret) return ret;
    invariant(map.leafLevel <= range.topLevel, 'leaf level above the top after check_map_range');
    return { walk: this, range, map, singlePage };
  }

  /** pt_pgsz_lg2_to_level (pt_fmt_defaults.h): 9 VA bits per level above the granule. */
  private pgszLg2ToLevel(lg2: number): number {
    return Math.floor((lg2 - this.f.granuleLg2) / (this.f.granuleLg2 - 3));
  }

  /** check_map_range: grow the top until the whole range fits and the first leaf level exists. */
  private checkMapRange(range: Range, map: MapArgs): Ret {
    let ret: Ret;
    do {
      ret = this.checkRange(range);
      if (!this.feature(PtFeature.DYNAMIC_TOP)) return ret;
      if (!ret && map.leafLevel <= range.topLevel) break;
      ret = this.k.call(F.increase_top, () => this.increaseTop(range, map));
      if (ret && ret !== -Errno.EAGAIN) return ret;
      // Reload the new top
      Object.assign(range, this.makeRange(range.va, range.last));
    } while (ret);
    return 0;
  }

  /**
   * increase_top: add tables above the top, as many levels as the range needs, each linking the one below
   * at index 0; then one change_top with the final top. A failed allocation frees the new tops in order.
   */
  private increaseTop(range: Range, map: MapArgs): Ret {
    const freeList: bigint[] = [];
    let table = this.topTable;
    let level = this.topLevel;
    for (;;) {
      const probe = this.makeRangeAt(level, range.va, range.last);
      if (!this.checkRange(probe) && map.leafLevel <= level) break;
      level++;
      if (level > this.f.maxTopLevel || this.f.itemLg2(level) >= this.maxVaszLg2) {
        for (const t of freeList) iommu_free_pages(this.k, t);
        return -Errno.ERANGE;
      }
      const mem = iommu_alloc_pages_node_sz(this.k, this.cfg.nid, map.gfp, 1n << BigInt(this.f.tablememLg2));
      if (mem === null) {
        for (const t of freeList) iommu_free_pages(this.k, t);
        return -Errno.ENOMEM;
      }
      freeList.push(mem);
      this.words(mem)[0] = this.f.tableEntry(level, virt_to_phys(table));
      table = mem;
    }
    if (table === this.topTable) return -Errno.EAGAIN;
    // No flush for change_top: a walk cache hit stays correct and new IOVA under the new top is non-present.
    this.cfg.driverOps.changeTop(virt_to_phys(table), level);
    this.topTable = table;
    this.topLevel = level;
    return 0;
  }

  /** do_map: the 4K fast path over existing tables, else the full walk, re-dispatched on -EAGAIN. */
  private doMap(range: Range, singlePage: boolean, map: MapArgs): Ret {
    if (singlePage) {
      const ret = this.mapSinglePage(range, map, range.topLevel, range.top);
      if (ret !== -Errno.EAGAIN) return ret;
    }
    let ret: Ret;
    do {
      ret =
        map.leafLevel === range.topLevel
          ? this.mapRangeLeaf(range, map, range.topLevel, range.top)
          : this.mapRange(range, map, range.topLevel, range.top);
    } while (ret === -Errno.EAGAIN);
    return ret;
  }

  /** __map_single_page: one 4K leaf into tables that already exist; anything else is -EAGAIN. */
  private mapSinglePage(range: Range, map: MapArgs, level: number, table: bigint): Ret {
    const index = this.firstIndex(range, level);
    const entry = this.entryAt(tablePfn(table), index);
    const type = this.f.entryType(entry, level);
    if (level === 0) {
      if (type !== EntryType.EMPTY) return -Errno.EADDRINUSE;
      this.words(table)[index] = this.f.leafEntry(map.oa, PAGE_SHIFT, 0, map.attrs);
      map.oa += PAGE_SIZE;
      return 0;
    }
    if (type === EntryType.TABLE) return this.mapSinglePage(range, map, level - 1, this.f.tablePa(entry) + PAGE_OFFSET);
    return -Errno.EAGAIN;
  }

  /** __map_range: descend toward the leaf level, allocating missing tables (pt_iommu_new_table). */
  private mapRange(range: Range, map: MapArgs, level: number, table: bigint): Ret {
    const pfn = tablePfn(table);
    let index = this.firstIndex(range, level);
    const end = this.endIndex(range, level, index);
    for (;;) {
      // No view of the table is held across the calls below: a sweep may fork the machine at a restart
      // point in them, and a view from before would then write the fork's page, not this side's copy.
      const entry = this.entryAt(pfn, index);
      const type = this.f.entryType(entry, level);
      let lower: bigint;
      if (type !== EntryType.TABLE) {
        if (type !== EntryType.EMPTY) return -Errno.EADDRINUSE;
        // range.va lies in this item, so a walk from the top with this range and map comes back here.
        if (this.k.restarts.wanted) this.k.restarts.point({ walk: this, range, map, singlePage: false });
        const mem = iommu_alloc_pages_node_sz(this.k, this.cfg.nid, map.gfp, 1n << BigInt(this.f.tablememLg2));
        if (mem === null) return -Errno.ENOMEM;
        this.k.mem.page(pfn)[index] = this.f.tableEntry(level, virt_to_phys(mem));
        lower = mem;
      } else {
        lower = this.f.tablePa(entry) + PAGE_OFFSET;
      }
      let ret: Ret;
      do {
        ret =
          map.leafLevel === level - 1
            ? this.mapRangeLeaf(range, map, level - 1, lower)
            : this.mapRange(range, map, level - 1, lower);
      } while (ret === -Errno.EAGAIN);
      if (ret) return ret;
      index++;
      this.indexToVa(range, level, index);
      if (index >= end) return 0;
      // The leaf size grew to this level's item: the caller must run __map_range_leaf here.
      if (map.leafLevel === level) return -Errno.EAGAIN;
    }
  }

  /**
   * __map_range_leaf: install map.numLeaves leaves (anything but empty tables in the way is -EADDRINUSE),
   * then compute the next run's size; -EAGAIN when that run starts inside this table.
   *
   * As at 8ef3f77c, the table-end test counts leaves against items, so a contiguous run stops early and is
   * resumed through -EAGAIN (fixed upstream later by "iommupt: Fix the end_index calculation in
   * __map_range_leaf()"); the entries written are the same, only the number of passes differs.
   */
  private mapRangeLeaf(range: Range, map: MapArgs, level: number, table: bigint): Ret {
    const t = this.words(table);
    const t32 = this.words32(table);
    const isz = this.f.itemLg2(level);
    const leafLg2 = map.leafLg2;
    const step = 1 << (leafLg2 - isz);
    const needContig = leafLg2 !== isz;
    const size = 1n << BigInt(leafLg2);
    const startIndex = this.firstIndex(range, level);
    const origEnd = this.endIndex(range, level, startIndex);
    let end = origEnd;
    let numLeaves: number;
    if (startIndex + map.numLeaves < end) {
      // Need to stop in the middle of the table to change sizes
      end = startIndex + map.numLeaves;
      numLeaves = 0;
    } else {
      numLeaves = map.numLeaves - (end - startIndex);
    }
    let oa = map.oa;
    let index = startIndex;
    let ret = 0;
    let written = 0;
    // Entries of a run differ only in their OA field, so each is the previous plus the page size while the
    // OA stays below 2^52 (above it FIELD_PREP would truncate, so fall back to encoding each one). The sum
    // is kept as the entry's two 32-bit halves, numbers, and written through the table's 32-bit view: no
    // bigint per leaf. The OA field ends at bit 51, so the high half never carries out of 32 bits.
    let entry = this.f.leafEntry(oa, leafLg2, level, map.attrs);
    const incremental = oa + BigInt(Math.ceil((end - startIndex) / step)) * size <= 1n << 52n;
    // The low half is kept as an int32 (stored, a Uint32Array takes its bits): a uint32 above 2^31 would be
    // a double, and the optimised loop would deoptimise where the OA first passes it and again at the
    // first carry. The carry is the unsigned compare of the sum with the addend, in int32 by flipping
    // bit 31 of both: no branch that a cold start has not seen taken.
    let lo = Number(entry & 0xffff_ffffn) | 0;
    let hi = Number(entry >> 32n);
    const sizeLo = Number(size & 0xffff_ffffn) | 0;
    const sizeLoFlipped = sizeLo ^ INT32_MIN;
    const sizeHi = Number(size >> 32n);
    // The common run, one-item leaves into empty slots, goes through a loop of its own: a cold process
    // optimises that small loop early, and leaving it deoptimises nothing. The loop below takes over at
    // the first slot in use.
    let runDone = false;
    if (incremental && step === 1 && index < end) {
      index = writeLeafRun(t32, index, end, lo, hi, sizeLo, sizeHi);
      written = index - startIndex;
      runDone = index >= end;
      if (!runDone) {
        entry = this.f.leafEntry(oa + BigInt(written) * size, leafLg2, level, map.attrs);
        lo = Number(entry & 0xffff_ffffn) | 0;
        hi = Number(entry >> 32n);
      }
    }
    if (!runDone)
      do {
        if ((t32[2 * index]! & 1) !== 0 || needContig) {
          if (index !== startIndex) this.indexToVa(range, level, index);
          ret = this.clearContig(range, map.gather, level, table, index, step);
          if (ret) break;
        }
        if (incremental) {
          for (let i = 2 * index, stop = 2 * (index + step); i < stop; i += 2) {
            t32[i] = lo;
            t32[i + 1] = hi;
          }
          lo = (lo + sizeLo) | 0;
          hi += sizeHi + ((lo ^ INT32_MIN) < sizeLoFlipped ? 1 : 0);
        } else {
          if (step === 1) t[index] = entry;
          else t.fill(entry, index, index + step);
          entry = this.f.leafEntry(oa + BigInt(written + 1) * size, leafLg2, level, map.attrs);
        }
        written++;
        index += step;
      } while (index < end);
    oa += BigInt(written) * size;
    map.oa = oa;
    map.numLeaves = numLeaves;
    if (ret || numLeaves) return ret;

    // range.va is not valid if we reached the end of the table
    this.indexToVa(range, level, index - step);
    const lastVa = BigInt.asUintN(64, range.va + size);
    if (BigInt.asUintN(64, lastVa - 1n) === range.last) return 0;

    // Reached a point where the page size changed, compute the new parameters.
    map.leafLg2 = computeBestPgsize(this.pgsizeBitmap, lastVa, range.last, oa);
    // A remainder no page size fits (a length that is not a multiple of the smallest page): 8ef3f77c does not
    // check, and walks on with leaf_pgsize_lg2 = 0 below the leaf level. The kernel API requires aligned
    // lengths, so the model splats and stops where the first run's check would have (-ENXIO).
    if (
      this.k.WARN(
        !map.leafLg2,
        'iommupt: no page size maps the %llu bytes left at 0x%llx\n',
        range.last - lastVa + 1n,
        lastVa,
      )
    )
      return -Errno.ENXIO;
    map.leafLevel = this.pgszLg2ToLevel(map.leafLg2);
    map.numLeaves = pgszCount(this.pgsizeBitmap, lastVa, range.last, oa, map.leafLg2);

    // Didn't finish this table level, caller will repeat it
    if (index !== origEnd) {
      this.indexToVa(range, level, index);
      return -Errno.EAGAIN;
    }
    return 0;
  }

  /**
   * clear_contig: the slots a new leaf will occupy must hold nothing but empty tables, which are unlinked
   * and handed to the gather to be freed after the flush.
   */
  private clearContig(
    range: Range,
    gather: IotlbGather,
    level: number,
    table: bigint,
    start: number,
    step: number,
  ): Ret {
    const t = this.words(table);
    const isz = this.f.itemLg2(level);
    const saved = range.va;
    for (let index = start; index < start + step; index++) {
      const entry = t[index]!;
      const type = this.f.entryType(entry, level);
      if (type === EntryType.TABLE) {
        const lower = this.f.tablePa(entry) + PAGE_OFFSET;
        const freeList: bigint[] = [];
        if (this.collectTables(level - 1, lower, freeList, true)) {
          range.va = saved;
          return -Errno.EADDRINUSE;
        }
        // The table item must be cleared before we can update the gather
        t[index] = 0n;
        freeList.push(lower);
        this.indexToVa(range, level, index);
        this.gatherRangePages(gather, range.va, 1n << BigInt(isz), freeList);
      } else if (type !== EntryType.EMPTY) {
        range.va = saved;
        return -Errno.EADDRINUSE;
      }
    }
    range.va = saved;
    return 0;
  }

  /** __collect_tables: every table below `table`; with checkMapped, any leaf is an error (returns true). */
  private collectTables(level: number, table: bigint, into: bigint[], checkMapped: boolean): boolean {
    if (!checkMapped && level === 0) return false;
    // Read only: collecting changes nothing, so a table shared with a sweep's checkpoint is not copied.
    const t32 = this.k.mem.peekPage32(tablePfn(table));
    const items = 1 << this.f.numItemsLg2(level);
    for (let index = 0; index < items; index++) {
      const low = t32[2 * index]!;
      const high = t32[2 * index + 1]!;
      if (low === 0 && high === 0) continue;
      const type = this.f.entryTypeOfLow(low, level);
      if (type === EntryType.TABLE) {
        const lower = this.f.tablePa((BigInt(high) << 32n) | BigInt(low)) + PAGE_OFFSET;
        into.push(lower);
        if (this.collectTables(level - 1, lower, into, checkMapped)) return true;
      } else if (type === EntryType.OA && checkMapped) {
        return true;
      }
    }
    return false;
  }

  /**
   * gather_range_pages (8ef3f77c, after b48ca9206138): the range always joins the gather; under
   * FLUSH_RANGE_NO_GAPS a disjoint range first syncs (flushes and re-inits) what was gathered so far.
   */
  private gatherRangePages(gather: IotlbGather, iova: bigint, len: bigint, freeList: bigint[]): void {
    if (this.feature(PtFeature.FLUSH_RANGE_NO_GAPS) && iommu_iotlb_gather_is_disjoint(gather, iova, len))
      this.cfg.driverOps.iotlbSync(gather);
    iommu_iotlb_gather_add_range(gather, iova, len);
    // One at a time: an unmap of a terabyte frees hundreds of thousands of tables, too many to spread.
    for (const page of freeList) gather.freelist.push(page);
  }

  // --- unmap ------------------------------------------------------------------------------------------

  /**
   * unmap_range: clears whole leaves from iova on, stopping at the first hole or at a start inside a leaf;
   * frees lower tables the request covers entirely through the gather. Returns the bytes unmapped.
   */
  unmap(iova: bigint, len: bigint, gather: IotlbGather): bigint {
    if (len === 0n || iova + len - 1n > U64_MAX) return 0n;
    const range = this.makeRange(iova, iova + len - 1n);
    if (this.checkRange(range)) return 0n;
    const args: UnmapArgs = { freeList: [], unmapped: 0n };
    this.unmapRange(range, args, range.topLevel, this.topTable);
    // The gather covers what was unmapped, not what was asked (ee6e69d03255)
    this.gatherRangePages(gather, iova, args.unmapped, args.freeList);
    return args.unmapped;
  }

  /**
   * __unmap_range. Entries are read through a read-only view and the table is written only where it
   * changes, so a table shared with a sweep's checkpoint is copied only then, and one whose leaves all go is
   * zeroed by dropping its page (the same zeros, without copying or storing 512 of them).
   */
  private unmapRange(range: Range, args: UnmapArgs, level: number, table: bigint): Ret {
    const pfn = tablePfn(table);
    let t32 = this.k.mem.peekPage32(pfn);
    const isz = this.f.itemLg2(level);
    const start = this.firstIndex(range, level);
    const end = this.endIndex(range, level, start);
    let index = start;
    let numOas = 0;
    let ret = 0;
    let type = this.f.entryTypeOfLow(t32[2 * index]!, level);
    // A start in the middle of a large leaf removes nothing: the API cannot split pages.
    if (type === EntryType.OA) {
      const contig = this.f.numContigLg2OfLow(t32[2 * index]!, t32[2 * index + 1]!, level);
      if ((range.va & lowMask(isz + contig)) !== 0n) return -Errno.EINVAL;
    }
    for (;;) {
      if (type !== EntryType.OA) {
        if (type !== EntryType.TABLE) {
          ret = -Errno.EINVAL;
          break;
        }
        if (index !== start) this.indexToVa(range, level, index);
        const entry = (BigInt(t32[2 * index + 1]!) << 32n) | BigInt(t32[2 * index]!);
        const lower = this.f.tablePa(entry) + PAGE_OFFSET;
        const fullyCovered = this.fullyCovered(range, isz);
        ret = this.unmapRange(range, args, level - 1, lower);
        if (ret) break;
        if (fullyCovered) {
          args.freeList.push(lower);
          t32 = this.clearItems(pfn, index, 1);
        }
        index++;
      } else {
        // The whole entry goes even when the request ends inside it; a run of leaves in one pass. A table a
        // sweep's checkpoint shares is counted once for all the runs that unwind it.
        const lead = this.k.mem.sharedPageFact(pfn, this.leadingLeaves);
        const leaves = lead !== undefined && lead >= end ? end - index : countLeaves(this.f, t32, index, end, level);
        t32 = this.clearItems(pfn, index, leaves);
        numOas += leaves;
        index += leaves;
      }
      if (index >= end) break;
      type = this.f.entryTypeOfLow(t32[2 * index]!, level);
    }
    args.unmapped += BigInt(numOas) << BigInt(isz);
    return ret;
  }

  /** Zeroes items [index, index + count) of the table at `pfn`; returns its view for reading on. */
  private clearItems(pfn: number, index: number, count: number): Uint32Array {
    if (index === 0 && count * 8 === PAGE_BYTES) {
      this.k.mem.zeroPages(pfn, 1);
      return this.k.mem.peekPage32(pfn);
    }
    const t32 = this.k.mem.page32(pfn);
    t32.fill(0, 2 * index, 2 * (index + count));
    return t32;
  }

  // --- lookup and teardown ------------------------------------------------------------------------------

  /**
   * iova_to_phys. 0 when nothing is mapped; an IOVA outside the table returns the negative errno as a
   * phys_addr_t (`return ret;` in the C), which this keeps.
   */
  iovaToPhys(iova: bigint): bigint {
    const range = this.makeRange(iova, iova);
    const bad = this.checkRange(range);
    if (bad) return BigInt.asUintN(64, BigInt(bad));
    let level = range.topLevel;
    let table = this.topTable;
    for (;;) {
      const entry = this.entryAt(tablePfn(table), this.firstIndex(range, level));
      const type = this.f.entryType(entry, level);
      if (type === EntryType.EMPTY) return 0n;
      if (type === EntryType.OA) return this.f.entryOa(entry) + (iova & lowMask(this.f.entryOaLg2(entry, level)));
      table = this.f.tablePa(entry) + PAGE_OFFSET;
      level--;
    }
  }

  /** Every table page of the domain, top first (what deinit frees). */
  tablePages(): bigint[] {
    const all = [this.topTable];
    this.collectTables(this.topLevel, this.topTable, all, false);
    return all;
  }

  /** pt_iommu_deinit: frees the top and every table below it; issues no flush. */
  deinit(): void {
    for (const table of this.tablePages()) iommu_free_pages(this.k, table);
  }
}

/**
 * Writes one-item leaves into t32's empty slots from `index` up to `end`, stopping at the first slot in use:
 * the first entry's halves are lo (as an int32) and hi, each next one the previous plus the size (see
 * mapRangeLeaf). Returns where it stopped.
 */
function writeLeafRun(
  t32: Uint32Array,
  index: number,
  end: number,
  lo: number,
  hi: number,
  sizeLo: number,
  sizeHi: number,
): number {
  const sizeLoFlipped = sizeLo ^ INT32_MIN;
  let i = index;
  while (i < end && (t32[2 * i]! & 1) === 0) {
    t32[2 * i] = lo;
    t32[2 * i + 1] = hi;
    lo = (lo + sizeLo) | 0;
    hi += sizeHi + ((lo ^ INT32_MIN) < sizeLoFlipped ? 1 : 0);
    i++;
  }
  return i;
}

/**
 * The items the leaf at `index` and the leaves that follow it up to `end` span (each leaf whole, however
 * many items it spans), stopping at the first entry that is not a leaf.
 */
function countLeaves(f: PtFormat, t32: Uint32Array, index: number, end: number, level: number): number {
  let i = index;
  for (;;) {
    i = oneItemLeavesFrom(f, t32, i, end);
    if (i >= end) break;
    // Not a one-item leaf: a larger leaf (the first entry is a leaf, as the caller saw), or the run's end.
    const low = t32[2 * i]!;
    if (i !== index && f.entryTypeOfLow(low, level) !== EntryType.OA) break;
    i += 1 << f.numContigLg2OfLow(low, t32[2 * i + 1]!, level);
    if (i >= end) break;
  }
  return i - index;
}

/**
 * How many one-item leaves a table starts with. Frozen, so a forked machine shares it, and with it what
 * PhysMemory remembers of each shared page under it.
 */
class LeadingLeaves implements PageFact {
  constructor(private readonly f: PtFormat) {
    Object.freeze(this);
  }

  of(t32: Uint32Array): number {
    return oneItemLeavesFrom(this.f, t32, 0, t32.length / 2);
  }
}

/** Where the run of one-item leaves from `from` ends, `end` at most: told by each entry's low half alone. */
function oneItemLeavesFrom(f: PtFormat, t32: Uint32Array, from: number, end: number): number {
  const { mask, value } = f.oneItemLeafLow;
  let i = from;
  while (i < end && (t32[2 * i]! & mask) === value) i++;
  return i;
}

/** The page frame of a table's kernel VA (tables are one page each); a physical address is below 2^52. */
const tablePfn = (table: bigint): number => Math.floor(Number(table - PAGE_OFFSET) / 4096);

/** pt_compute_best_pgsize: the largest allowed size that va, oa and the length's top bit are aligned to. */
export function computeBestPgsize(bitmap: bigint, va: bigint, last: bigint, oa: bigint): number {
  if (va >= last) return 0;
  const len = last - va + 1n;
  let mask = va | oa;
  if (len !== 1n << 64n) mask |= 1n << BigInt(bitLength(len) - 1);
  const best = mask === 0n ? 64 : lowestBit(mask);
  if (best < 63) bitmap &= lowMask(best + 1);
  const fls = bitLength(bitmap);
  return fls === 0 ? 0 : fls - 1;
}

/**
 * pt_pgsz_count (pt_iter.h): how many `lg2` leaves from va before a bigger allowed size could start, given
 * va and oa are equally offset in it; never past last. u64 arithmetic, as in C.
 */
export function pgszCount(bitmap: bigint, va: bigint, last: bigint, oa: bigint, lg2: number): number {
  let len = BigInt.asUintN(64, last - va + 1n);
  const nextPgsizes = bitmap & ~lowMask(lg2 + 1);
  if (nextPgsizes !== 0n) {
    const next = lowestBit(nextPgsizes);
    if (((va ^ oa) & lowMask(next)) === 0n) {
      const toBoundary = (va | lowMask(next)) - va + 1n;
      if (toBoundary < len) len = toBoundary;
    }
  }
  return Number(len >> BigInt(lg2));
}

/** Bits needed for v >= 0 (fls64), 32 at a time: a map asks for every run of leaves. */
function bitLength(v: bigint): number {
  let n = 0;
  for (; v >= 0x1_0000_0000n; v >>= 32n) n += 32;
  return n + 32 - Math.clz32(Number(v));
}

/** The lowest set bit of v > 0 (ffs64 - 1), 32 bits at a time. */
function lowestBit(v: bigint): number {
  for (let n = 0; ; n += 32, v >>= 32n) {
    const low = Number(v & 0xffff_ffffn);
    if (low !== 0) return n + 31 - Math.clz32(low & -low);
  }
}
