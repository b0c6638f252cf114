import { stringify } from 'yaml';
import { hex } from '../runtime/base/format.js';
import { checkInvariants, violationLines } from '../runtime/check/invariants.js';
import { CapturedState } from '../runtime/exec/capture.js';
import { execute, type RunResult } from '../runtime/exec/executor.js';
import { siteMatcher } from '../runtime/fault/inject.js';
import { DIRECT_MAP_SIZE, PAGE_OFFSET } from '../runtime/mem/direct-map.js';
import type { Allocation } from '../runtime/mem/ledger.js';
import { cacheModeName } from '../runtime/mem/memtype.js';
import type { Plan } from '../runtime/plan/plan.js';
import type { DriverField } from '../runtime/vendor/view.js';

/**
 * `viommu-spec record`: a run's end state as a ready-to-paste `expect:` block in the spec language, with the
 * addresses the allocator picked written as symbols (`alloc(site)`, `va(alloc(site))`, `table(d, Lk, iova)`,
 * `domain(id)`) wherever a value is one, so the block survives unrelated allocations moving memory.
 */

/** Bits 51:12 of an entry: the physical address of a table or page (AMD v1 PTE/PDE, DTE root). */
const ADDR_MASK = 0x000f_ffff_ffff_f000n;

/** Names addresses by the allocations that produced them. */
class AddressNames {
  private readonly history: readonly Allocation[];

  constructor(private readonly run: RunResult) {
    this.history = run.machine.k.ledger.history;
  }

  /** `alloc(site[, nth])` for the start of an allocation, `+ 0x..` for an address inside one. */
  pa(pa: bigint): string | undefined {
    for (let i = this.history.length - 1; i >= 0; i--) {
      const a = this.history[i]!;
      if (pa < a.pa || pa >= a.pa + a.bytes) continue;
      const match = siteMatcher(a.site);
      const nth = this.history.slice(0, i + 1).filter((h) => match(h.site)).length;
      const ref = `alloc(${a.site}${nth === 1 ? '' : `, ${nth}`})`;
      return pa === a.pa ? ref : `${ref} + ${hex(pa - a.pa)}`;
    }
    return undefined;
  }

  /** `va(alloc(...))` for a direct-map address inside an allocation, `domain(id)` for a domain object. */
  va(va: bigint): string | undefined {
    const domain = this.run.machine.view.domains().find((d) => d.objectVa === va);
    if (domain) return `domain(${domain.id})`;
    if (va < PAGE_OFFSET || va >= PAGE_OFFSET + DIRECT_MAP_SIZE) return undefined;
    const pa = this.pa(va - PAGE_OFFSET);
    return pa === undefined ? undefined : `va(${pa})`;
  }

  /** An entry whose address field names an allocation: `0x<flags> | alloc(...)`. */
  entry(v: bigint, table?: string): string {
    const addr = v & ADDR_MASK;
    const sym = addr === 0n ? undefined : (table ?? this.pa(addr));
    return sym === undefined ? hex(v) : `${hex(v & ~ADDR_MASK)} | ${sym}`;
  }

  /** Direct-map addresses in a log line as `${va(alloc(...))}`; other numbers stay as printed. */
  line(text: string): string {
    return text.replace(/0x[0-9a-f]{16}\b/g, (tok) => {
      const sym = this.va(BigInt(tok));
      return sym === undefined ? tok : `\${${sym}}`;
    });
  }
}

function ptes(run: RunResult, sym: AddressNames): unknown[] {
  return run.machine.view.domains().map((d) => {
    const top = d.top.level;
    const nonzero: Record<string, string> = {};
    d.tableEntries(d.top.pa, top).forEach((v, i) => {
      if (v === 0n) return;
      // A table entry points at the next table on the walk of its first IOVA.
      const iova = BigInt(i) << BigInt(d.itemLg2(top));
      const table = d.decodeEntry(v, top).kind === 'table' ? `table(${d.id}, L${top - 1}, ${hex(iova)})` : undefined;
      nonzero[String(i)] = sym.entry(v, table);
    });
    return { domain: d.id, table: { level: top }, nonzero };
  });
}

