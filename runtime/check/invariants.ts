import { hex } from '../base/format.js';
import type { RunResult } from '../exec/executor.js';
import type { Allocation } from '../mem/ledger.js';
import { cacheModeName, type CacheModeValue } from '../mem/memtype.js';
import type { IommuView } from '../vendor/view.js';
import { virt_to_phys } from '../mem/direct-map.js';
import type { InvariantOptions } from '../plan/plan.js';

/**
 * The end-state invariants that judge the driver after a run (every run of a sweep): one registry, from
 * which the spec schema's `disable` names and the README's table are derived. Adding an invariant is one
 * row here.
 */

export interface Violation {
  readonly invariant: InvariantName;
  readonly level: 'error' | 'warning';
  readonly message: string;
}

/** Violations of one level as sweep rows, the `invariants:` expectation and `record` print them. */
export function violationLines(violations: readonly Violation[], level: Violation['level']): string[] {
  return violations.filter((v) => v.level === level).map((v) => `${v.invariant}: ${v.message}`);
}

interface Findings {
  readonly errors: readonly string[];
  readonly warnings?: readonly string[];
}

export interface InvariantDef {
  readonly doc: string;
  /** Opt-in invariants run only when the plan enables them (the spec configures them). */
  readonly optIn?: boolean;
  check(run: RunResult, opts: InvariantOptions): Findings;
}

function overlaps(a: bigint, aSize: bigint, b: bigint, bSize: bigint): boolean {
  return a < b + bSize && b < a + aSize;
}

function blockBytes(a: Allocation): bigint {
  return a.family === 'kmalloc' ? 4096n << BigInt(a.order) : a.bytes;
}

const FULL = 1n << 64n;

/**
 * The live blocks by page frame, for the questions asked once per leaf or per page: which blocks a range of
 * pages touches. A block counts as the whole pages it touches (a kmalloc object as the pages from its
 * address on, as blockBytes says), so the answers are those of `overlaps` on page-aligned ranges. Blocks can
 * overlap (kmalloc objects sharing a page), so a lookup scans back from the last block starting inside the
 * range as far as the largest block reaches.
 */
class LiveBlocks {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private readonly blocks: Allocation[] = [];
  private readonly largest: number = 0;

  constructor(live: readonly Allocation[]) {
    const spans = live.map((a) => {
      const start = Number(a.pa >> 12n);
      return { a, start, end: Number((a.pa + blockBytes(a) + 0xfffn) >> 12n) };
    });
    spans.sort((x, y) => x.start - y.start || x.a.seq - y.a.seq);
    for (const s of spans) {
      this.starts.push(s.start);
      this.ends.push(s.end);
      this.blocks.push(s.a);
      this.largest = Math.max(this.largest, s.end - s.start);
    }
  }

  /** The blocks the page frames [first, end) touch, in no particular order. */
  touching(first: number, end: number): Allocation[] {
    let lo = 0;
    let hi = this.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.starts[mid]! < end) lo = mid + 1;
      else hi = mid;
    }
    const out: Allocation[] = [];
    for (let i = lo - 1; i >= 0 && this.starts[i]! + this.largest > first; i--)
      if (this.ends[i]! > first) out.push(this.blocks[i]!);
    return out;
  }

  /** The first block in allocation order that page frame `pfn` lies in (what `live.find` would give). */
  first(pfn: number): Allocation | undefined {
    const hits = this.touching(pfn, pfn + 1);
    return hits.length <= 1 ? hits[0] : hits.reduce((m, a) => (a.seq < m.seq ? a : m));
  }
}

/**
 * kmemleak-style: the live allocations the steps made that no live driver object or table reaches. Both
 * `no_leak` and `memtype` ask, and the answer walks every leaf of every domain: it is worked out once per
 * run (the checks see a run once it ended, and a step's `check:` gets a run object of its own, made then).
 */
function leakedAllocations(run: RunResult): Allocation[] {
  let leaked = leakedByRun.get(run);
  if (leaked === undefined) leakedByRun.set(run, (leaked = findLeaked(run)));
  return leaked;
}

const leakedByRun = new WeakMap<RunResult, Allocation[]>();

