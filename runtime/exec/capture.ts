import type { Command } from '../hw/commands.js';
import type { HwEvent } from '../hw/events.js';
import type { KernelEvent } from '../linux/events.js';
import { formatReturn } from '../linux/errno.js';
import { ErrPtr } from '../linux/kptr.js';
import { cacheModeName, type CacheModeValue } from '../mem/memtype.js';
import { enumerateLeaves } from '../pt/enumerate.js';
import type { ProtectionDomain } from '../linux/amd/domain.js';
import type { RunResult, StepResult } from './executor.js';

/**
 * The normalised end state of a run: everything a spec can expect, as stable strings in a fixed order, so
 * diffs read well and golden files are byte-identical from run to run.
 */
export interface EndState {
  steps: string[];
  log: string[];
  oops: { message: string; function: string; step: string } | null;
  mappings: Record<string, string[]>;
  memtypes: string[];
  commands: Record<string, string[]>;
  iotlb: Record<string, string[]>;
  leaks: string[];
  freed: string[];
  events: string[];
  faults_fired: string[];
  faults_unfired: number[];
  domain_ids: number[];
  allocations: string[];
}

const hex = (v: bigint | number): string => `0x${v.toString(16)}`;

export function formatRange(start: bigint, size: bigint): string {
  return size === 1n << 64n ? '[all]' : `[${hex(start)}, +${hex(size)})`;
}

export function formatCommand(c: Command): string {
  switch (c.op) {
    case 'COMPLETION_WAIT':
      return `COMPLETION_WAIT${c.store ? ` store=${hex(c.semaphorePa)} data=${hex(c.data)}` : ''}${c.interrupt ? ' interrupt' : ''}`;
    case 'INVALIDATE_IOMMU_PAGES':
      return `INVALIDATE_IOMMU_PAGES domain=${c.domainId} ${formatRange(c.range.start, c.range.size)}${c.pde ? ' pde' : ''}${c.gn ? ` gn pasid=${hex(c.pasid)}` : ''}`;
    case 'INVALIDATE_IOTLB_PAGES':
      return `INVALIDATE_IOTLB_PAGES devid=${hex(c.deviceId)} ${formatRange(c.range.start, c.range.size)}`;
    case 'INVALIDATE_DEVTAB_ENTRY':
      return `INVALIDATE_DEVTAB_ENTRY devid=${hex(c.deviceId)}`;
    case 'INVALIDATE_INTERRUPT_TABLE':
      return `INVALIDATE_INTERRUPT_TABLE devid=${hex(c.deviceId)}`;
    case 'COMPLETE_PPR_REQUEST':
      return `COMPLETE_PPR_REQUEST devid=${hex(c.deviceId)} tag=${c.tag}`;
    case 'INVALIDATE_IOMMU_ALL':
      return 'INVALIDATE_IOMMU_ALL';
  }
}

function formatHwEvent(iommu: number, e: HwEvent): string {
  switch (e.code) {
    case 'ILLEGAL_COMMAND_ERROR':
      return `iommu${iommu} ILLEGAL_COMMAND_ERROR command=${hex(e.commandPa)}`;
    case 'IO_PAGE_FAULT':
      return `iommu${iommu} IO_PAGE_FAULT devid=${hex(e.deviceId)} domain=${e.domainId} address=${hex(e.address)} flags=${hex(e.flags)}`;
    case 'ILLEGAL_DEV_TABLE_ENTRY':
      return `iommu${iommu} ILLEGAL_DEV_TABLE_ENTRY devid=${hex(e.deviceId)} address=${hex(e.address)}`;
  }
}

function formatKernelEvent(e: KernelEvent): string {
  switch (e.kind) {
    case 'warn':
      return `WARN in ${e.function}${e.message ? `: ${e.message}` : ''}`;
    case 'freed_not_wb':
      return `freed while ${e.mode}: pa=${hex(e.pa)} pages=${e.pages} in ${e.function}`;
    default:
      return `${e.kind} (${e.family}) of ${hex(e.va)} in ${e.function}${e.allocatedBy ? `, allocated at ${e.allocatedBy}` : ''}`;
  }
}

function formatStep(r: StepResult): string {
  const s = r.step;
  const label = s.action.kind === 'call' ? s.action.fn : s.action.kind;
  if (r.access) return `${s.name}: ${label} ${hex(s.action.iova ?? 0n)} -> ${r.access.ok ? `${hex(r.access.pa)}${r.access.fromIotlb ? ' iotlb' : ''}${r.access.stale ? ' STALE' : ''}` : `fault ${r.access.fault}`}`;
  const shown = r.rets.map((v) => (v === null ? 'void' : typeof v === 'bigint' ? hex(v) : formatReturn(v)));
  const runs: string[] = [];
  for (let i = 0; i < shown.length; ) {
    let j = i;
    while (j < shown.length && shown[j] === shown[i]) j++;
    runs.push(j - i > 1 ? `${shown[i]} x${j - i}` : shown[i]!);
    i = j;
  }
  return `${s.name}: ${label} -> ${[...runs, ...(r.oops ? ['oops'] : [])].join(', ')}`;
}

