import { formatMapping, formatMemtype, hex } from '../base/format.js';
import { formatReturn } from '../linux/errno.js';
import type { CapturedState } from '../exec/capture.js';
import type { RunResult, StepResult } from '../exec/executor.js';
import { isLoopValue } from '../plan/value.js';
import type { CallReturn } from '../vendor/vendor.js';
import { siteMatcher } from '../fault/inject.js';
import type { Allocation } from '../mem/ledger.js';
import { cacheModeName } from '../mem/memtype.js';
import { checkInvariants, violationLines } from './invariants.js';
import type {
  AllocMatcher,
  CommandMatcher,
  Expectation,
  ExpectKey,
  ExpectationOf,
  GuestExpectation,
  LogMatcher,
  TextMatcher,
} from '../plan/expect.js';
import type { Plan, PlanStep, SourceRef, StepExpect, ValueExpr } from '../plan/plan.js';
import type { DriverField, GuestView } from '../vendor/view.js';
import type { Mismatch } from './mismatch.js';
import { resolveValue, showValue } from './value.js';

/** What a checker can see and how it reports: the captured state, the run, and one way to record a miss. */
export class DiffContext {
  readonly mismatches: Mismatch[] = [];

  constructor(
    readonly run: RunResult,
    readonly state: CapturedState,
  ) {}

  push(at: SourceRef, title: string, expected: readonly string[], actual: readonly string[]): void {
    this.mismatches.push({ at, title, expected, actual });
  }

  /** Compares two line lists exactly. */
  list(at: SourceRef, title: string, expected: readonly string[], actual: readonly string[]): void {
    if (expected.length !== actual.length || expected.some((e, i) => e !== actual[i]))
      this.push(at, title, expected, actual);
  }

  /** A stated value resolved on this machine; a symbol naming nothing is reported and yields undefined. */
  value(v: ValueExpr, at: SourceRef, vars: Readonly<Record<string, bigint>> = {}): bigint | undefined {
    const r = resolveValue(v, this.run, vars);
    if ('value' in r) return r.value;
    this.push(at, `${showValue(v)} names nothing: ${r.unresolved}`, [showValue(v)], this.state.allocations());
    return undefined;
  }

  /** A stated value for a message: its resolved hex, or the expression when it names nothing. */
  shown(v: ValueExpr): string {
    const r = resolveValue(v, this.run);
    return 'value' in r ? hex(r.value) : `${showValue(v)} (${r.unresolved})`;
  }
}

/** Matches allocations against `{site, order, count}` items: each takes `count` of those still unmatched. */
function allocations(
  cx: DiffContext,
  at: SourceRef,
  title: string,
  expected: readonly AllocMatcher[],
  actual: readonly Allocation[],
): void {
  // Exact sites only: the list in order, as before globs and counts existed.
  if (expected.every((m) => !m.glob)) {
    cx.list(
      at,
      title,
      expected.map((m) => m.site),
      actual.map((a) => a.site),
    );
    return;
  }
  const pageOrder = (a: Allocation): number | undefined => (a.family === 'kmalloc' ? undefined : a.order);
  const show = (a: Allocation): string => `${a.site}${pageOrder(a) === undefined ? '' : ` order=${pageOrder(a)}`}`;
  const left = [...actual];
  let ok = true;
  for (const m of expected) {
    const match = m.glob ? siteMatcher(m.site) : (site: string) => site === m.site;
    for (let n = 0; n < m.count; n++) {
      const i = left.findIndex((a) => match(a.site) && (m.order === undefined || pageOrder(a) === m.order));
      if (i < 0) ok = false;
      else left.splice(i, 1);
    }
  }
  if (!ok || left.length)
    cx.push(
      at,
      title,
      expected.map(
        (m) => `${m.site}${m.order === undefined ? '' : ` order=${m.order}`}${m.glob ? ` ×${m.count}` : ''}`,
      ),
      actual.map(show),
    );
}