function findLeaked(run: RunResult): Allocation[] {
  const { k } = run.machine;
  const view = run.machine.view;
  const reachable = new Set<bigint>();
  const live = k.ledger.liveAllocations();
  const blocks = new LiveBlocks(live);
  const markPa = (pa: bigint, size: bigint): void => {
    for (const a of blocks.touching(Number(pa >> 12n), Number((pa + size + 0xfffn) >> 12n))) reachable.add(a.va);
  };
  for (const d of view.domains()) {
    reachable.add(d.objectVa);
    for (const t of d.tablePages()) reachable.add(t);
    for (const leaf of d.leaves()) markPa(leaf.pa, 1n << BigInt(leaf.lg2));
  }
  for (const va of view.driverReferences()) reachable.add(va);
  return live.filter((a) => a.step >= 0 && !reachable.has(a.va));
}

function noLeak(run: RunResult): Findings {
  return {
    errors: leakedAllocations(run).map((a) => `unreferenced ${hex(a.bytes)} at ${hex(a.pa)} from ${a.site}`),
  };
}

/** Pages not WB: none freed so, none outside an allocation, none in a block nothing references any more. */
function memtype(run: RunResult): Findings {
  const { k } = run.machine;
  const out = k.events.flatMap((e) =>
    e.kind === 'freed_not_wb' ? [`${e.pages} pages at ${hex(e.pa)} freed while ${e.mode}`] : [],
  );
  const blocks = new LiveBlocks(k.ledger.liveAllocations());
  const leaked = leakedAllocations(run);
  // Runs of consecutive pages of one mode and one owner, each reported once with its page count.
  let run0: { pfn: number; pages: number; mode: CacheModeValue; owner: Allocation | undefined } | undefined;
  const report = (): void => {
    if (!run0) return;
    const what = `${run0.pages} pages at ${hex(BigInt(run0.pfn) << 12n)} left ${cacheModeName(run0.mode)}`;
    if (!run0.owner) out.push(`${what} but not allocated`);
    else if (leaked.includes(run0.owner)) out.push(`${what} in a leaked block from ${run0.owner.site}`);
  };
  for (const { start, end, mode } of k.memtypes.nonWbRuns()) {
    for (let pfn = start; pfn < end; pfn++) {
      const owner = blocks.first(pfn);
      if (run0 && pfn === run0.pfn + run0.pages && mode === run0.mode && owner === run0.owner) {
        run0.pages++;
        continue;
      }
      report();
      run0 = { pfn, pages: 1, mode, owner };
    }
  }
  report();
  return { errors: out };
}

function noMappingToFreed(run: RunResult): Findings {
  const { k } = run.machine;
  const out: string[] = [];
  for (const d of run.machine.view.domains()) {
    for (const leaf of d.leaves()) {
      if (k.ledger.isFreedPa(leaf.pa))
        out.push(`domain ${d.id} maps ${hex(leaf.iova)} to freed memory at ${hex(leaf.pa)}`);
    }
  }
  return { errors: out };
}

function noLinkedTableFreed(run: RunResult): Findings {
  const { k } = run.machine;
  const out: string[] = [];
  for (const d of run.machine.view.domains()) {
    for (const t of d.tablePages()) {
      if (!k.ledger.lookup(t))
        out.push(`domain ${d.id} still links table page at ${hex(virt_to_phys(t))}, which was freed`);
    }
  }
  return { errors: out };
}

/**
 * Every page that was mapped, unmapped and then freed must have had its unmapped range invalidated, and that
 * invalidation completed, on every IOMMU that may cache the domain, between the unmap and the free.
 */
