import { BudgetExceededError } from '../base/budget.js';
import { hex } from '../base/format.js';
import type { CapturedState } from '../exec/capture.js';
import type { RunResult } from '../exec/executor.js';
import type { DomainView } from '../vendor/view.js';

/**
 * What the HTML report shows of one run beyond the end state's strings: each domain's IOVA space and page
 * table, each IOMMU's command timeline, memory types, allocations by site and the kernel log. Plain data
 * (strings and numbers), so it crosses a worker thread as it is; collected only when a reporter asks for it
 * (`Reporter.wantsDetail`), so other reports and their bytes stay as they were. Everything is bounded: long
 * runs of leaves merge into ranges, and past a cap the rest is counted in `notes`, never silently dropped.
 */
export interface ReportDetail {
  readonly steps: readonly string[];
  readonly domains: readonly DomainDetail[];
  readonly iommus: readonly IommuTimeline[];
  /** The driver's command-buffer and completion-wait timeouts, as it logged them. */
  readonly timeouts: readonly TimelineItem[];
  /** Pages not write-back, as `pa=… size=… UC` ranges. */
  readonly memtypes: readonly string[];
  readonly allocations: readonly AllocationSite[];
  readonly log: readonly string[];
  /** Kernel and hardware events (WARNs, bad frees, event-log records, stale IOTLB hits). */
  readonly events: readonly string[];
  /** What a cap left out, or why a part could not be collected. */
  readonly notes: readonly string[];
}

/** A run of leaves of one page size and permission, contiguous in IOVA. */
export interface MappedRange {
  readonly start: string;
  readonly size: string;
  /** log2 of the page size. */
  readonly lg2: number;
  readonly perm: string;
  /** Output address of the first leaf. */
  readonly pa: string;
  readonly leaves: number;
}

export interface DomainDetail {
  readonly id: number;
  readonly root: string;
  readonly level: number;
  readonly mode: number;
  /** log2 of the IOVA space the top table spans. */
  readonly spanLg2: number;
  readonly ranges: readonly MappedRange[];
  readonly tree: TableNode;
}

export interface TableNode {
  readonly level: number;
  readonly pa: string;
  readonly entries: readonly EntryRow[];
  /** Present entries past the cap, not listed. */
  readonly hidden?: number;
}

/** A present entry, or `count` consecutive ones that map contiguously with the same bits (one row). */
export interface EntryRow {
  readonly index: number;
  readonly count: number;
  readonly iova: string;
  readonly raw: string;
  readonly kind: 'table' | 'leaf' | 'empty';
  readonly fields: string;
  /** The lower table a table entry points to; absent past the cap (`omitted` then says so). */
  readonly child?: TableNode;
  readonly omitted?: true;
}

export interface TimelineItem {
  /** The step the item belongs to (-1: before the first step; queued commands: the last step). */
  readonly step: number;
  readonly kind: 'executed' | 'wait' | 'queued' | 'timeout';
  readonly text: string;
}

export interface IommuTimeline {
  readonly index: number;
  readonly items: readonly TimelineItem[];
}

export interface AllocationSite {
  readonly site: string;
  /** Held since before the first step. */
  readonly live: number;
  /** Freed during the steps. */
  readonly freed: number;
  /** Allocated during the steps and still held at the end. */
  readonly leaked: number;
  readonly bytes: string;
}

/** Caps: what a report of one spec holds at most, whatever the spec maps or logs. */
export const DETAIL_LIMITS = {
  rangesPerDomain: 2000,
  treeRowsPerDomain: 3000,
  commandsPerIommu: 3000,
  logLines: 3000,
  allocationSites: 1000,
} as const;

function capped<T>(items: readonly T[], max: number, what: string, notes: string[]): T[] {
  if (items.length <= max) return [...items];
  notes.push(`${what}: the first ${max} of ${items.length} shown`);
  return items.slice(0, max);
}

function ranges(d: DomainView, notes: string[]): MappedRange[] {
  const out: { start: bigint; size: bigint; lg2: number; perm: string; pa: bigint; leaves: number }[] = [];
  for (const leaf of d.leaves()) {
    const perm = `${leaf.read ? 'r' : ''}${leaf.write ? 'w' : ''}` || '-';
    const last = out.at(-1);
    if (last && last.lg2 === leaf.lg2 && last.perm === perm && last.start + last.size === leaf.iova) {
      last.size += 1n << BigInt(leaf.lg2);
      last.leaves++;
    } else out.push({ start: leaf.iova, size: 1n << BigInt(leaf.lg2), lg2: leaf.lg2, perm, pa: leaf.pa, leaves: 1 });
  }
  return capped(out, DETAIL_LIMITS.rangesPerDomain, `domain ${d.id} mapped ranges`, notes).map((r) => ({
    start: hex(r.start),
    size: hex(r.size),
    lg2: r.lg2,
    perm: r.perm,
    pa: hex(r.pa),
    leaves: r.leaves,
  }));
}