function liveDomains(run: RunResult): ProtectionDomain[] {
  const out: ProtectionDomain[] = [];
  for (const iommu of run.machine.driver.iommus) {
    const pdom = iommu.viommu_pdom;
    if (pdom && !(pdom instanceof ErrPtr) && pdom.amdv1 && !out.includes(pdom)) out.push(pdom);
  }
  return out.sort((a, b) => a.id - b.id);
}

/** Mapped ranges of a domain; adjacent leaves of one mapping (same page size and permissions) merge. */
function mappings(run: RunResult, pdom: ProtectionDomain): string[] {
  const { host_pt_root, mode } = pdom.amdv1!.hwInfo();
  const ranges: { iova: bigint; size: bigint; pa: bigint; lg2: number; perm: string }[] = [];
  for (const leaf of enumerateLeaves(run.machine.k.mem, host_pt_root, mode)) {
    const perm = `${leaf.read ? 'r' : ''}${leaf.write ? 'w' : ''}` || '-';
    const last = ranges[ranges.length - 1];
    if (last && last.lg2 === leaf.lg2 && last.perm === perm && last.iova + last.size === leaf.iova && last.pa + last.size === leaf.pa) last.size += 1n << BigInt(leaf.lg2);
    else ranges.push({ iova: leaf.iova, size: 1n << BigInt(leaf.lg2), pa: leaf.pa, lg2: leaf.lg2, perm });
  }
  return ranges.map((r) => formatMapping(r.iova, r.size, r.pa, 1n << BigInt(r.lg2), r.perm));
}

export function formatMapping(iova: bigint, size: bigint, pa: bigint, page: bigint, perm: string): string {
  return `iova=${hex(iova)} size=${hex(size)} pa=${hex(pa)} page=${hex(page)} ${perm}`;
}

export function formatMemtype(pa: bigint, size: bigint, type: string): string {
  return `pa=${hex(pa)} size=${hex(size)} ${type}`;
}

function memtypes(run: RunResult): string[] {
  const out: string[] = [];
  let start = -1;
  let prev = -1;
  let mode: CacheModeValue = 0;
  const flush = (): void => {
    if (start >= 0) out.push(formatMemtype(BigInt(start) << 12n, BigInt(prev - start + 1) << 12n, cacheModeName(mode)));
  };
  for (const [pfn, m] of run.machine.k.memtypes.nonWb()) {
    if (start >= 0 && pfn === prev + 1 && m === mode) {
      prev = pfn;
      continue;
    }
    flush();
    start = prev = pfn;
    mode = m;
  }
  flush();
  return out;
}

export function captureEndState(run: RunResult): EndState {
  const { k, driver } = run.machine;
  const stepName = (i: number): string => run.steps.find((s) => s.step.index === i)?.step.name ?? `#${i + 1}`;
  const first = run.oopses[0];
  const ledger = k.ledger;
  const during = ledger.history.filter((a) => a.step >= 0);
  const hwEvents = driver.iommus.flatMap((iommu, i) => iommu.mmio.events.map((e) => formatHwEvent(i, e.event)));
  const stale = driver.iommus.flatMap((iommu, i) =>
    iommu.mmio.staleHits.map((h) => `iommu${i} stale IOTLB hit domain=${h.domainId} iova=${hex(h.iova)} pa=${hex(h.cachedPa)}${h.targetFreed ? ' (target freed)' : ''}`),
  );
  return {
    steps: run.steps.map(formatStep),
    log: k.log.lines.map((l) => `${l.level}: ${l.text}`),
    oops: first ? { message: first.message, function: first.function, step: stepName(first.step) } : null,
    mappings: Object.fromEntries(liveDomains(run).map((d) => [String(d.id), mappings(run, d)])),
    memtypes: memtypes(run),
    commands: Object.fromEntries(driver.iommus.map((iommu, i) => [String(i), iommu.mmio.executed.map((c) => formatCommand(c.command))])),
    iotlb: Object.fromEntries(
      driver.iommus.map((iommu, i) => [String(i), iommu.mmio.iotlb.snapshot().map((e) => `domain=${e.domainId} iova=${hex(e.pageIova)} size=${hex(1n << BigInt(e.pageLg2))} pa=${hex(e.pa)} ${e.read ? 'r' : ''}${e.write ? 'w' : ''}`)]),
    ),
    leaks: during.filter((a) => !a.freed).map((a) => a.site),
    freed: ledger.history
      .filter((a) => a.freed && a.freed.step >= 0)
      .sort((a, b) => a.freed!.seq - b.freed!.seq)
      .map((a) => a.site),
    events: [...k.events.map(formatKernelEvent), ...hwEvents, ...stale],
    faults_fired: k.faults.fired.map((f) => `${f.point.site}#${f.point.call}`),
    faults_unfired: k.faults.unfiredPlans(),
    domain_ids: driver.g.pdom_ids.allocated(),
    allocations: during.map((a) => `${a.site} #${a.ordinal} pa=${hex(a.pa)} size=${hex(a.bytes)}${a.freed ? ` freed by ${a.freed.by}` : ''}`),
  };
}