function flushBeforeFree(run: RunResult): Findings {
  const { k } = run.machine;
  const errors: string[] = [];
  const warnings: string[] = [];
  const log = k.mapLog;
  const iommus = run.machine.view.iommus();
  for (const map of log.filter((e) => e.kind === 'map')) {
    // The vIOMMU whose private space the mapping is in: the IOMMU of the step that mapped it.
    const owner = run.steps.find((s) => s.step.index === map.step)?.step.action.iommu;
    const reach = iommus.filter((i) => i.index === owner || i.cachesDomain(map.domainId));
    for (const unmap of log.filter(
      (e) =>
        e.kind === 'unmap' &&
        e.seq > map.seq &&
        e.domainId === map.domainId &&
        overlaps(e.iova, e.size, map.iova, map.size),
    )) {
      const start = unmap.iova > map.iova ? unmap.iova : map.iova;
      const end = unmap.iova + unmap.size < map.iova + map.size ? unmap.iova + unmap.size : map.iova + map.size;
      const pa = map.pa! + (start - map.iova);
      for (const freed of k.ledger.freedAllocations()) {
        if (freed.freed!.seq < unmap.seq || !overlaps(freed.pa, blockBytes(freed), pa, end - start)) continue;
        for (const iommu of reach) {
          const window = iommu.executed().filter((c) => c.seq > unmap.seq && c.seq < freed.freed!.seq);
          const invs = window.flatMap((c) =>
            c.effect.kind === 'invalidate' && c.effect.domainId === map.domainId && !c.effect.guest
              ? [{ seq: c.seq, ...c.effect }]
              : [],
          );
          const covering = invs.find((c) => c.start <= start && c.start + c.size >= end);
          const what = `${hex(end - start)} at iova ${hex(start)} (pa ${hex(pa)}) of domain ${map.domainId}`;
          if (!covering) {
            const narrow = invs.some((c) => overlaps(c.start, c.size, start, end - start));
            errors.push(
              `${what} freed on iommu${iommu.index} ${narrow ? 'after a too-narrow invalidation' : 'with no invalidation executed'}`,
            );
            continue;
          }
          if (!window.some((c) => c.effect.kind === 'wait' && c.seq > covering.seq)) {
            errors.push(`${what} freed on iommu${iommu.index} before its invalidation was waited for`);
            continue;
          }
          if (covering.size === FULL && end - start < FULL)
            warnings.push(`${what}: a whole-domain flush where a range would do`);
        }
      }
    }
  }
  return { errors, warnings };
}

/**
 * Every range unmapped from a nest parent is invalidated, and the invalidation waited for, before the unmap's
 * step ends, on every IOMMU and under every domain ID with which that IOMMU may cache translations of the
 * parent's table: each device-table entry the IOMMU was told to fetch (INVALIDATE_DEVTAB_ENTRY) before the
 * unmap that named the parent's root, with its domain ID: an attached device's (the parent's ID), the
 * translate DTE's (the parent's ID, behind an IOMMU that need not be in the parent's iommu_array: bug 6) and
 * a nested DTE's (an hDomID). An entry that stopped naming the root still counts until a whole-tag
 * invalidation after it. Not caught: a DTE the driver never invalidated, and a table that grew a level
 * (the entries keep naming the old root, so they no longer match; bug 6's stale root is a separate fault).
 */
function nestParentFlushed(run: RunResult): Findings {
  const { k } = run.machine;
  const view = run.machine.view;
  const parents = new Set(view.nestParentIds());
  const errors: string[] = [];
  const unmaps = k.mapLog.filter((e) => e.kind === 'unmap' && parents.has(e.domainId) && e.rootPa !== undefined);
  if (unmaps.length === 0) return { errors };
  for (const iommu of view.iommus()) {
    const executed = iommu.executed();
    for (const unmap of unmaps) {
      // The domain IDs under which this IOMMU may hold translations of the table at the unmap.
      const current = new Map<number, { domainId: number; rootPa: bigint } | undefined>();
      const tags = new Map<number, number>(); // tag -> seq the last reader ended (Infinity while live)
      for (const c of executed) {
        if (c.seq > unmap.seq) break;
        if (c.effect.kind === 'device_entry') {
          const before = current.get(c.effect.deviceId);
          if (before && before.rootPa === unmap.rootPa) tags.set(before.domainId, c.seq);
          current.set(c.effect.deviceId, c.effect.translates);
        } else if (c.effect.kind === 'invalidate' && !c.effect.guest && c.effect.size === FULL) {
          const ended = tags.get(c.effect.domainId);
          if (ended !== undefined && ended < c.seq) tags.delete(c.effect.domainId);
        }
      }
      for (const t of current.values()) if (t && t.rootPa === unmap.rootPa) tags.set(t.domainId, Infinity);
      const end = unmap.iova + unmap.size;
      const window = executed.filter((c) => c.seq > unmap.seq && c.step === unmap.step);
      for (const tag of [...tags.keys()].sort((a, b) => a - b)) {
        const what = `${hex(unmap.size)} at iova ${hex(unmap.iova)} unmapped from nest parent ${unmap.domainId}`;
        const covering = window.find(
          (c) =>
            c.effect.kind === 'invalidate' &&
            !c.effect.guest &&
            c.effect.domainId === tag &&
            c.effect.start <= unmap.iova &&
            c.effect.start + c.effect.size >= end,
        );
        if (!covering) errors.push(`${what}: iommu${iommu.index} never invalidated it under domain ID ${tag}`);
        else if (!window.some((c) => c.effect.kind === 'wait' && c.seq > covering.seq))
          errors.push(
            `${what}: iommu${iommu.index} invalidated it under domain ID ${tag} but no completion wait followed`,
          );
      }
    }
  }
  return { errors };
}