/** The domain's table tree from the top, present entries only; leaf runs that map contiguously are one row. */
function tree(d: DomainView, notes: string[]): TableNode {
  let budget: number = DETAIL_LIMITS.treeRowsPerDomain;
  let omittedTables = 0;
  let hiddenEntries = 0;
  const visit = (pa: bigint, level: number, base: bigint): TableNode => {
    const raw = d.tableEntries(pa, level);
    const isz = BigInt(d.itemLg2(level));
    const rows: EntryRow[] = [];
    let hidden = 0;
    // The row being built (its count grows as leaves join it), its last entry and the leaf size.
    let prev: { row: { -readonly [K in keyof EntryRow]: EntryRow[K] }; raw: bigint; size: bigint } | undefined;
    for (let i = 0; i < raw.length; i++) {
      const entry = raw[i]!;
      if (entry === 0n) {
        prev = undefined;
        continue;
      }
      // A leaf that continues the row before it: the same value (a copy of a contiguous NL=7 entry) or the
      // output address one page on, which leaves every other bit, and so the decoding, as it was.
      if (prev?.row.kind === 'leaf' && (entry === prev.raw || entry === prev.raw + prev.size)) {
        prev.row.count++;
        prev.raw = entry;
        continue;
      }
      if (budget <= 0) {
        hidden++;
        prev = undefined;
        continue;
      }
      const dec = d.decodeEntry(entry, level);
      const iova = hex(base + (BigInt(i) << isz));
      const row: { -readonly [K in keyof EntryRow]: EntryRow[K] } = {
        index: i,
        count: 1,
        iova,
        raw: hex(entry),
        kind: dec.kind,
        fields: dec.fields,
      };
      budget--;
      if (dec.kind === 'table') {
        if (budget > 0) row.child = visit(dec.target, level - 1, base + (BigInt(i) << isz));
        else {
          row.omitted = true;
          omittedTables++;
        }
      }
      rows.push(row);
      prev = { row, raw: entry, size: 1n << BigInt(dec.lg2) };
    }
    hiddenEntries += hidden;
    return { level, pa: hex(pa), entries: rows, ...(hidden ? { hidden } : {}) };
  };
  const top = visit(d.top.pa, d.top.level, 0n);
  if (omittedTables || hiddenEntries)
    notes.push(
      `domain ${d.id} page table: the first ${DETAIL_LIMITS.treeRowsPerDomain} rows shown; ` +
        `${hiddenEntries} more entries not listed${omittedTables ? `, ${omittedTables} lower tables not expanded` : ''}`,
    );
  return top;
}

/** One domain's strip and tree; what a cap leaves out goes to `notes`. */
export function domainDetail(d: DomainView, notes: string[]): DomainDetail {
  const top = d.top.level;
  const entries = d.tableEntries(d.top.pa, top).length;
  return {
    id: d.id,
    root: hex(d.top.pa),
    level: top,
    mode: d.top.mode,
    spanLg2: d.itemLg2(top) + Math.log2(entries),
    ranges: ranges(d, notes),
    tree: tree(d, notes),
  };
}

const TIMEOUT = /timed out|timeout/i;

function timelines(run: RunResult, notes: string[]): IommuTimeline[] {
  const view = run.machine.view;
  const lastStep = run.steps.length ? run.steps[run.steps.length - 1]!.step.index : -1;
  return view.iommus().map((i) => {
    const lines = i.commandLines();
    const executed: TimelineItem[] = i.executed().map((c, n) => ({
      step: c.step,
      kind: c.effect.kind === 'wait' ? 'wait' : 'executed',
      text: lines[n] ?? '',
    }));
    const queued: TimelineItem[] = i.ring().queued.map((q) => ({ step: lastStep, kind: 'queued', text: q.line }));
    return {
      index: i.index,
      items: capped([...executed, ...queued], DETAIL_LIMITS.commandsPerIommu, `IOMMU ${i.index} timeline`, notes),
    };
  });
}

/** What the driver logged about a command buffer or completion wait that timed out (cmd.ts), by step. */
function timeouts(run: RunResult): TimelineItem[] {
  return run.machine.view.k.log.lines
    .filter((l) => TIMEOUT.test(l.text))
    .map((l) => ({ step: l.step, kind: 'timeout', text: `${l.level}: ${l.text}` }));
}
function allocationSites(run: RunResult, notes: string[]): AllocationSite[] {
  const bySite = new Map<string, { live: number; freed: number; leaked: number; bytes: bigint }>();
  for (const a of run.machine.view.k.ledger.history) {
    const s = bySite.get(a.site) ?? { live: 0, freed: 0, leaked: 0, bytes: 0n };
    if (a.freed) {
      if (a.freed.step < 0) continue; // allocated and freed during boot: not part of the run
      s.freed++;
    } else if (a.step >= 0) s.leaked++;
    else s.live++;
    s.bytes += a.bytes;
    bySite.set(a.site, s);
  }
  const rows = [...bySite.entries()].map(([site, s]) => ({ site, ...s, bytes: hex(s.bytes) }));
  return capped(rows, DETAIL_LIMITS.allocationSites, 'allocation sites', notes);
}

/** Collects the report detail of a finished run; a budget hit while walking leaves a note, not a crash. */
export function captureDetail(run: RunResult, state: CapturedState): ReportDetail {
  const notes: string[] = [];
  const part = <T>(what: string, fallback: T, f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof BudgetExceededError)) throw e;
      notes.push(`${what}: not collected (${e.message})`);
      return fallback;
    }
  };
  const domains = part('page tables', [], () => run.machine.view.domains().map((d) => domainDetail(d, notes)));
  return {
    steps: state.steps(),
    domains,
    iommus: part('command timeline', [], () => timelines(run, notes)),
    timeouts: timeouts(run),
    memtypes: part('memory types', [], () => state.memtypes()),
    allocations: allocationSites(run, notes),
    log: capped(state.log(), DETAIL_LIMITS.logLines, 'kernel log', notes),
    events: part('events', [], () => state.events()),
    notes,
  };
}