/** Every non-WB page as whole allocations (`{alloc, count, type}`) when they cover them exactly; else ranges. */
function memtypes(run: RunResult, state: CapturedState): unknown[] {
  const { k } = run.machine;
  const nonWb = new Map(k.memtypes.nonWb());
  if (nonWb.size === 0) return [];
  const bySite = new Map<string, { type: string; count: number }>();
  const covered = new Set<number>();
  for (const a of k.ledger.liveAllocations()) {
    const first = Number(a.pa >> 12n);
    const pages = Number((a.bytes + 0xfffn) >> 12n);
    const mode = nonWb.get(first);
    if (mode === undefined) continue;
    const whole = Array.from({ length: pages }, (_, i) => nonWb.get(first + i)).every((m) => m === mode);
    if (!whole) return state.memtypes();
    const type = cacheModeName(mode);
    const seen = bySite.get(a.site);
    if (seen && seen.type !== type) return state.memtypes();
    bySite.set(a.site, { type, count: (seen?.count ?? 0) + 1 });
    for (let i = 0; i < pages; i++) covered.add(first + i);
  }
  // Every allocation a site glob names must be one of these (the check counts all of them).
  for (const [site, { count }] of bySite) {
    const match = siteMatcher(site);
    if (k.ledger.history.filter((h) => match(h.site)).length !== count) return state.memtypes();
  }
  if ([...nonWb.keys()].some((pfn) => !covered.has(pfn))) return state.memtypes();
  return [...bySite].map(([site, { type, count }]) => ({ alloc: site, ...(count > 1 ? { count } : {}), type }));
}

function driver(run: RunResult, sym: AddressNames): Record<string, Record<string, unknown>> {
  const field = (v: DriverField): unknown => {
    if (v === null) return null;
    if (typeof v === 'bigint') return sym.va(v) ?? hex(v);
    return v.map((x) => field(x));
  };
  return Object.fromEntries(
    [...run.machine.view.driverObjects()].map(([key, fields]) => [
      key,
      Object.fromEntries(Object.entries(fields).map(([name, v]) => [name, field(v)])),
    ]),
  );
}

/** Every vIOMMU guest, all its fields, table addresses as symbols (what `expect: guests:` compares). */
function guests(run: RunResult, sym: AddressNames): unknown[] {
  const regs = (m: ReadonlyMap<string, bigint>): Record<string, string> =>
    Object.fromEntries([...m].map(([k, v]) => [k, hex(v)]));
  const ids = (m: ReadonlyMap<number, number>): Record<string, string> =>
    Object.fromEntries([...m].map(([k, v]) => [hex(BigInt(k)), hex(BigInt(v))]));
  const table = (pa: bigint | null): string | null => (pa === null ? null : (sym.pa(pa) ?? hex(pa)));
  return run.machine.view.iommus().flatMap((i) =>
    i.guests().map((g) => ({
      ...(i.index === 0 ? {} : { iommu: i.index }),
      gid: g.gid,
      allocated: g.allocated,
      trans_devid: g.transDevid === null ? null : hex(BigInt(g.transDevid)),
      devid_table: table(g.devidTable),
      domid_table: table(g.domidTable),
      vf_cntl: regs(g.vfCntl),
      vf: regs(g.vf),
      devid_map: ids(g.devidMap),
      domid_map: ids(g.domidMap),
      queues: Object.fromEntries(
        [...g.queues].map(([type, q]) => [
          type,
          {
            base: hex(q.base),
            length: q.length,
            flags: q.flags,
            ...(q.head === undefined ? {} : { head: hex(q.head) }),
            ...(q.tail === undefined ? {} : { tail: hex(q.tail) }),
            ...(q.halted === undefined ? {} : { halted: q.halted }),
          },
        ]),
      ),
    })),
  );
}

/** The `expect:` block that a spec with these steps passes, as YAML. */
export function record(plan: Plan): string {
  const run = execute(plan);
  const state = new CapturedState(run);
  const sym = new AddressNames(run);
  const mappings = Object.fromEntries(
    Object.entries(state.mappings()).map(([domain, lines]) => [
      domain,
      lines.map((l) => {
        const [, iova, size, pa, page, perm] = /^iova=(\S+) size=(\S+) pa=(\S+) page=(\S+) (\S+)$/.exec(l)!;
        return { iova, size, pa: sym.pa(BigInt(pa!)) ?? pa, page_size: page, perm };
      }),
    ]),
  );
  const oops = state.oops();
  const expect = {
    log: state.log().map((l) => sym.line(l)),
    oops: oops ?? false,
    mappings,
    memtypes: memtypes(run, state),
    commands: state.commands(),
    flushed: state.flushed(),
    not_flushed: state.notFlushed(),
    iotlb: state.iotlb(),
    leaks: state.leaks(),
    freed: state.freed(),
    events: state.events(),
    invariants: violationLines(checkInvariants(run, { disabled: [] }), 'error'),
    domain_ids: state.domainIds(),
    ptes: ptes(run, sym),
    driver: driver(run, sym),
    guests: guests(run, sym),
  };
  // What each step returned, as comments above the block, for the steps' own `expect:`.
  const steps = state.steps().map((line) => `# ${line}`);
  return `# ${plan.id}\n${steps.join('\n')}\n${stringify({ expect }, { lineWidth: 0 })}`;
}