function errnoDiscipline(run: RunResult, opts: InvariantOptions): Findings {
  const fired = run.machine.k.faults.fired;
  if (fired.length === 0) return { errors: [] };
  const injected = fired[0]!.value ?? -12; // a NULL from an allocator means -ENOMEM
  const translations = new Map(opts.errnoTranslations ?? []);
  const allowed = [injected, ...(translations.get(injected) ?? [])];
  return {
    errors: run.steps.flatMap((r) => {
      const ret = r.rets[r.rets.length - 1];
      return typeof ret === 'number' && ret < 0 && !allowed.includes(ret)
        ? [`step ${r.step.name} returned ${ret}, but ${injected} was injected`]
        : [];
    }),
  };
}

/** Stale hits grouped by domain and 4 KiB page, in first-hit order: a hardware loop can make thousands. */
function staleFindings(i: IommuView): string[] {
  const pages = new Map<string, { domainId: number; first: bigint; hits: number }>();
  // Hits come in runs on one page (a store loop): the key string is built when the page changes.
  let last: { domainId: number; page: bigint; group: { hits: number } } | undefined;
  for (const h of i.staleHits()) {
    const page = h.iova >> 12n;
    if (last !== undefined && last.domainId === h.domainId && last.page === page) {
      last.group.hits++;
      continue;
    }
    const key = `${h.domainId}:${page}`;
    let group = pages.get(key);
    if (group) group.hits++;
    else pages.set(key, (group = { domainId: h.domainId, first: h.iova, hits: 1 }));
    last = { domainId: h.domainId, page, group };
  }
  return [...pages.values()].map((p) =>
    p.hits === 1
      ? `iommu${i.index} served iova ${hex(p.first)} of domain ${p.domainId} from a stale entry`
      : `iommu${i.index} served ${p.hits} translations in the page of iova ${hex(p.first)} of domain ${p.domainId} from a stale entry`,
  );
}