/** The commands of one list: decoded lines exactly, regular expressions over them, or raw words. */
function commandList(
  cx: DiffContext,
  at: SourceRef,
  title: string,
  expected: readonly CommandMatcher[],
  actual: readonly { readonly line: string; readonly words: readonly number[] }[],
): void {
  const data = (w: readonly string[]): string => `data: [${w.join(', ')}]`;
  const shownActual = actual.map((c, i) =>
    'data' in (expected[i] ?? {}) ? data(c.words.map((x) => hex(BigInt(x)))) : c.line,
  );
  const shownExpected = expected.map((m) =>
    'text' in m ? m.text : 'match' in m ? `/${m.match}/` : data(m.data.map((w) => cx.shown(w))),
  );
  const holds = (m: CommandMatcher, c: (typeof actual)[number]): boolean =>
    'text' in m
      ? m.text === c.line
      : 'match' in m
        ? new RegExp(m.match).test(c.line)
        : m.data.every((w, j) => {
            const r = resolveValue(w, cx.run);
            return 'value' in r && r.value === BigInt(c.words[j]!);
          });
  if (expected.length !== actual.length || expected.some((m, i) => !holds(m, actual[i]!)))
    cx.push(at, title, shownExpected, shownActual);
}

function logLines(
  cx: DiffContext,
  at: SourceRef,
  title: string,
  expected: readonly LogMatcher[],
  actual: readonly string[],
  subsequence: boolean,
): void {
  // Values in a line print in 0x hex; a value that names nothing makes the line match nothing.
  const text = (e: Extract<LogMatcher, { parts: unknown }>): string =>
    e.parts.map((p) => (typeof p === 'string' ? p : cx.shown(p))).join('');
  const matches = (e: LogMatcher, line: string): boolean =>
    'text' in e
      ? e.text === line
      : 'parts' in e
        ? text(e) === line
        : (e.level === undefined || line.startsWith(`${e.level}: `)) &&
          new RegExp(e.match).test(line.replace(/^[a-z]+: /, ''));
  const show = (e: LogMatcher): string =>
    'text' in e ? e.text : 'parts' in e ? text(e) : `${e.level ?? '*'}: /${e.match}/`;
  let ok: boolean;
  if (subsequence) {
    let j = 0;
    for (const line of actual) if (j < expected.length && matches(expected[j]!, line)) j++;
    ok = j === expected.length;
  } else {
    ok = expected.length === actual.length && expected.every((e, i) => matches(e, actual[i]!));
  }
  if (!ok) cx.push(at, title, expected.map(show), actual);
}

