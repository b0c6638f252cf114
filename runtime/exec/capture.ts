import { formatMapping, formatMemtype, formatRange, hex } from '../base/format.js';
import { formatReturn } from '../linux/errno.js';
import type { KernelEvent } from '../linux/events.js';
import type { Allocation } from '../mem/ledger.js';
import { cacheModeName, type CacheModeValue } from '../mem/memtype.js';
import type { CommandEffect, DomainView } from '../vendor/view.js';
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

function formatKernelEvent(e: KernelEvent): string {
  switch (e.kind) {
    case 'warn':
      return `WARN in ${e.function}${e.message ? `: ${e.message}` : ''}`;
    case 'freed_not_wb':
      return `freed while ${e.mode}: pa=${hex(e.pa)} pages=${e.pages} in ${e.function}`;
    case 'use_after_free':
      return `use_after_free of ${hex(e.va)} (${e.field}) in ${e.function}${e.freedBy ? `, freed by ${e.freedBy}` : ''}`;
    case 'double_free':
    case 'mismatched_free':
    case 'invalid_free':
      return `${e.kind} (${e.family}) of ${hex(e.va)} in ${e.function}${e.allocatedBy ? `, allocated at ${e.allocatedBy}` : ''}`;
  }
}

function formatStep(r: StepResult): string {
  const s = r.step;
  const a = s.action;
  const label = a.kind === 'call' ? a.fn : a.kind;
  if (r.notRun) return `${s.name}: ${label} -> not run`;
  if (r.access) {
    const from =
      a.kind === 'guest_commands'
        ? `gid=${hex(a.gid)} ${a.commands.length} commands`
        : hex(a.kind === 'call' ? 0n : a.iova);
    const to = r.access.ok
      ? `${hex(r.access.pa)}${r.access.fromIotlb ? ' iotlb' : ''}${r.access.stale ? ' STALE' : ''}`
      : `fault ${r.access.fault}`;
    return `${s.name}: ${label} ${from} -> ${to}`;
  }
  const shown = r.rets.map((v) => (v === null ? 'void' : typeof v === 'bigint' ? hex(v) : formatReturn(v)));
  const runs: string[] = [];
  for (let i = 0; i < shown.length;) {
    let j = i;
    while (j < shown.length && shown[j] === shown[i]) j++;
    runs.push(j - i > 1 ? `${shown[i]} x${j - i}` : shown[i]!);
    i = j;
  }
  return `${s.name}: ${label} -> ${[...runs, ...(r.oops ? ['oops'] : [])].join(', ')}`;
}

/** Host invalidations merged per domain (`domain=2 [0x0, +0x800000)`), then the device-table entries. */
function summarize(effects: readonly CommandEffect[]): string[] {
  const byDomain = new Map<number, [bigint, bigint][]>();
  const devids = new Set<number>();
  for (const e of effects) {
    if (e.kind === 'device_entry') devids.add(e.deviceId);
    if (e.kind !== 'invalidate' || e.guest) continue;
    const ranges = byDomain.get(e.domainId) ?? [];
    ranges.push([e.start, e.start + e.size]);
    byDomain.set(e.domainId, ranges);
  }
  return [...byDomain.entries()]
    .sort(([a], [b]) => a - b)
    .flatMap(([domain, ranges]) => mergeRanges(ranges).map(([s, e]) => `domain=${domain} ${formatRange(s, e - s)}`))
    .concat([...devids].sort((a, b) => a - b).map((d) => `devid=${hex(BigInt(d))}`));
}

/** Mapped ranges of a domain; adjacent leaves of one mapping (same page size and permissions) merge. */
function mappingLines(d: DomainView): string[] {
  const ranges: { iova: bigint; size: bigint; pa: bigint; lg2: number; perm: string }[] = [];
  for (const leaf of d.leaves()) {
    const perm = `${leaf.read ? 'r' : ''}${leaf.write ? 'w' : ''}` || '-';
    const last = ranges[ranges.length - 1];
    if (
      last &&
      last.lg2 === leaf.lg2 &&
      last.perm === perm &&
      last.iova + last.size === leaf.iova &&
      last.pa + last.size === leaf.pa
    )
      last.size += 1n << BigInt(leaf.lg2);
    else ranges.push({ iova: leaf.iova, size: 1n << BigInt(leaf.lg2), pa: leaf.pa, lg2: leaf.lg2, perm });
  }
  return ranges.map((r) => formatMapping(r.iova, r.size, r.pa, 1n << BigInt(r.lg2), r.perm));
}

/**
 * The end state of one run, computed part by part on first use: a spec that states only the log never
 * walks a page table, and a golden file asks for every part.
 */
export class CapturedState {
  private readonly cache = new Map<keyof EndState, unknown>();

  constructor(readonly run: RunResult) {}

  private once<K extends keyof EndState>(key: K, compute: () => EndState[K]): EndState[K] {
    if (!this.cache.has(key)) this.cache.set(key, compute());
    return this.cache.get(key) as EndState[K];
  }

  private get view() {
    return this.run.machine.view;
  }

  steps(): string[] {
    return this.once('steps', () => this.run.steps.map(formatStep));
  }

  log(): string[] {
    return this.once('log', () => this.view.k.log.lines.map((l) => `${l.level}: ${l.text}`));
  }

  oops(): EndState['oops'] {
    return this.once('oops', () => {
      const first = this.run.oopses[0];
      if (!first) return null;
      const step = this.run.steps.find((s) => s.step.index === first.step)?.step.name ?? `#${first.step + 1}`;
      return { message: first.message, function: first.function, step };
    });
  }