export const INVARIANTS = {
  no_leak: {
    doc: 'every allocation the steps made that is still live is referenced by a live driver object or page table',
    check: noLeak,
  },
  memtype: {
    doc: 'no page freed while not WB; no page left non-WB that is not allocated or is in a leaked block',
    check: memtype,
  },
  no_mapping_to_freed: { doc: 'no live mapping targets freed memory', check: noMappingToFreed },
  no_linked_table_freed: { doc: 'no freed table is still linked', check: noLinkedTableFreed },
  flush_before_free: {
    doc:
      'every page mapped, unmapped and freed had its unmapped range invalidated, and the invalidation waited for, on every ' +
      'IOMMU that may cache the domain, between the unmap and the free (too narrow: error; a whole-domain flush where a ' +
      'range would do: warning)',
    check: flushBeforeFree,
  },
  nest_parent_flushed: {
    doc:
      'every range unmapped from a nest parent was invalidated and waited for, within the unmap step, on every IOMMU ' +
      "under every domain ID a device-table entry naming the parent's table gave it (attached devices, translate " +
      'DTEs, nested DTEs with their hDomIDs)',
    check: nestParentFlushed,
  },
  no_stale_iotlb: {
    doc: 'no translation was served from a stale IOTLB entry (one finding per stale page)',
    check: (run) => ({ errors: run.machine.view.iommus().flatMap(staleFindings) }),
  },
  no_private_space_fault: {
    doc: 'no store an IOMMU makes into its own private space (a guest DevID/DomID table) faults',
    check: (run) => ({ errors: run.machine.view.iommus().flatMap((i) => i.privateSpaceFaults()) }),
  },
  no_guest_residue: {
    doc:
      'a guest that is gone (its guest ID free again) leaves no DevID/DomID table mapped in the private space (nor ' +
      'its pages UC), no guest queue enabled and no translate devid in VF_CNTL, no device whose dev_data or DTE ' +
      'still names its guest ID, and no translating DTE that no attached device or live vIOMMU owns (its translate DTE)',
    check: (run) => ({ errors: run.machine.view.iommus().flatMap((i) => i.guestResidue()) }),
  },
  guest_ids_balanced: {
    doc:
      'every allocated guest ID and every allocated translate devid belongs to a live vIOMMU object, and every ' +
      'live vIOMMU object holds an allocated one of each',
    check: (run) => ({ errors: run.machine.view.iommus().flatMap((i) => i.guestIdImbalance()) }),
  },
  vdevice_mappings: {
    doc:
      "a live guest's DevID table (read through the private space) maps each of its live vDEVICEs' virt_id to the " +
      "device's DevID and holds no other mapping (a virt_id beyond 16 bits has no entry)",
    check: (run) => ({ errors: run.machine.view.iommus().flatMap((i) => i.vdeviceMismatches()) }),
  },
  no_bad_free: {
    doc: 'no double, mismatched or invalid free',
    check: (run) => ({
      errors: run.machine.k.events.flatMap((e) =>
        e.kind === 'double_free' || e.kind === 'mismatched_free' || e.kind === 'invalid_free'
          ? [`${e.kind} of ${hex(e.va)} in ${e.function}`]
          : [],
      ),
    }),
  },
  no_use_after_free: {
    doc: 'no load from a freed kmalloc object (what KASAN reports as slab-use-after-free)',
    check: (run) => ({
      errors: run.machine.k.events.flatMap((e) =>
        e.kind === 'use_after_free' ? [`${e.field} of ${hex(e.va)} read in ${e.function} after ${e.freedBy}`] : [],
      ),
    }),
  },
  no_oops: {
    doc: 'no step oopsed',
    check: (run) => ({ errors: run.oopses.map((o) => `${o.message} in ${o.function}`) }),
  },
  no_warn: {
    doc: 'no WARN fired',
    check: (run) => ({
      errors: run.machine.k.events.flatMap((e) => (e.kind === 'warn' ? [`WARN in ${e.function}`] : [])),
    }),
  },
  ids_balanced: {
    doc: 'no domain ID left allocated beyond those taken at boot',
    check: (run) => {
      const view = run.machine.view;
      const ids = view.allocatedDomainIds().filter((id) => !view.bootDomainIds.includes(id));
      return { errors: ids.length ? [`domain IDs ${ids.join(', ')} still allocated`] : [] };
    },
  },
  errno_discipline: {
    doc: 'a failing step returns the injected errno or a listed translation (`EBUSY->ENOMEM`)',
    optIn: true,
    check: errnoDiscipline,
  },
} as const satisfies Readonly<Record<string, InvariantDef>>;

export type InvariantName = keyof typeof INVARIANTS;

export const INVARIANT_NAMES = Object.keys(INVARIANTS) as readonly InvariantName[];

/** Runs every enabled invariant over a finished run. */
export function checkInvariants(run: RunResult, opts: InvariantOptions): Violation[] {
  const out: Violation[] = [];
  for (const name of INVARIANT_NAMES) {
    const def: InvariantDef = INVARIANTS[name];
    if (opts.disabled.includes(name)) continue;
    if (def.optIn && !opts.enabled?.includes(name)) continue;
    const found = def.check(run, opts);
    for (const message of found.errors) out.push({ invariant: name, level: 'error', message });
    for (const message of found.warnings ?? []) out.push({ invariant: name, level: 'warning', message });
  }
  return out;
}