/** How each `expect:` key is checked against a run: the one table of expectation semantics. */
export const EXPECTATIONS: {
  readonly [K in ExpectKey]: { readonly doc: string; check(e: ExpectationOf<K>, cx: DiffContext): void };
} = {
  log: {
    doc: 'the whole kernel log, in order (debug lines included)',
    check: (e, cx) => logLines(cx, e.at, 'kernel log differs', e.lines, cx.state.log(), false),
  },
  log_without_debug: {
    doc: 'the kernel log less pr_debug lines, in order',
    check: (e, cx) =>
      logLines(
        cx,
        e.at,
        'kernel log (without pr_debug) differs',
        e.lines,
        cx.state.log().filter((l) => !l.startsWith('debug: ')),
        false,
      ),
  },
  log_contains: {
    doc: 'lines that appear in this order, others between allowed',
    check: (e, cx) => logLines(cx, e.at, 'kernel log lacks lines, in this order', e.lines, cx.state.log(), true),
  },
  oops: {
    doc: 'false: no oops; otherwise the oops that ended a step (`message`, `function`: exact text or `{match: regex}`; `step`)',
    check: (e, cx) => {
      const oops = cx.state.oops();
      const got = oops
        ? [`message: ${oops.message}`, `function: ${oops.function}`, `step: ${oops.step}`]
        : ['(no oops)'];
      if (e.oops === false) {
        cx.list(e.at, 'an oops happened', ['(no oops)'], got);
        return;
      }
      const x = e.oops;
      const shown = (m: TextMatcher): string => (typeof m === 'string' ? m : `/${m.match}/`);
      const holds = (m: TextMatcher | undefined, actual: string | undefined): boolean =>
        m === undefined || (typeof m === 'string' ? m === actual : new RegExp(m.match).test(actual ?? ''));
      const want = [
        ...(x.message ? [`message: ${shown(x.message)}`] : []),
        ...(x.function ? [`function: ${shown(x.function)}`] : []),
        ...(x.step ? [`step: ${x.step}`] : []),
      ];
      const ok = oops && holds(x.message, oops.message) && holds(x.function, oops.function) && holds(x.step, oops.step);
      if (!ok) cx.push(e.at, oops ? 'a different oops happened' : 'no oops happened', want, got);
    },
  },
  mappings: {
    doc: 'mapped ranges per domain ID; adjacent leaves of one mapping shown as one range; a domain named must exist, `absent` says it must not',
    check: (e, cx) => {
      for (const d of e.domains) {
        const live = cx.state.mappings()[d.domain] !== undefined;
        if (d.ranges === 'absent' || !live) {
          // A domain named must exist (a typo must not pass as "no mappings"); `absent` says it must not.
          const want = d.ranges === 'absent' ? 'absent' : 'a live domain';
          if ((d.ranges === 'absent') === live)
            cx.list(
              d.at,
              `domain ${d.domain} ${live ? 'exists' : 'does not exist'} at the end`,
              [want],
              [live ? 'a live domain' : 'absent'],
            );
          continue;
        }
        const want = d.ranges.map((r) => ({ ...r, pa: r.pa === undefined ? undefined : cx.value(r.pa, d.at) }));
        // Fields a spec leaves out are not compared: fill them from the actual range at the same position.
        const actual = cx.state.mappings()[d.domain] ?? [];
        const shown = want.map((w, i) => {
          const a = actual[i]?.match(/pa=(0x[0-9a-f]+) page=(0x[0-9a-f]+) (\S+)$/);
          return formatMapping(
            w.iova,
            w.size,
            w.pa ?? (a ? BigInt(a[1]!) : 0n),
            w.page ?? (a ? BigInt(a[2]!) : 0n),
            w.perm ?? a?.[3] ?? 'rw',
          );
        });
        cx.list(d.at, `mappings of domain ${d.domain} differ`, shown, actual);
      }
    },
  },
  memtypes: {
    doc:
      'every page range that is not WB at the end, as merged ranges; with `{alloc, count, type}` items, the set of ' +
      'such pages (separate allocations need not merge)',
    check: (e, cx) => {
      const byAlloc = e.ranges.some((m) => 'alloc' in m);
      if (!byAlloc) {
        const want = e.ranges.map((m) => ('pa' in m ? formatMemtype(cx.value(m.pa, e.at) ?? 0n, m.size, m.type) : ''));
        cx.list(e.at, 'memory types differ (pages that are not WB)', want, cx.state.memtypes());
        return;
      }
      // Page by page: every stated page has its type, and no page that is not WB goes unstated.
      const actual = new Map(cx.run.machine.k.memtypes.nonWb());
      const stated = new Map<number, string>();
      const wrong: string[] = [];
      for (const m of e.ranges) {
        const blocks: { pa: bigint; bytes: bigint; name: string }[] = [];
        if ('alloc' in m) {
          const match = siteMatcher(m.alloc);
          const hits = cx.run.machine.k.ledger.history.filter((a) => match(a.site));
          if (hits.length !== m.count)
            wrong.push(`${m.alloc}: ${hits.length} allocations match, the spec says ${m.count}`);
          for (const a of hits) blocks.push({ pa: a.pa, bytes: a.bytes, name: `${a.site} #${a.ordinal}` });
        } else {
          const pa = cx.value(m.pa, e.at);
          if (pa !== undefined) blocks.push({ pa, bytes: m.size, name: formatMemtype(pa, m.size, m.type) });
        }
        for (const b of blocks) {
          let bad = 0;
          for (let pfn = Number(b.pa >> 12n); pfn < Number((b.pa + b.bytes + 0xfffn) >> 12n); pfn++) {
            stated.set(pfn, m.type);
            const got = actual.get(pfn);
            if (got === undefined || cacheModeName(got) !== m.type) bad++;
          }
          if (bad) wrong.push(`${b.name}: ${bad} of its pages are not ${m.type}`);
        }
      }
      let unstated = 0;
      for (const pfn of actual.keys()) if (!stated.has(pfn)) unstated++;
      if (unstated) wrong.push(`${unstated} pages that are not WB are not stated`);
      if (wrong.length)
        cx.push(
          e.at,
          'memory types differ (pages that are not WB)',
          ['every stated page as stated, no other'],
          [...wrong, ...cx.state.memtypes()],
        );
    },
  },
  commands: {
    doc:
      'commands each IOMMU executed (decoded, `{match}`, or raw `{data}` words), keyed by IOMMU index; with ' +
      '`{executed, queued, ring}`, also those left in the ring and its head, tail and pending count',
    check: (e, cx) => {
      for (const c of e.perIommu) {
        const iommu = cx.run.machine.view.iommus()[Number(c.key)];
        if (!iommu) {
          cx.list(c.at, `there is no IOMMU ${c.key}`, ['an IOMMU'], ['(none)']);
          continue;
        }
        const lines = iommu.commandLines();
        const words = iommu.commandWords();
        if (c.executed)
          commandList(
            cx,
            c.at,
            `commands executed by IOMMU ${c.key} differ`,
            c.executed,
            lines.map((line, i) => ({ line, words: words[i]! })),
          );
        const ring = iommu.ring();
        if (c.queued) commandList(cx, c.at, `commands queued on IOMMU ${c.key} differ`, c.queued, ring.queued);
        if (c.ring) {
          const got = [`head: ${hex(ring.head)}`, `tail: ${hex(ring.tail)}`, `pending: ${ring.queued.length}`];
          const want = [
            ...(c.ring.head === undefined ? [] : [`head: ${hex(c.ring.head)}`]),
            ...(c.ring.tail === undefined ? [] : [`tail: ${hex(c.ring.tail)}`]),
            ...(c.ring.pending === undefined ? [] : [`pending: ${c.ring.pending}`]),
          ];
          if (!want.every((w) => got.includes(w))) cx.push(c.at, `command ring of IOMMU ${c.key} differs`, want, got);
        }
      }
    },
  },
  flushed: {
    doc:
      'host invalidations each IOMMU executed and a later executed completion wait covered, merged per domain ' +
      '(`domain=2 [0x0, +0x800000)`, `[all]`), then the device-table entries (`devid=0x10`), keyed by IOMMU index',
    check: (e, cx) => {
      for (const c of e.perIommu)
        cx.list(c.at, `ranges IOMMU ${c.key} flushed differ`, c.lines, cx.state.flushed()[c.key] ?? []);
    },
  },
  not_flushed: {
    doc:
      'host invalidations and device-table entries each IOMMU executed that no executed completion wait followed, ' +
      'then those still queued in its ring, never executed (`queued domain=2 [...]`, `queued devid=0x10`)',
    check: (e, cx) => {
      for (const c of e.perIommu)
        cx.list(
          c.at,
          `ranges IOMMU ${c.key} invalidated but never waited for differ`,
          c.lines,
          cx.state.notFlushed()[c.key] ?? [],
        );
    },
  },
  iotlb: {
    doc: "each IOMMU's cached translations, keyed by IOMMU index",
    check: (e, cx) => {
      for (const c of e.perIommu)
        cx.list(c.at, `IOTLB of IOMMU ${c.key} differs`, c.lines, cx.state.iotlb()[c.key] ?? []);
    },
  },
  leaks: {
    doc: 'allocations made by the steps and still live at the end: exact sites in order, or `{site: glob, order, count}`',
    check: (e, cx) => allocations(cx, e.at, 'allocations still live differ', e.allocs, cx.state.leakedAllocations()),
  },
  freed: {
    doc: 'allocations freed during the steps: exact sites in free order, or `{site: glob, order, count}`',
    check: (e, cx) => allocations(cx, e.at, 'allocations freed differ', e.allocs, cx.state.freedAllocations()),
  },
  events: {
    doc: 'kernel and hardware events: WARN, bad frees, pages freed while not WB, IO page faults, stale IOTLB hits',
    check: (e, cx) => cx.list(e.at, 'events differ', e.lines, cx.state.events()),
  },
  invariants: {
    doc: 'every invariant violation of the end state, as a sweep row lists them (`name: message`); [] for none',
    check: (e, cx) =>
      cx.list(
        e.at,
        'invariant violations differ',
        e.lines,
        violationLines(checkInvariants(cx.run, { disabled: [] }), 'error'),
      ),
  },
  faults_fired: {
    doc: 'site#call of every injected failure',
    check: (e, cx) => cx.list(e.at, 'injected failures differ', e.lines, cx.state.faultsFired()),
  },
  domain_ids: {
    doc: 'domain IDs allocated at the end',
    check: (e, cx) => cx.list(e.at, 'allocated domain IDs differ', e.ids.map(String), cx.state.domainIds().map(String)),
  },
  domains: {
    doc:
      'the top of each paging domain by ID: `level` (generic_pt, 0 = 4 KiB leaves), `mode` (AMD: level + 1), `top` ' +
      '(the top table, a value expression); `absent` says the domain must not exist',
    check: (e, cx) => {
      for (const d of e.domains) {
        const domain = cx.run.machine.view.domain(d.domain);
        if (d.top === 'absent') {
          if (domain) cx.push(d.at, `domain ${d.domain} exists`, ['absent'], [`a live domain`]);
          continue;
        }
        if (!domain) {
          cx.push(d.at, `domain ${d.domain} does not exist`, ['a live domain'], ['(no such domain)']);
          continue;
        }
        const want: string[] = [];
        const got: string[] = [];
        if (d.top.level !== undefined) {
          want.push(`level: ${d.top.level}`);
          got.push(`level: ${domain.top.level}`);
        }
        if (d.top.mode !== undefined) {
          want.push(`mode: ${d.top.mode}`);
          got.push(`mode: ${domain.top.mode}`);
        }
        if (d.top.pa !== undefined) {
          want.push(`top: ${cx.shown(d.top.pa)}`);
          got.push(`top: ${hex(domain.top.pa)}`);
        }
        cx.list(d.at, `the top of domain ${d.domain} differs`, want, got);
      }
    },
  },
  ptes: {
    doc:
      'raw page-table entries: the entry a walk ends on or reads at a level, an entry of a table by index, or a ' +
      'whole table (all zero but `nonzero`)',
    check: (e, cx) => {
      for (const p of e.ptes) {
        const domain = cx.run.machine.view.domain(p.domain);
        if (!domain) {
          cx.push(p.at, `domain ${p.domain} does not exist`, ['a live domain'], ['(no such domain)']);
          continue;
        }
        const walk = domain.walk(p.iova);
        const where = `walk of ${hex(p.iova)} in domain ${p.domain}`;
        if (p.form === 'walk' && p.level === undefined) {
          const want = cx.shown(p.value);
          const got = hex(walk.at(-1)!.entry);
          if (got !== want) cx.push(p.at, `PTE for ${hex(p.iova)} in domain ${p.domain} differs`, [want], [got]);
          continue;
        }
        const step = walk.find((s) => s.level === p.level);
        if (!step) {
          const levels = walk.map((s) => `L${s.level}`).join(', ');
          cx.push(p.at, `the ${where} reads no level-${p.level} table`, [`L${p.level}`], [`reads ${levels}`]);
          continue;
        }
        if (p.form === 'walk') {
          const want = cx.shown(p.value);
          const got = hex(step.entry);
          if (got !== want) cx.push(p.at, `level-${p.level} entry on the ${where} differs`, [want], [got]);
          continue;
        }
        const entries = domain.tableEntries(step.tablePa, p.level);
        if (p.form === 'index') {
          const want = cx.shown(p.value);
          const got = hex(entries[p.index]!);
          if (got !== want)
            cx.push(p.at, `entry ${p.index} of the level-${p.level} table on the ${where} differs`, [want], [got]);
          continue;
        }
        const want = p.nonzero.map((n) => `[${n.index}] ${cx.shown(n.value)}`);
        const got = entries.flatMap((v, i) => (v === 0n ? [] : [`[${i}] ${hex(v)}`]));
        cx.list(p.at, `nonzero entries of the level-${p.level} table on the ${where} differ`, want, got);
      }
    },
  },
  dtes: {
    doc: 'raw device-table entries',
    check: (e, cx) => {
      for (const d of e.dtes) {
        const iommu = cx.run.machine.view.iommus()[d.iommu];
        const got = iommu ? iommu.deviceEntry(d.devid, d.data.length).map(hex) : ['(no such IOMMU)'];
        cx.list(
          d.at,
          `DTE of devid ${hex(d.devid)} differs`,
          d.data.map((v) => cx.shown(v)),
          got,
        );
      }
    },
  },
  driver: {
    doc:
      'driver structs (`iommu0`, `viommu1`) and their observable fields, values over symbols, null for NULL; ' +
      '`absent` says the struct must not exist',
    check: (e, cx) => {
      const objects = cx.run.machine.view.driverObjects();
      const show = (v: DriverField): string =>
        v === null ? 'NULL' : typeof v === 'bigint' ? hex(v) : `[${v.map((x) => show(x)).join(', ')}]`;
      type Stated = ValueExpr | null | readonly (ValueExpr | null)[];
      const isList = (v: Stated): v is readonly (ValueExpr | null)[] => Array.isArray(v);
      const want = (v: Stated): string =>
        v === null ? 'NULL' : isList(v) ? `[${v.map((x) => want(x)).join(', ')}]` : cx.shown(v);
      for (const o of e.objects) {
        const actual = objects.get(o.key);
        if (o.fields === 'absent' || !actual) {
          if ((o.fields === 'absent') !== !actual)
            cx.list(
              o.at,
              `${o.key} ${actual ? 'exists' : 'does not exist'} at the end`,
              [o.fields === 'absent' ? 'absent' : 'present'],
              [actual ? 'present' : 'absent'],
            );
          continue;
        }
        for (const f of o.fields) {
          const w = `${f.name}: ${want(f.value)}`;
          const g = `${f.name}: ${show(actual[f.name] ?? null)}`;
          if (w !== g) cx.push(f.at, `${o.key}.${f.name} differs`, [w], [g]);
        }
      }
    },
  },
  guests: {
    doc:
      'vIOMMU guests by IOMMU and guest ID: `absent`, or whether the ID is allocated, the trans_devid, where the ' +
      "DevID/DomID tables' IPAs translate, the non-zero VF_CNTL and VF page registers, the tables' non-default " +
      'entries read through the private space (`devid_map: {0x8: 0x10}`) and the queues VF_CNTL sets up',
    check: (e, cx) => {
      const views = new Map<number, readonly GuestView[]>();
      const guestsOf = (iommu: number): readonly GuestView[] => {
        let v = views.get(iommu);
        if (!v) {
          v =
            cx.run.machine.view
              .iommus()
              .find((i) => i.index === iommu)
              ?.guests() ?? [];
          views.set(iommu, v);
        }
        return v;
      };
      const want = (v: ValueExpr | null | undefined): string => (v === null || v === undefined ? 'none' : cx.shown(v));
      const got = (v: bigint | number | null | undefined): string =>
        v === null || v === undefined ? 'none' : hex(BigInt(v));
      const few = (lines: readonly string[]): string[] =>
        lines.length > 16 ? [...lines.slice(0, 16), `... ${lines.length - 16} more`] : [...lines];
      for (const g of e.guests) {
        const name = `iommu${g.iommu} gid ${hex(BigInt(g.gid))}`;
        const actual = guestsOf(g.iommu).find((v) => v.gid === g.gid);
        if (g.absent || !actual) {
          if (!g.absent || actual)
            cx.push(
              g.at,
              `${name} ${actual ? 'exists' : 'does not exist'} at the end`,
              [g.absent ? 'absent' : 'present'],
              [actual ? 'present' : 'absent'],
            );
          continue;
        }
        const field = (label: string, w: string | undefined, a: string): void => {
          if (w !== undefined && w !== a)
            cx.push(g.at, `${name}: ${label} differs`, [`${label}: ${w}`], [`${label}: ${a}`]);
        };
        field('allocated', g.allocated === undefined ? undefined : String(g.allocated), String(actual.allocated));
        if (g.trans_devid !== undefined) field('trans_devid', want(g.trans_devid), got(actual.transDevid));
        if (g.devid_table !== undefined) field('devid_table', want(g.devid_table), got(actual.devidTable));
        if (g.domid_table !== undefined) field('domid_table', want(g.domid_table), got(actual.domidTable));
        const registers = (
          label: 'vf_cntl' | 'vf',
          stated: GuestExpectation['vf_cntl'],
          regs: ReadonlyMap<string, bigint>,
        ): void => {
          if (!stated) return;
          const order = [...regs.keys()];
          const w = [...stated]
            .sort((a, b) => a.name.localeCompare(b.name))
            .map((r) => `${r.name}: ${cx.shown(r.value)}`)
            .filter((l) => !l.endsWith(': 0x0'));
          const a = order.sort((x, y) => x.localeCompare(y)).map((n) => `${n}: ${hex(regs.get(n)!)}`);
          cx.list(stated[0]?.at ?? g.at, `${name}: ${label} registers differ`, w, a);
        };
        registers('vf_cntl', g.vf_cntl, actual.vfCntl);
        registers('vf', g.vf, actual.vf);
        const table = (
          label: string,
          stated: GuestExpectation['devid_map'],
          map: ReadonlyMap<number, number>,
        ): void => {
          if (!stated) return;
          const w = [...stated]
            .sort((a, b) => a.name - b.name)
            .map((m) => `${hex(BigInt(m.name))} -> ${cx.shown(m.value)}`);
          const a = [...map].sort((x, y) => x[0] - y[0]).map(([k, v]) => `${hex(BigInt(k))} -> ${hex(BigInt(v))}`);
          if (w.length !== a.length || w.some((l, i) => l !== a[i]))
            cx.push(g.at, `${name}: ${label} differs`, w, few(a));
        };
        table('devid_map', g.devid_map, actual.devidMap);
        table('domid_map', g.domid_map, actual.domidMap);
        if (g.queues) {
          const stated = new Set(g.queues.map((q) => q.type));
          for (const type of actual.queues.keys())
            if (!stated.has(type))
              cx.push(g.at, `${name}: its ${type} queue is set up but not stated`, ['(none)'], [type]);
          for (const q of g.queues) {
            const a = actual.queues.get(q.type);
            if (!a) {
              cx.push(q.at, `${name}: no ${q.type} queue is set up`, [q.type], ['(none)']);
              continue;
            }
            const w: string[] = [];
            const shown: string[] = [];
            const one = (label: string, x: string | undefined, y: string): void => {
              if (x === undefined) return;
              w.push(`${label}: ${x}`);
              shown.push(`${label}: ${y}`);
            };
            one('base', q.base === undefined ? undefined : cx.shown(q.base), hex(a.base));
            one('length', q.length?.toString(), a.length.toString());
            one('flags', q.flags && [...q.flags].sort().join(', '), [...a.flags].sort().join(', '));
            one('head', q.head === undefined ? undefined : cx.shown(q.head), got(a.head));
            one('tail', q.tail === undefined ? undefined : cx.shown(q.tail), got(a.tail));
            one('halted', q.halted?.toString(), String(a.halted ?? false));
            cx.list(q.at, `${name}: the ${q.type} queue differs`, w, shown);
          }
        }
      }
    },
  },
};