  mappings(): Record<string, string[]> {
    return this.once('mappings', () =>
      Object.fromEntries(this.view.domains().map((d) => [String(d.id), mappingLines(d)])),
    );
  }

  memtypes(): string[] {
    return this.once('memtypes', () => {
      const out: string[] = [];
      let start = -1;
      let prev = -1;
      let mode: CacheModeValue = 0;
      const flush = (): void => {
        if (start >= 0)
          out.push(formatMemtype(BigInt(start) << 12n, BigInt(prev - start + 1) << 12n, cacheModeName(mode)));
      };
      for (const [pfn, m] of this.view.k.memtypes.nonWb()) {
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
    });
  }

  commands(): Record<string, string[]> {
    return this.once('commands', () =>
      Object.fromEntries(this.view.iommus().map((i) => [String(i.index), [...i.commandLines()]])),
    );
  }

  /**
   * Per IOMMU, what a flush really achieved: the host invalidations it executed that an executed completion
   * wait then covered, merged per domain (`domain=2 [0x0, +0x800000)`, `[all]` for a whole-domain flush).
   */
  flushed(): Record<string, string[]> {
    // Not part of EndState: golden files keep the raw command lists, from which this is derived.
    return this.invalidations(true);
  }

  /**
   * Host invalidations an IOMMU executed that no executed completion wait followed, merged the same way;
   * then those still queued in its ring, never executed (`queued domain=2 [...]`, `queued devid=0x10`).
   */
  notFlushed(): Record<string, string[]> {
    const unwaited = this.invalidations(false);
    for (const i of this.view.iommus()) {
      const queued = summarize(i.ring().queued.map((c) => c.effect)).map((l) => `queued ${l}`);
      unwaited[String(i.index)] = [...(unwaited[String(i.index)] ?? []), ...queued];
    }
    return unwaited;
  }

  private invalidations(waited: boolean): Record<string, string[]> {
    return Object.fromEntries(
      this.view.iommus().map((i) => {
        const executed = i.executed();
        let lastWait = -1;
        executed.forEach((c, n) => {
          if (c.effect.kind === 'wait') lastWait = n;
        });
        return [String(i.index), summarize(executed.filter((_, n) => n < lastWait === waited).map((c) => c.effect))];
      }),
    );
  }

  iotlb(): Record<string, string[]> {
    return this.once('iotlb', () =>
      Object.fromEntries(this.view.iommus().map((i) => [String(i.index), [...i.iotlbLines()]])),
    );
  }

  leaks(): string[] {
    return this.once('leaks', () => this.leakedAllocations().map((a) => a.site));
  }

  /** Allocations the steps made that are still live, in allocation order. */
  leakedAllocations(): readonly Allocation[] {
    return this.view.k.ledger.history.filter((a) => a.step >= 0 && !a.freed);
  }

  freed(): string[] {
    return this.once('freed', () => this.freedAllocations().map((a) => a.site));
  }

  /** Allocations freed during the steps, in free order. */
  freedAllocations(): readonly Allocation[] {
    return this.view.k.ledger.history
      .filter((a) => a.freed && a.freed.step >= 0)
      .sort((a, b) => a.freed!.seq - b.freed!.seq);
  }

  events(): string[] {
    return this.once('events', () => {
      const iommus = this.view.iommus();
      return [
        ...this.view.k.events.map(formatKernelEvent),
        ...iommus.flatMap((i) => i.eventLines()),
        ...iommus.flatMap((i) => i.staleLines()),
      ];
    });
  }

  faultsFired(): string[] {
    return this.once('faults_fired', () => this.view.k.faults.fired.map((f) => `${f.point.site}#${f.point.call}`));
  }

  faultsUnfired(): number[] {
    return this.once('faults_unfired', () => this.view.k.faults.unfiredPlans());
  }

  domainIds(): number[] {
    return this.once('domain_ids', () => [...this.view.allocatedDomainIds()]);
  }

  allocations(): string[] {
    return this.once('allocations', () =>
      this.view.k.ledger.history
        .filter((a) => a.step >= 0)
        .map(
          (a) =>
            `${a.site} #${a.ordinal} pa=${hex(a.pa)} size=${hex(a.bytes)}${a.freed ? ` freed by ${a.freed.by}` : ''}`,
        ),
    );
  }

  /** Every part, in the golden file's order. */
  all(): EndState {
    return {
      steps: this.steps(),
      log: this.log(),
      oops: this.oops(),
      mappings: this.mappings(),
      memtypes: this.memtypes(),
      commands: this.commands(),
      iotlb: this.iotlb(),
      leaks: this.leaks(),
      freed: this.freed(),
      events: this.events(),
      faults_fired: this.faultsFired(),
      faults_unfired: this.faultsUnfired(),
      domain_ids: this.domainIds(),
      allocations: this.allocations(),
    };
  }
}

export function captureEndState(run: RunResult): EndState {
  return new CapturedState(run).all();
}

/** Sorted union of half-open ranges; touching ones join. */
function mergeRanges(ranges: [bigint, bigint][]): [bigint, bigint][] {
  const sorted = [...ranges].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: [bigint, bigint][] = [];
  for (const [s, e] of sorted) {
    const last = out.at(-1);
    if (last && s <= last[1]) last[1] = e > last[1] ? e : last[1];
    else out.push([s, e]);
  }
  return out;
}
