import { createTwoFilesPatch } from 'diff';
import type { AllocRef, Plan } from '../../dsl/plan.js';
import type { Spec } from '../../dsl/spec.generated.js';
import type { PathSegment } from '../../dsl/source.js';
import { parseAddress } from '../../dsl/units.js';
import { formatReturn } from '../linux/errno.js';
import { formatMapping, formatMemtype, type EndState } from '../exec/capture.js';
import { resolveAlloc, type RunResult } from '../exec/executor.js';

/** One way the run differed from what the spec stated, tied to the spec path that stated it. */
export interface Mismatch {
  readonly path: readonly PathSegment[];
  readonly title: string;
  readonly expected: readonly string[];
  readonly actual: readonly string[];
}

type Expect = NonNullable<Spec['expect']>;
type LogLine = NonNullable<Expect['log']>[number];

const hex = (v: bigint): string => `0x${v.toString(16)}`;

/** The unified diff of expected against actual, as the pretty reporter prints it. */
export function unifiedDiff(m: Mismatch): string {
  const text = (lines: readonly string[]): string => (lines.length ? lines.join('\n') : '(none)') + '\n';
  const patch = createTwoFilesPatch('expected', 'actual', text(m.expected), text(m.actual), '', '', { context: 3 });
  return patch
    .split('\n')
    .filter((l) => !l.startsWith('===') && !l.startsWith('Index'))
    .join('\n')
    .trimEnd();
}

class Differ {
  readonly mismatches: Mismatch[] = [];

  constructor(
    private readonly run: RunResult,
    private readonly state: EndState,
  ) {}

  private push(path: readonly PathSegment[], title: string, expected: readonly string[], actual: readonly string[]): void {
    this.mismatches.push({ path, title, expected, actual });
  }

  /** A spec address, or an allocation's; a reference to nothing is reported and yields undefined. */
  addr(v: number | string | { alloc: string; nth?: number; offset?: number | string }, path: readonly PathSegment[]): bigint | undefined {
    if (typeof v !== 'object') return parseAddress(v);
    const ref: AllocRef = { alloc: v.alloc, nth: v.nth ?? 1, offset: v.offset === undefined ? 0n : (parseAddress(v.offset) ?? 0n) };
    const pa = resolveAlloc(this.run.machine, ref);
    if (pa === undefined) this.push(path, `no allocation #${ref.nth} at \`${ref.alloc}\``, [ref.alloc], this.state.allocations);
    return pa;
  }

  list(path: readonly PathSegment[], title: string, expected: readonly string[], actual: readonly string[]): void {
    if (expected.length !== actual.length || expected.some((e, i) => e !== actual[i])) this.push(path, title, expected, actual);
  }

  logLines(path: readonly PathSegment[], title: string, expected: readonly LogLine[], actual: readonly string[], subsequence: boolean): void {
    const matches = (e: LogLine, line: string): boolean =>
      typeof e === 'string' ? e === line : (e.level === undefined || line.startsWith(`${e.level}: `)) && new RegExp(e.match).test(line.replace(/^[a-z]+: /, ''));
    const show = (e: LogLine): string => (typeof e === 'string' ? e : `${e.level ?? '*'}: /${e.match}/`);
    let ok: boolean;
    if (subsequence) {
      let j = 0;
      for (const line of actual) if (j < expected.length && matches(expected[j]!, line)) j++;
      ok = j === expected.length;
    } else {
      ok = expected.length === actual.length && expected.every((e, i) => matches(e, actual[i]!));
    }
    if (!ok) this.push(path, title, expected.map(show), actual);
  }

