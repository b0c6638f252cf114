import { ErrPtr } from '../linux/kptr.js';
import type { ProtectionDomain } from '../linux/amd/domain.js';
import type { Allocation } from '../mem/ledger.js';
import { enumerateLeaves } from '../pt/enumerate.js';
import type { RunResult } from '../exec/executor.js';

/** The end-state invariants a sweep checks after every run (issue [F]); each can be switched off with a reason. */
export const INVARIANTS = [
  'no_leak',
  'memtype',
  'no_mapping_to_freed',
  'no_linked_table_freed',
  'flush_before_free',
  'no_stale_iotlb',
  'no_bad_free',
  'no_oops',
  'no_warn',
  'ids_balanced',
  'errno_discipline',
] as const;
export type InvariantName = (typeof INVARIANTS)[number];

export interface Violation {
  readonly invariant: InvariantName;
  readonly level: 'error' | 'warning';
  readonly message: string;
}

export interface InvariantOptions {
  readonly disabled: ReadonlySet<InvariantName>;
  /** Opt-in errno discipline: errno names the patch may translate an injected error into (`EBUSY->ENOMEM`). */
  readonly errnoTranslations?: ReadonlyMap<number, readonly number[]>;
}

const hex = (v: bigint): string => `0x${v.toString(16)}`;
const FULL = 1n << 64n;

function liveDomains(run: RunResult): ProtectionDomain[] {
  const out: ProtectionDomain[] = [];
  for (const iommu of run.machine.driver.iommus) {
    const d = iommu.viommu_pdom;
    if (d && !(d instanceof ErrPtr) && !out.includes(d)) out.push(d);
  }
  return out;
}

function overlaps(a: bigint, aSize: bigint, b: bigint, bSize: bigint): boolean {
  return a < b + bSize && b < a + aSize;
}

function blockBytes(a: Allocation): bigint {
  return a.family === 'kmalloc' ? 4096n << BigInt(a.order) : a.bytes;
}

/** kmemleak-style: a live allocation the steps made must be reachable from a live driver object or table. */
function noLeak(run: RunResult): string[] {
  const { k, driver } = run.machine;
  const reachable = new Set<bigint>();
  const markPa = (pa: bigint, size: bigint): void => {
    for (const a of k.ledger.liveAllocations()) if (overlaps(a.pa, blockBytes(a), pa, size)) reachable.add(a.va);
  };
  for (const d of liveDomains(run)) {
    reachable.add(d.va);
    if (!d.amdv1) continue;
    for (const t of d.amdv1.tablePages()) reachable.add(t);
    const { host_pt_root, mode } = d.amdv1.hwInfo();
    for (const leaf of enumerateLeaves(k.mem, host_pt_root, mode)) markPa(leaf.pa, 1n << BigInt(leaf.lg2));
  }
  for (const iommu of driver.iommus) for (const va of iommu.viommu_priv_region) if (va !== null) reachable.add(va);
  return k.ledger
    .liveAllocations()
    .filter((a) => a.step >= 0 && !reachable.has(a.va))
    .map((a) => `unreferenced ${hex(a.bytes)} at ${hex(a.pa)} from ${a.site}`);
}

function memtype(run: RunResult): string[] {
  const { k } = run.machine;
  const out = k.events.flatMap((e) => (e.kind === 'freed_not_wb' ? [`${e.pages} pages at ${hex(e.pa)} freed while ${e.mode}`] : []));
  const live = k.ledger.liveAllocations();
  for (const [pfn, mode] of k.memtypes.nonWb()) {
    const pa = BigInt(pfn) << 12n;
    if (!live.some((a) => overlaps(a.pa, blockBytes(a), pa, 4096n))) {
      out.push(`page ${hex(pa)} left ${mode === 2 ? 'UC_MINUS' : `mode ${mode}`} but not allocated`);
      break;
    }
  }
  return out;
}

function noMappingToFreed(run: RunResult): string[] {
  const { k } = run.machine;
  const out: string[] = [];
  for (const d of liveDomains(run)) {
    if (!d.amdv1) continue;
    const { host_pt_root, mode } = d.amdv1.hwInfo();
    for (const leaf of enumerateLeaves(k.mem, host_pt_root, mode)) {
      if (k.ledger.isFreedPa(leaf.pa)) out.push(`domain ${d.id} maps ${hex(leaf.iova)} to freed memory at ${hex(leaf.pa)}`);
    }
  }
  return out;
}

function noLinkedTableFreed(run: RunResult): string[] {
  const { k } = run.machine;
  const out: string[] = [];
  for (const d of liveDomains(run)) {
    for (const t of d.amdv1?.tablePages() ?? []) if (!k.ledger.lookup(t)) out.push(`domain ${d.id} still links table page at ${hex(t - 0xffff_8880_0000_0000n)}, which was freed`);
  }
  return out;
}

/**
 * Every page that was mapped, unmapped and then freed must have had its unmapped range invalidated, and that
 * invalidation completed, on every IOMMU that may cache the domain, between the unmap and the free.
 */
