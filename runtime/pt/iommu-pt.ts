import { PAGE_OFFSET, virt_to_phys } from '../mem/direct-map.js';
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
import { invariant } from '../base/model-bug.js';
import { EntryType, IOMMU_READ, IOMMU_WRITE, lowMask, PtFeature } from './defs.js';
import type { PtFormat } from './format.js';
import { MAINLINE, portedFrom } from '../linux/ported.js';

const F = portedFrom(MAINLINE, 'drivers/iommu/generic_pt/iommu_pt.h', ['pt_iommu_amdv1_init', 'increase_top']);

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
  /** The domain's iotlb_sync: flush the gathered range, then free the gathered table pages. */
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
}

const U64_MAX = (1n << 64n) - 1n;

/** pt_range: a walk's VA window; `va` moves as the walk advances, exactly like the C struct. */
interface Range {
  va: bigint;
  last: bigint;
  readonly topLevel: number;
  readonly maxVaszLg2: number;
}

interface MapArgs {
  readonly gather: IotlbGather;
  readonly attrs: bigint;
  readonly gfp: Gfp;
  oa: bigint;
  readonly leafLg2: number;
  readonly leafLevel: number;
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

  private constructor(
    private readonly k: Kernel,
    private readonly cfg: PtConfig,
    maxVaszLg2: number,
  ) {
    this.f = cfg.fmt;
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
    // pt_iommu_init_domain: the sizes every reachable level can hold, below the maximum OA
    let bitmap = 0n;
    const lastLevel = pt.features & PtFeature.DYNAMIC_TOP ? f.maxTopLevel : pt.topLevel;
    for (let level = 0; level <= lastLevel; level++) {
      if (pt.features & PtFeature.DYNAMIC_TOP && f.itemLg2(level) >= pt.maxVaszLg2) break;
      bitmap |= f.possibleSizes(level);
    }
    pt.pgsizeBitmap = bitmap & lowMask(pt.maxOaszLg2);
    (pt as { apertureEnd: bigint }).apertureEnd = lowMask(
      pt.features & PtFeature.DYNAMIC_TOP ? pt.maxVaszLg2 : pt.topRangeMaxVasz(pt.topLevel),
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
    if (this.cfg.features & PtFeature.DYNAMIC_TOP && level !== this.f.maxTopLevel) {
      return Math.min(this.maxVaszLg2, this.f.numItemsLg2(level) + this.f.itemLg2(level));
    }
    return this.maxVaszLg2;
  }

  private makeRange(va: bigint, last: bigint): Range {
    return { va, last, topLevel: this.topLevel, maxVaszLg2: this.topRangeMaxVasz(this.topLevel) };
  }

  /** pt_check_range: both ends inside the VA the current top translates. */
  private checkRange(range: Range): Ret {
    const limit = range.maxVaszLg2;
    if (limit < 64 && (range.va >> BigInt(limit) !== 0n || range.last >> BigInt(limit) !== 0n)) return -Errno.ERANGE;
    return 0;
  }

  // --- table memory -------------------------------------------------------------------------------------

  private words(table: bigint): BigUint64Array {
    return this.k.mem.page(Number((table - PAGE_OFFSET) >> 12n));
  }

  // --- iteration helpers (pt_iter.h) ---------------------------------------------------------------------

  private firstIndex(range: Range, level: number): number {
    const isz = BigInt(this.f.itemLg2(level));
    if (level === range.topLevel) return Number((range.va & lowMask(range.maxVaszLg2)) >> isz);
    return Number((range.va >> isz) & lowMask(this.f.numItemsLg2(level)));
  }

  private endIndex(range: Range, level: number, index: number): number {
    if (range.va === range.last) return index + 1;
    const isz = BigInt(this.f.itemLg2(level));
    if (level === range.topLevel) return Number((range.last & lowMask(range.maxVaszLg2)) >> isz) + 1;
    const n = this.f.numItemsLg2(level);
    const span = isz + BigInt(n);
    if (range.va >> span === range.last >> span) return Number((range.last >> isz) & lowMask(n)) + 1;
    return 1 << n;
  }

  /** pt_index_to_va: move range.va to the start of item `index` of the current table. */
  private indexToVa(range: Range, level: number, index: number): void {
    const isz = this.f.itemLg2(level);
    const tableLg2 = Math.min(isz + this.f.numItemsLg2(level), 64);
    range.va = (range.va & ~lowMask(tableLg2) & U64_MAX) | (BigInt(index) << BigInt(isz));
  }

  /** pt_entry_fully_covered */
  private fullyCovered(range: Range, oaszLg2: number): boolean {
    const lg2 = BigInt(oaszLg2);
    if ((range.va & lowMask(oaszLg2)) !== 0n) return false;
    if (range.va >> lg2 !== range.last >> lg2) return true;
    return (range.last & lowMask(oaszLg2)) === lowMask(oaszLg2);
  }

  // --- map --------------------------------------------------------------------------------------------

  /**
   * Maps [iova, iova+len) to pa with the largest page sizes alignment allows. Returns 0 or a negative errno
   * and the bytes installed; on error the caller (iommu_map) unmaps exactly those bytes.
   */
  map(iova: bigint, pa: bigint, len: bigint, prot: number, gfp: Gfp): { ret: number; mapped: bigint } {
    if (this.k.WARN_ON(!(prot & (IOMMU_READ | IOMMU_WRITE)))) return { ret: -Errno.EINVAL, mapped: 0n };
    if (pa >> BigInt(this.maxOaszLg2) !== 0n) return { ret: -Errno.ERANGE, mapped: 0n };
    if (len === 0n) return { ret: -Errno.EINVAL, mapped: 0n };
    if (iova + len - 1n > U64_MAX) return { ret: -Errno.EOVERFLOW, mapped: 0n };
    const attrs = this.f.attrsFromProt(prot, this.features);
    const gather = iommu_iotlb_gather_init();
    let mapped = 0n;
    let ret = 0;
    // One run of equal-size leaves at a time, as iommu_pgsize() chunks a range: the size is the largest
    // allowed one that iova, pa and the remaining length permit, held until a bigger size becomes usable.
    while (mapped < len && ret === 0) {
      const va = iova + mapped;
      const oa = pa + mapped;
      const remaining = len - mapped;
      const leafLg2 = computeBestPgsize(this.pgsizeBitmap, va, va + remaining - 1n, oa);
      if (leafLg2 === 0) {
        ret = -Errno.ENXIO;
        break;
      }
      const runLen = runLength(this.pgsizeBitmap, va, oa, remaining, leafLg2);
      const args: MapArgs = {
        gather,
        attrs,
        gfp,
        oa,
        leafLg2,
        leafLevel: Math.floor((leafLg2 - this.f.granuleLg2) / 9),
      };
      ret = this.mapRun(va, va + runLen - 1n, args);
      mapped += args.oa - oa;
    }
    // Table levels were replaced by large leaves: flush walk caches before their pages go.
    if (gather.freelist.length > 0) this.cfg.driverOps.iotlbSync(gather);
    return { ret, mapped };
  }

  private mapRun(va: bigint, last: bigint, args: MapArgs): Ret {
    let range = this.makeRange(va, last);
    const grow = this.checkMapRange(range, args);
    if (grow) return grow;
    range = this.makeRange(va, last);
    invariant(args.leafLevel <= range.topLevel, 'leaf level above the top after growth');
    if (args.leafLevel === range.topLevel) return this.mapRangeLeaf(range, args, range.topLevel, this.topTable);
    return this.mapRange(range, args, range.topLevel, this.topTable);
  }

  /** check_map_range + increase_top: grow the top until the range fits and the leaf level exists. */
  private checkMapRange(range: Range, args: MapArgs): Ret {
    const ret = this.checkRange(range);
    if (!(this.features & PtFeature.DYNAMIC_TOP)) return ret;
    if (!ret && args.leafLevel <= range.topLevel) return 0;
    return this.k.call(F.increase_top, () => this.increaseTop(range, args));
  }

  private increaseTop(range: Range, args: MapArgs): Ret {
    const newTops: bigint[] = [];
    let table = this.topTable;
    let level = this.topLevel;
    for (;;) {
      const probe: Range = { va: range.va, last: range.last, topLevel: level, maxVaszLg2: this.topRangeMaxVasz(level) };
      if (!this.checkRange(probe) && args.leafLevel <= level) break;
      level++;
      if (level > this.f.maxTopLevel || this.f.itemLg2(level) >= this.maxVaszLg2) {
        for (const t of newTops) iommu_free_pages(this.k, t);
        return -Errno.ERANGE;
      }
      const mem = iommu_alloc_pages_node_sz(this.k, this.cfg.nid, args.gfp, 1n << BigInt(this.f.tablememLg2));
      if (mem === null) {
        for (const t of newTops) iommu_free_pages(this.k, t);
        return -Errno.ENOMEM;
      }
      newTops.push(mem);
      // The new table links to the lower table always at index 0.
      this.words(mem)[0] = this.f.tableEntry(level, virt_to_phys(table));
      table = mem;
    }
    this.cfg.driverOps.changeTop(virt_to_phys(table), level);
    this.topTable = table;
    this.topLevel = level;
    return 0;
  }

  /** __map_range: descend toward the leaf level, allocating missing tables. */
  private mapRange(range: Range, args: MapArgs, level: number, table: bigint): Ret {
    const t = this.words(table);
    let index = this.firstIndex(range, level);
    const end = this.endIndex(range, level, index);
    for (;;) {
      let entry = t[index]!;
      let lower: bigint;
      const type = this.f.entryType(entry, level);
      if (type !== EntryType.TABLE) {
        if (type !== EntryType.EMPTY) return -Errno.EADDRINUSE;
        // pt_iommu_new_table
        const mem = iommu_alloc_pages_node_sz(this.k, this.cfg.nid, args.gfp, 1n << BigInt(this.f.tablememLg2));
        if (mem === null) return -Errno.ENOMEM;
        entry = this.f.tableEntry(level, virt_to_phys(mem));
        t[index] = entry;
        lower = mem;
      } else {
        lower = this.f.tablePa(entry) + PAGE_OFFSET;
      }
      const ret =
        args.leafLevel === level - 1
          ? this.mapRangeLeaf(range, args, level - 1, lower)
          : this.mapRange(range, args, level - 1, lower);
      if (ret) return ret;
      index++;
      this.indexToVa(range, level, index);
      if (index >= end) return 0;
    }
  }

  /** __map_range_leaf: install leaves; anything present in the way is -EADDRINUSE. */
  private mapRangeLeaf(range: Range, args: MapArgs, level: number, table: bigint): Ret {
    const t = this.words(table);
    const t32 = new Uint32Array(t.buffer, t.byteOffset, t.length * 2);
    const isz = this.f.itemLg2(level);
    const step = 1 << (args.leafLg2 - isz);
    const needContig = args.leafLg2 !== isz;
    const start = this.firstIndex(range, level);
    const end = this.endIndex(range, level, start);
    const size = 1n << BigInt(args.leafLg2);
    let oa = args.oa;
    let index = start;
    let ret = 0;
    // Entries of a run differ only in their OA field, so each is the previous plus the page size while the
    // OA stays below 2^52 (above it FIELD_PREP would truncate, so fall back to encoding each one).
    let entry = this.f.leafEntry(oa, args.leafLg2, level, args.attrs);
    const incremental = oa + BigInt(Math.ceil((end - start) / step)) * size <= 1n << 52n;
    do {
      if ((t32[2 * index]! & 1) !== 0 || needContig) {
        if (index !== start) this.indexToVa(range, level, index);
        ret = this.clearContig(range, args.gather, level, table, index, step);
        if (ret) break;
      }
      if (step === 1) t[index] = entry;
      else t.fill(entry, index, index + step);
      oa += size;
      entry = incremental ? entry + size : this.f.leafEntry(oa, args.leafLg2, level, args.attrs);
      index += step;
    } while (index < end);
    args.oa = oa;
    return ret;
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
        t[index] = 0n;
        freeList.push(lower);
        this.indexToVa(range, level, index);
        this.gatherRangePages(gather, range.va, 1n << BigInt(isz), freeList);
      } else if (type !== EntryType.EMPTY) {
        return -Errno.EADDRINUSE;
      }
    }
    range.va = saved;
    return 0;
  }

  /** __collect_tables: every table below `table`; with checkMapped, any leaf is an error (returns true). */
  private collectTables(level: number, table: bigint, into: bigint[], checkMapped: boolean): boolean {
    if (!checkMapped && level === 0) return false;
    const t = this.words(table);
    const items = 1 << this.f.numItemsLg2(level);
    for (let index = 0; index < items; index++) {
      const entry = t[index]!;
      if (entry === 0n) continue;
      const type = this.f.entryType(entry, level);
      if (type === EntryType.TABLE) {
        const lower = this.f.tablePa(entry) + PAGE_OFFSET;
        into.push(lower);
        if (this.collectTables(level - 1, lower, into, checkMapped)) return true;
      } else if (type === EntryType.OA && checkMapped) {
        return true;
      }
    }
    return false;
  }

  /** gather_range_pages */
  private gatherRangePages(gather: IotlbGather, iova: bigint, len: bigint, freeList: bigint[]): void {
    if (this.features & PtFeature.FLUSH_RANGE_NO_GAPS && iommu_iotlb_gather_is_disjoint(gather, iova, len)) {
      this.cfg.driverOps.iotlbSync(gather);
    } else if (this.features & PtFeature.FLUSH_RANGE) {
      iommu_iotlb_gather_add_range(gather, iova, len);
    }
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
    this.gatherRangePages(gather, iova, len, args.freeList);
    return args.unmapped;
  }

  private unmapRange(range: Range, args: UnmapArgs, level: number, table: bigint): Ret {
    const t = this.words(table);
    const t32 = new Uint32Array(t.buffer, t.byteOffset, t.length * 2);
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
        const lower = this.f.tablePa(t[index]!) + PAGE_OFFSET;
        const fullyCovered = this.fullyCovered(range, isz);
        ret = this.unmapRange(range, args, level - 1, lower);
        if (ret) break;
        if (fullyCovered) {
          args.freeList.push(lower);
          t[index] = 0n;
        }
        index++;
      } else {
        // The whole entry goes even when the request ends inside it.
        const n = 1 << this.f.numContigLg2OfLow(t32[2 * index]!, t32[2 * index + 1]!, level);
        if (n === 1) t[index] = 0n;
        else t.fill(0n, index, index + n);
        numOas += n;
        index += n;
      }
      if (index >= end) break;
      type = this.f.entryTypeOfLow(t32[2 * index]!, level);
    }
    args.unmapped += BigInt(numOas) << BigInt(isz);
    return ret;
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
      const entry = this.words(table)[this.firstIndex(range, level)]!;
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