  steps(plan: Plan): void {
    for (const r of this.run.steps) {
      const e = r.step.expect;
      if (!e) continue;
      const path = [...r.step.path, 'expect'];
      if (e.kind === 'ret') {
        const last = r.oops ? 'oops' : r.rets[r.rets.length - 1];
        const got = last === 'oops' ? 'oops' : last === null || last === undefined ? 'void' : typeof last === 'bigint' ? hex(last) : formatReturn(last);
        // A byte count (iommu_unmap) is shown in hex on both sides; return codes as errno names.
        const want = e.ret === 'oops' ? 'oops' : typeof last === 'bigint' ? hex(BigInt(e.ret)) : formatReturn(e.ret);
        if (got !== want) this.push(path, `step \`${r.step.name}\` returned ${got}`, [want], [got]);
      } else if (r.access) {
        const a = r.access;
        const got = a.ok ? [`pa: ${hex(a.pa)}`, `from_iotlb: ${a.fromIotlb}`, `stale: ${a.stale}`] : [`fault: ${a.fault}`];
        const want: string[] = [];
        if (e.pa !== undefined) {
          const pa = typeof e.pa === 'bigint' ? e.pa : resolveAlloc(this.run.machine, e.pa);
          want.push(`pa: ${pa === undefined ? '(no such allocation)' : hex(pa)}`);
        }
        if (e.fromIotlb !== undefined) want.push(`from_iotlb: ${e.fromIotlb}`);
        if (e.stale !== undefined) want.push(`stale: ${e.stale}`);
        if (e.fault !== undefined) want.push(`fault: ${e.fault}`);
        if (!want.every((w) => got.includes(w))) this.push(path, `access \`${r.step.name}\` translated differently`, want, got);
      }
    }
    void plan;
  }

  expectations(x: Expect): void {
    const s = this.state;
    if (x.log) this.logLines(['expect', 'log'], 'kernel log differs', x.log, s.log, false);
    if (x.log_without_debug) this.logLines(['expect', 'log_without_debug'], 'kernel log (without pr_debug) differs', x.log_without_debug, s.log.filter((l) => !l.startsWith('debug: ')), false);
    if (x.log_contains) this.logLines(['expect', 'log_contains'], 'kernel log lacks lines, in this order', x.log_contains, s.log, true);
    if (x.oops !== undefined) {
      const got = s.oops ? [`message: ${s.oops.message}`, `function: ${s.oops.function}`, `step: ${s.oops.step}`] : ['(no oops)'];
      if (x.oops === false) this.list(['expect', 'oops'], 'an oops happened', ['(no oops)'], got);
      else {
        const want = [...(x.oops.message ? [`message: ${x.oops.message}`] : []), ...(x.oops.function ? [`function: ${x.oops.function}`] : []), ...(x.oops.step ? [`step: ${x.oops.step}`] : [])];
        if (!s.oops || !want.every((w) => got.includes(w))) this.push(['expect', 'oops'], s.oops ? 'a different oops happened' : 'no oops happened', want, got);
      }
    }
    for (const [domain, ranges] of Object.entries(x.mappings ?? {})) {
      const want = ranges.map((r, i) => {
        const p: PathSegment[] = ['expect', 'mappings', domain, i];
        const size = parseAddress(r.size) ?? 0n;
        const pa = r.pa === undefined ? undefined : this.addr(r.pa, [...p, 'pa']);
        const page = r.page_size === undefined ? undefined : parseAddress(r.page_size);
        return { iova: parseAddress(r.iova) ?? 0n, size, pa, page, perm: r.perm };
      });
      // Fields a spec leaves out are not compared: fill them from the actual range at the same position.
      const actual = s.mappings[domain] ?? [];
      const shown = want.map((w, i) => {
        const a = actual[i]?.match(/pa=(0x[0-9a-f]+) page=(0x[0-9a-f]+) (\S+)$/);
        return formatMapping(w.iova, w.size, w.pa ?? (a ? BigInt(a[1]!) : 0n), w.page ?? (a ? BigInt(a[2]!) : 0n), w.perm ?? a?.[3] ?? 'rw');
      });
      this.list(['expect', 'mappings', domain], `mappings of domain ${domain} differ`, shown, actual);
    }
    if (x.memtypes) {
      const want = x.memtypes.map((m, i) => formatMemtype(this.addr(m.pa, ['expect', 'memtypes', i, 'pa']) ?? 0n, parseAddress(m.size) ?? 0n, m.type));
      this.list(['expect', 'memtypes'], 'memory types differ (pages that are not WB)', want, s.memtypes);
    }
    for (const [iommu, cmds] of Object.entries(x.commands ?? {})) this.list(['expect', 'commands', iommu], `commands executed by IOMMU ${iommu} differ`, cmds, s.commands[iommu] ?? []);
    for (const [iommu, entries] of Object.entries(x.iotlb ?? {})) this.list(['expect', 'iotlb', iommu], `IOTLB of IOMMU ${iommu} differs`, entries, s.iotlb[iommu] ?? []);
    if (x.leaks) this.list(['expect', 'leaks'], 'allocations still live differ', x.leaks, s.leaks);
    if (x.freed) this.list(['expect', 'freed'], 'allocations freed differ', x.freed, s.freed);
    if (x.events) this.list(['expect', 'events'], 'events differ', x.events, s.events);
    if (x.faults_fired) this.list(['expect', 'faults_fired'], 'injected failures differ', x.faults_fired, s.faults_fired);
    if (x.domain_ids) this.list(['expect', 'domain_ids'], 'allocated domain IDs differ', x.domain_ids.map(String), s.domain_ids.map(String));
    (x.ptes ?? []).forEach((p, i) => {
      const got = this.pte(p.domain, parseAddress(p.iova) ?? 0n);
      const want = hex(parseAddress(p.value) ?? 0n);
      if (got !== want) this.push(['expect', 'ptes', i], `PTE for ${p.iova} in domain ${p.domain} differs`, [want], [got]);
    });
    (x.dtes ?? []).forEach((d, i) => {
      const iommu = this.run.machine.driver.iommus[d.iommu ?? 0];
      const base = iommu ? iommu.mmio.readq(0x0000) & 0x000f_ffff_ffff_f000n : 0n;
      const got = d.data.map((_, w) => hex(this.run.machine.k.mem.read64(base + BigInt(d.devid) * 32n + BigInt(w) * 8n)));
      this.list(['expect', 'dtes', i], `DTE of devid ${hex(BigInt(d.devid))} differs`, d.data.map((v) => hex(parseAddress(v) ?? 0n)), got);
    });
  }