function shownReturn(v: CallReturn | 'oops' | undefined): string {
  return v === 'oops'
    ? 'oops'
    : v === null || v === undefined
      ? 'void'
      : typeof v === 'bigint'
        ? hex(v)
        : formatReturn(v);
}

/**
 * A step run by `repeat: {count, var}`: every repetition's return against the expected one with the index
 * bound; the first that differs is reported by the step's name with its index (`map[i=5]`).
 */
function everyRepetition(cx: DiffContext, r: StepResult, ret: Extract<StepExpect, { kind: 'ret' }>['ret']): void {
  const v = r.step.repeatVar!;
  // A value over symbols is the same for every repetition: resolved once.
  const fixed = typeof ret === 'object' && !isLoopValue(ret) ? (cx.value(ret, r.step.at) ?? 0n) : undefined;
  for (let i = 0; i < r.step.repeat; i++) {
    const got = i < r.rets.length ? shownReturn(r.rets[i]) : r.oops && i === r.rets.length ? 'oops' : 'not run';
    const want =
      fixed ??
      (isLoopValue(ret) ? (cx.value(ret.loop, r.step.at, { [v]: BigInt(i) }) ?? 0n) : (ret as bigint | string));
    const shown =
      typeof want === 'string' ? want : typeof r.rets[i] === 'bigint' ? hex(want) : formatReturn(Number(want));
    if (got !== shown) {
      cx.push(r.step.at, `step \`${r.step.name}[${v}=${i}]\` returned ${got}`, [shown], [got]);
      return;
    }
  }
}