/** pt_compute_best_pgsize: the largest allowed size that va, oa and the length's top bit are aligned to. */
export function computeBestPgsize(bitmap: bigint, va: bigint, last: bigint, oa: bigint): number {
  if (va > last) return 0;
  const len = last - va + 1n;
  let mask = va | oa;
  if (len !== 1n << 64n) mask |= 1n << BigInt(bitLength(len) - 1);
  const best = mask === 0n ? 64 : lowestBit(mask);
  if (best < 63) bitmap &= lowMask(best + 1);
  const fls = bitLength(bitmap);
  return fls === 0 ? 0 : fls - 1;
}

/**
 * How far one size is used before a bigger one becomes possible: iommu_pgsize()'s count. If iova and pa
 * are equally offset in the next bigger page, stop at its boundary when at least one such page follows.
 */
function runLength(bitmap: bigint, iova: bigint, pa: bigint, remaining: bigint, lg2: number): bigint {
  const size = 1n << BigInt(lg2);
  const bigger = bitmap & ~lowMask(lg2 + 1);
  let span = remaining;
  if (bigger !== 0n) {
    const next = 1n << BigInt(lowestBit(bigger));
    if (((iova ^ pa) & (next - 1n)) === 0n) {
      const offset = next - ((iova | pa) & (next - 1n));
      if (offset + next <= remaining) span = offset;
    }
  }
  return (span / size) * size;
}

function bitLength(v: bigint): number {
  return v === 0n ? 0 : v.toString(2).length;
}

function lowestBit(v: bigint): number {
  let n = 0;
  while (((v >> BigInt(n)) & 1n) === 0n) n++;
  return n;
}
