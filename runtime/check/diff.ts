import { formatMapping, formatMemtype, hex } from '../base/format.js';
import { formatReturn } from '../linux/errno.js';
import type { CapturedState } from '../exec/capture.js';
import { resolveAlloc, type RunResult } from '../exec/executor.js';
import { checkInvariants } from './invariants.js';
import type { ExpectKey, ExpectationOf, LogMatcher, TextMatcher } from '../plan/expect.js';
import { isAllocRef, type AddressOrAlloc, type Plan, type PlanStep, type SourceRef } from '../plan/plan.js';
import type { Mismatch } from './mismatch.js';

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

  /** A spec address, or an allocation's; a reference to nothing is reported and yields undefined. */
  addr(v: AddressOrAlloc): bigint | undefined {
    if (!isAllocRef(v)) return v;
    const pa = resolveAlloc(this.run.machine.k, v);
    if (pa === undefined)
      this.push(v.at, `no allocation #${v.nth} at \`${v.alloc}\``, [v.alloc], this.state.allocations());
    return pa;
  }
}

function logLines(
  cx: DiffContext,
  at: SourceRef,
  title: string,
  expected: readonly LogMatcher[],
  actual: readonly string[],
  subsequence: boolean,
): void {
  const matches = (e: LogMatcher, line: string): boolean =>
    'text' in e
      ? e.text === line
      : (e.level === undefined || line.startsWith(`${e.level}: `)) &&
        new RegExp(e.match).test(line.replace(/^[a-z]+: /, ''));
  const show = (e: LogMatcher): string => ('text' in e ? e.text : `${e.level ?? '*'}: /${e.match}/`);
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
        const want = d.ranges.map((r) => ({ ...r, pa: r.pa === undefined ? undefined : cx.addr(r.pa) }));
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
    doc: 'every page range that is not WB at the end',
    check: (e, cx) => {
      const want = e.ranges.map((m) => formatMemtype(cx.addr(m.pa) ?? 0n, m.size, m.type));
      cx.list(e.at, 'memory types differ (pages that are not WB)', want, cx.state.memtypes());
    },
  },
  commands: {
    doc: 'commands each IOMMU executed, decoded, keyed by IOMMU index',
    check: (e, cx) => {
      for (const c of e.perIommu)
        cx.list(c.at, `commands executed by IOMMU ${c.key} differ`, c.lines, cx.state.commands()[c.key] ?? []);
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
    doc: 'host invalidations and device-table entries each IOMMU executed that no executed completion wait followed',
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
    doc: 'sites of allocations made by the steps and still live at the end',
    check: (e, cx) => cx.list(e.at, 'allocations still live differ', e.lines, cx.state.leaks()),
  },
  freed: {
    doc: 'sites of allocations freed during the steps, in free order',
    check: (e, cx) => cx.list(e.at, 'allocations freed differ', e.lines, cx.state.freed()),
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
        checkInvariants(cx.run, { disabled: [] })
          .filter((v) => v.level === 'error')
          .map((v) => `${v.invariant}: ${v.message}`),
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
  ptes: {
    doc: 'raw page-table entries an IOVA walk ends on',
    check: (e, cx) => {
      for (const p of e.ptes) {
        const domain = cx.run.machine.view.domain(p.domain);
        const got = domain ? hex(domain.entryFor(p.iova)) : '(no such domain)';
        const want = hex(p.value);
        if (got !== want) cx.push(p.at, `PTE for ${hex(p.iova)} in domain ${p.domain} differs`, [want], [got]);
      }
    },
  },
  dtes: {
    doc: 'raw device-table entries',
    check: (e, cx) => {
      for (const d of e.dtes) {
        const iommu = cx.run.machine.view.iommus()[d.iommu];
        const got = iommu ? iommu.deviceEntry(d.devid, d.data.length).map(hex) : ['(no such IOMMU)'];
        cx.list(d.at, `DTE of devid ${hex(d.devid)} differs`, d.data.map(hex), got);
      }
    },
  },
};

function checkSteps(cx: DiffContext): void {
  for (const r of cx.run.steps) {
    const e = r.step.expect;
    if (!e) continue;
    const at = r.step.at;
    if (e.kind === 'ret') {
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
      const want =
        typeof e.ret === 'string' ? e.ret : typeof last === 'bigint' ? hex(e.ret) : formatReturn(Number(e.ret));
      if (got !== want) cx.push(at, `step \`${r.step.name}\` returned ${got}`, [want], [got]);
    } else if (r.access) {
      const a = r.access;
      const got = a.ok
        ? [`pa: ${hex(a.pa)}`, `from_iotlb: ${a.fromIotlb}`, `stale: ${a.stale}`]
        : [`fault: ${a.fault}`];
      const want: string[] = [];
      if (e.pa !== undefined) {
        const pa = isAllocRef(e.pa) ? resolveAlloc(cx.run.machine.k, e.pa) : e.pa;
        want.push(`pa: ${pa === undefined ? '(no such allocation)' : hex(pa)}`);
      }
      if (e.fromIotlb !== undefined) want.push(`from_iotlb: ${e.fromIotlb}`);
      if (e.stale !== undefined) want.push(`stale: ${e.stale}`);
      if (e.fault !== undefined) want.push(`fault: ${e.fault}`);
      if (!want.every((w) => got.includes(w)))
        cx.push(at, `access \`${r.step.name}\` translated differently`, want, got);
    }
  }
}

/** Compares a run with everything its plan states. A planned fault that never fired is a mismatch too. */
/** A step's `check:`, against the machine right after the step; each title says which step. */
export function diffCheck(step: PlanStep, run: RunResult, state: CapturedState): Mismatch[] {
  const cx = new DiffContext(run, state);
  for (const e of step.check ?? [])
    (EXPECTATIONS[e.key].check as (e: ExpectationOf<ExpectKey>, cx: DiffContext) => void)(e, cx);
  return cx.mismatches.map((m) => ({ ...m, title: `after \`${step.name}\`: ${m.title}` }));
}

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