function checkSteps(cx: DiffContext): void {
  for (const r of cx.run.steps) {
    const e = r.step.expect;
    if (r.notRun && (e || r.step.check)) {
      const by = cx.state.oops()?.step ?? '?';
      cx.push(
        r.step.nodeAt,
        `step \`${r.step.name}\` was not run: step \`${by}\` oopsed`,
        ['run'],
        ['not run (write `after_oops: continue` to run it anyway)'],
      );
      continue;
    }
    if (!e) continue;
    const at = r.step.at;
    if (e.kind === 'ret' && r.step.repeatVar) {
      everyRepetition(cx, r, e.ret);
    } else if (e.kind === 'ret') {
      const last = r.oops ? 'oops' : r.rets[r.rets.length - 1];
      const got =
        last === 'oops'
          ? 'oops'
          : last === null || last === undefined
            ? 'void'
            : typeof last === 'bigint'
              ? hex(last)
              : formatReturn(last);
      // A byte count (iommu_unmap) is shown in hex on both sides; return codes as errno names.
      const value = isLoopValue(e.ret) ? e.ret.loop : e.ret;
      const stated = typeof value === 'string' || typeof value === 'bigint' ? value : cx.value(value, at);
      const want =
        stated === undefined
          ? cx.shown(value as ValueExpr)
          : typeof stated === 'string'
            ? stated
            : typeof last === 'bigint'
              ? hex(stated)
              : formatReturn(Number(BigInt.asIntN(64, stated)));
      if (got !== want) cx.push(at, `step \`${r.step.name}\` returned ${got}`, [want], [got]);
    } else if (r.access) {
      const a = r.access;
      const got = a.ok
        ? [`pa: ${hex(a.pa)}`, `from_iotlb: ${a.fromIotlb}`, `stale: ${a.stale}`]
        : [`fault: ${a.fault}`];
      const want: string[] = [];
      if (e.pa !== undefined) want.push(`pa: ${cx.shown(e.pa)}`);
      if (e.fromIotlb !== undefined) want.push(`from_iotlb: ${e.fromIotlb}`);
      if (e.stale !== undefined) want.push(`stale: ${e.stale}`);
      if (e.fault !== undefined) want.push(`fault: ${e.fault}`);
      if (!want.every((w) => got.includes(w)))
        cx.push(at, `access \`${r.step.name}\` translated differently`, want, got);
    }
  }
}