  /** The raw leaf entry that maps `iova` in domain `id`, or a note why there is none. */
  private pte(id: number, iova: bigint): string {
    const dom = this.run.machine.driver.iommus.map((i) => i.viommu_pdom).find((d) => d && 'id' in d && d.id === id);
    if (!dom || !('amdv1' in dom) || !dom.amdv1) return '(no such domain)';
    const { host_pt_root, mode } = dom.amdv1.hwInfo();
    let table = host_pt_root;
    for (let level = mode - 1; level >= 0; level--) {
      const shift = BigInt(12 + 9 * level);
      const index = level === 5 ? iova >> 57n : (iova >> shift) & 511n;
      const entry = this.run.machine.k.mem.read64(table + index * 8n);
      const nl = Number((entry >> 9n) & 7n);
      if ((entry & 1n) === 0n || level === 0 || nl === 0 || nl === 7) return hex(entry);
      table = entry & 0x000f_ffff_ffff_f000n;
    }
    return '(none)';
  }
}

/** Compares a run with everything its plan states. A planned fault that never fired is a mismatch too. */
export function diffRun(plan: Plan, run: RunResult, state: EndState): Mismatch[] {
  const d = new Differ(run, state);
  d.steps(plan);
  d.expectations(plan.expect);
  for (const i of state.faults_unfired) d.list(['faults', i], `planned fault #${i + 1} never fired`, ['fired at least once'], ['never reached']);
  return d.mismatches;
}