function flushBeforeFree(run: RunResult): { errors: string[]; warnings: string[] } {
  const { k, driver } = run.machine;
  const errors: string[] = [];
  const warnings: string[] = [];
  const log = k.mapLog;
  const planSteps = run.steps.map((s) => s.step);
  for (const map of log.filter((e) => e.kind === 'map')) {
    // The vIOMMU whose private space the mapping is in: the IOMMU of the step that mapped it.
    const owner = planSteps.find((s) => s.index === map.step)?.action.iommu;
    const iommus = driver.iommus.filter((i) => i.index === owner || i.mmio.cachedDomains.has(map.domainId));
    for (const unmap of log.filter((e) => e.kind === 'unmap' && e.seq > map.seq && e.domainId === map.domainId && overlaps(e.iova, e.size, map.iova, map.size))) {
      const start = unmap.iova > map.iova ? unmap.iova : map.iova;
      const end = unmap.iova + unmap.size < map.iova + map.size ? unmap.iova + unmap.size : map.iova + map.size;
      const pa = map.pa! + (start - map.iova);
      for (const freed of k.ledger.freedAllocations()) {
        if (freed.freed!.seq < unmap.seq || !overlaps(freed.pa, blockBytes(freed), pa, end - start)) continue;
        for (const iommu of iommus) {
          const window = iommu.mmio.executed.filter((c) => c.seq > unmap.seq && c.seq < freed.freed!.seq);
          const invs = window.filter((c) => c.command.op === 'INVALIDATE_IOMMU_PAGES' && c.command.domainId === map.domainId && !c.command.gn);
          const covering = invs.find((c) => c.command.op === 'INVALIDATE_IOMMU_PAGES' && c.command.range.start <= start && c.command.range.start + c.command.range.size >= end);
          const what = `${hex(end - start)} at iova ${hex(start)} (pa ${hex(pa)}) of domain ${map.domainId}`;
          if (!covering) {
            const narrow = invs.some((c) => c.command.op === 'INVALIDATE_IOMMU_PAGES' && overlaps(c.command.range.start, c.command.range.size, start, end - start));
            errors.push(`${what} freed on iommu${iommu.index} ${narrow ? 'after a too-narrow invalidation' : 'with no invalidation executed'}`);
            continue;
          }
          if (!window.some((c) => c.command.op === 'COMPLETION_WAIT' && c.seq > covering.seq)) {
            errors.push(`${what} freed on iommu${iommu.index} before its invalidation was waited for`);
            continue;
          }
          if (covering.command.op === 'INVALIDATE_IOMMU_PAGES' && covering.command.range.size === FULL && end - start < FULL) warnings.push(`${what}: a whole-domain flush where a range would do`);
        }
      }
    }
  }
  return { errors, warnings };
}

function errnoDiscipline(run: RunResult, translations: ReadonlyMap<number, readonly number[]>): string[] {
  const fired = run.machine.k.faults.fired;
  if (fired.length === 0) return [];
  const injected = fired[0]!.value ?? -12; // a NULL from an allocator means -ENOMEM
  const allowed = [injected, ...(translations.get(injected) ?? [])];
  return run.steps.flatMap((r) => {
    const ret = r.rets[r.rets.length - 1];
    return typeof ret === 'number' && ret < 0 && !allowed.includes(ret) ? [`step ${r.step.name} returned ${ret}, but ${injected} was injected`] : [];
  });
}

/** Runs every enabled invariant over a finished run. */
export function checkInvariants(run: RunResult, opts: InvariantOptions): Violation[] {
  const { k, driver } = run.machine;
  const out: Violation[] = [];
  const add = (invariant: InvariantName, messages: readonly string[], level: Violation['level'] = 'error'): void => {
    if (!opts.disabled.has(invariant)) for (const message of messages) out.push({ invariant, level, message });
  };
  add('no_leak', noLeak(run));
  add('memtype', memtype(run));
  add('no_mapping_to_freed', noMappingToFreed(run));
  add('no_linked_table_freed', noLinkedTableFreed(run));
  const flush = flushBeforeFree(run);
  add('flush_before_free', flush.errors);
  add('flush_before_free', flush.warnings, 'warning');
  add('no_stale_iotlb', driver.iommus.flatMap((i) => i.mmio.staleHits.map((h) => `iommu${i.index} served iova ${hex(h.iova)} of domain ${h.domainId} from a stale entry`)));
  add('no_bad_free', k.events.flatMap((e) => (e.kind === 'double_free' || e.kind === 'mismatched_free' || e.kind === 'invalid_free' ? [`${e.kind} of ${hex(e.va)} in ${e.function}`] : [])));
  add('no_oops', run.oopses.map((o) => `${o.message} in ${o.function}`));
  add('no_warn', k.events.flatMap((e) => (e.kind === 'warn' ? [`WARN in ${e.function}`] : [])));
  const ids = driver.g.pdom_ids.allocated().filter((id) => !run.machine.bootDomainIds.includes(id));
  add('ids_balanced', ids.length ? [`domain IDs ${ids.join(', ')} still allocated`] : []);
  if (opts.errnoTranslations) add('errno_discipline', errnoDiscipline(run, opts.errnoTranslations));
  return out;
}