/** Holds expectations against a run as it stands (a step's `check:`, a sweep row's `expect:`). */
export function diffExpectations(
  expectations: readonly Expectation[],
  run: RunResult,
  state: CapturedState,
): Mismatch[] {
  const cx = new DiffContext(run, state);
  for (const e of expectations)
    (EXPECTATIONS[e.key].check as (e: ExpectationOf<ExpectKey>, cx: DiffContext) => void)(e, cx);
  return cx.mismatches;
}

/** A step's `check:`, against the machine right after the step; each title says which step. */
export function diffCheck(step: PlanStep, run: RunResult, state: CapturedState): Mismatch[] {
  return diffExpectations(step.check ?? [], run, state).map((m) => ({
    ...m,
    title: `after \`${step.name}\`: ${m.title}`,
  }));
}

/** Compares a run with everything its plan states. A planned fault that never fired is a mismatch too. */
export function diffRun(plan: Plan, run: RunResult, state: CapturedState): Mismatch[] {
  const cx = new DiffContext(run, state);
  checkSteps(cx);
  for (const e of plan.expect)
    (EXPECTATIONS[e.key].check as (e: ExpectationOf<ExpectKey>, cx: DiffContext) => void)(e, cx);
  for (const { plan: i, reason } of run.machine.k.faults.unfiredReasons()) {
    cx.push(plan.faultsAt[i]!, `planned fault #${i + 1} never fired`, ['fired at least once'], [reason]);
  }
  return cx.mismatches;
}
