import { DEFAULT_BUDGET, Meter } from '../base/budget.js';
import { CapturedState } from '../exec/capture.js';
import { boot, execute, resume, type Checkpoint, type Pauses, type RunResult } from '../exec/executor.js';
import { fork, UnforkableError } from '../base/fork.js';
import { siteMatcher, type FailurePoint } from '../fault/inject.js';
import type { PassedPoints } from '../fault/passed.js';
import type { InvariantOptions, Plan, SweepScope } from '../plan/plan.js';
import type { VendorMachine } from '../vendor/vendor.js';
import { checkInvariants, violationLines } from './invariants.js';

/** One run of the sweep: the failure point it failed, and what came of it. */
export interface SweepRow {
  /** `site#call`; for a point found only under an earlier fault, the chain `first#1 + then#1`. */
  readonly point: string;
  /** The point appeared only under an earlier fault, which this run injects too. */
  readonly discovered: boolean;
  /** False when the run never reached the point: the row then shows a fault-free run. */
  readonly fired: boolean;
  readonly steps: readonly string[];
  readonly log: readonly string[];
  readonly oops: string | null;
  readonly violations: readonly string[];
  readonly warnings: readonly string[];
  /** Opt-in columns (`sweep.columns`): commands each IOMMU executed, pages not WB, allocations still live. */
  readonly commands?: Readonly<Record<string, readonly string[]>>;
  readonly memtypes?: readonly string[];
  readonly live?: readonly string[];
}

/** Sees each run of a sweep with its point: where per-row expectations are checked. */
export type RunInspector = (point: string, run: RunResult, state: CapturedState) => void;

export interface SweepTable {
  readonly baseline: SweepRow;
  readonly rows: readonly SweepRow[];
  readonly points: number;
  readonly discovered: number;
  /** True when every recorded point was tried; false when maxRuns stopped the sweep first. */
  readonly complete: boolean;
}

const key = (p: FailurePoint): string => `${p.site}#${p.call}`;

function inScope(p: FailurePoint, scope: SweepScope, matchers: ((s: string) => boolean)[]): boolean {
  if (scope.fromStep !== undefined && p.step < scope.fromStep) return false;
  return matchers.length === 0 || matchers.some((m) => m(p.site));
}

function row(
  plan: Plan,
  run: RunResult,
  point: string,
  discovered: boolean,
  inv: InvariantOptions,
  inspect: RunInspector | undefined,
): { row: SweepRow; passed: PassedPoints } {
  const fired = run.machine.k.faults.unfiredPlans().length === 0;
  const state = new CapturedState(run);
  inspect?.(point, run, state);
  const columns = plan.sweep?.columns ?? [];
  const violations = checkInvariants(run, inv);
  return {
    row: {
      point,
      discovered,
      fired,
      steps: state.steps(),
      log: state.log().filter((l) => !l.startsWith('debug: ')),
      oops: run.oopses[0] ? `${run.oopses[0].message} in ${run.oopses[0].function}` : null,
      violations: violationLines(violations, 'error'),
      warnings: violationLines(violations, 'warning'),
      ...(columns.includes('commands') ? { commands: state.commands() } : {}),
      ...(columns.includes('memtypes') ? { memtypes: state.memtypes() } : {}),
      ...(columns.includes('live') ? { live: state.leaks() } : {}),
    },
    passed: run.machine.k.faults.passed,
  };
}

/** How a sweep gets each point's run: from a fork of the fault-free run at the point's step, or from boot. */
export type SweepMode = 'fork' | 'replay';

/**
 * Points apart that in-call checkpoints are kept: a run then redoes at most this many points' worth of its
 * call from the checkpoint before its point, and the sweep holds a fork per this many points, not per point
 * (each fork costs a map of the touched pages and the ledger's columns, which grow along the call).
 */
const IN_CALL_STRIDE = 32;

/**
 * Forks of the fault-free run (runtime/base/fork.ts) for the runs to start from: before each step from
 * `fromStep` on, and at each restart point inside a call (linux/restart.ts), which is just before the next
 * failure point is passed. A run starts from the latest of them before its first point. None when the
 * machine cannot be forked (the compiled C driver's WebAssembly instance): every run then replays from boot.
 */
class Checkpoints {
  private readonly byStep = new Map<number, Checkpoint>();
  /** By the global number of the failure point passed next; `pointOrder` lists those numbers, ascending. */
  private readonly byPoint = new Map<number, Checkpoint>();
  private readonly pointOrder: number[] = [];
  private forkable = true;

  constructor(private readonly fromStep: number) {}

  /**
   * The machine the fault-free run starts from: a fork of a booted one when forking, so that the objects
   * made at boot have the same shape in every run of the sweep (a forked object's hidden class is not its
   * constructor's: one shape per property access keeps V8's inline caches monomorphic).
   */
  boot(plan: Plan, meter: Meter): Checkpoint {
    const booted = boot(plan, meter);
    const copy = this.fromStep < plan.steps.length ? this.tryFork(booted.machine) : undefined;
    return copy ? { ...booted, machine: copy } : booted;
  }

  /** Where the fault-free run lets the checkpoints be taken. */
  readonly pauses: Pauses = {
    beforeStep: (paused) => {
      const cp = this.keep(paused);
      if (cp) this.byStep.set(paused.next, cp);
    },
    atRestartPoint: (paused) => {
      const next = paused.machine.k.faults.passed.length + 1;
      const last = this.pointOrder[this.pointOrder.length - 1];
      if (last !== undefined && this.byPoint.get(last)!.next === paused.next && next - last < IN_CALL_STRIDE) return;
      const cp = this.keep(paused);
      if (!cp) return;
      this.byPoint.set(next, cp);
      this.pointOrder.push(next);
    },
  };

  private keep(paused: Checkpoint): Checkpoint | undefined {
    if (paused.next < this.fromStep) return undefined;
    const copy = this.tryFork(paused.machine);
    return copy && { ...paused, machine: copy };
  }

  /** A fork of `m`; undefined, from then on, once a machine turned out unforkable (every run replays). */
  private tryFork(m: VendorMachine): VendorMachine | undefined {
    if (!this.forkable) return undefined;
    try {
      return fork(m);
    } catch (e) {
      if (!(e instanceof UnforkableError)) throw e;
      this.forkable = false;
      this.byStep.clear();
      this.byPoint.clear();
      this.pointOrder.length = 0;
      return undefined;
    }
  }

  /** Drops the forks of steps that passed no point in scope: nothing will start from them. */
  keepOnly(steps: ReadonlySet<number>): void {
    for (const step of [...this.byStep.keys()]) if (!steps.has(step)) this.byStep.delete(step);
    const kept = this.pointOrder.filter((g) => steps.has(this.byPoint.get(g)!.next));
    for (const g of this.pointOrder) if (!steps.has(this.byPoint.get(g)!.next)) this.byPoint.delete(g);
    this.pointOrder.splice(0, this.pointOrder.length, ...kept);
  }

  /**
   * A fork of the latest checkpoint before `p` was passed: inside its step's call when one was kept there,
   * else before its step; undefined when none was kept.
   */
  before(p: FailurePoint): Checkpoint | undefined {
    const order = this.pointOrder;
    let lo = 0;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (order[mid]! <= p.global) lo = mid + 1;
      else hi = mid;
    }
    const inCall = lo > 0 ? this.byPoint.get(order[lo - 1]!) : undefined;
    const cp = inCall?.next === p.step ? inCall : this.byStep.get(p.step);
    return cp && { ...cp, machine: fork(cp.machine) };
  }
}

/**
 * The fail_nth loop: run the scenario once with no fault and record every failure point it passes (site
 * and call number); then run it once per point, failing exactly that one. A point that appears only under a
 * fault is tried with that fault still injected (its chain), since only the first fault leads there. Stops
 * when every point has been tried.
 *
 * Each run is the one a fresh machine booted with the point's faults would make. In `fork` mode it starts
 * from a fork of the fault-free run's machine taken shortly before the chain's first point (inside its
 * call at a restart point, else before its step), with the faults armed as if from boot (up to there both
 * runs are the same), so a sweep costs what its runs do after their points, not a replay of everything
 * before; `replay` boots each run afresh (what fork mode is tested against, and its fallback when the
 * machine cannot be forked).
 */
export function sweep(
  plan: Plan,
  scope: SweepScope,
  inv: InvariantOptions,
  meter: Meter = new Meter(DEFAULT_BUDGET),
  inspect?: RunInspector,
  mode: SweepMode = 'fork',
): SweepTable {
  const matchers = scope.sites.map(siteMatcher);
  const clean: Plan = { ...plan, faults: [] };
  const checkpoints = new Checkpoints(mode === 'fork' ? (scope.fromStep ?? 0) : plan.steps.length);
  const base = row(
    clean,
    resume(clean, checkpoints.boot(clean, meter), meter, checkpoints.pauses),
    '(none)',
    false,
    inv,
    inspect,
  );
  type Chain = readonly FailurePoint[];
  const queue: Chain[] = base.passed
    .all()
    .filter((p) => inScope(p, scope, matchers))
    .map((p) => [p]);
  const seen = new Set(queue.map((c) => key(c[0]!)));
  checkpoints.keepOnly(new Set(queue.map((c) => c[0]!.step)));
  const rows: SweepRow[] = [];
  while (queue.length && rows.length < scope.maxRuns) {
    const chain = queue.shift()!;
    const faults = chain.map((p) => ({ site: p.site, schedule: { mode: 'nth' as const, n: p.call } }));
    const faulted: Plan = { ...plan, faults };
    const from = checkpoints.before(chain[0]!);
    from?.machine.k.faults.arm(faults);
    const run = from ? resume(faulted, from, meter) : execute(faulted, meter);
    const r = row(faulted, run, chain.map(key).join(' + '), chain.length > 1, inv, inspect);
    rows.push(r.row);
    // Points passed after the last injected one that no run has met yet: found only under this chain. The
    // last one fired where it was passed (its global number), or was never passed: then all count.
    const last = run.machine.k.faults.fired.find((f) => f.plan === chain.length - 1)?.point.global ?? 0;
    for (const p of r.passed.from(last)) {
      if (!seen.has(key(p)) && inScope(p, scope, matchers)) {
        seen.add(key(p));
        queue.push([...chain, p]);
      }
    }
  }
  return {
    baseline: base.row,
    rows,
    points: seen.size,
    discovered: rows.filter((r) => r.discovered).length + queue.filter((c) => c.length > 1).length,
    complete: queue.length === 0,
  };
}

/** The failure points a scenario passes with no fault, in order, with their call paths. */
export function failurePoints(plan: Plan): FailurePoint[] {
  return execute({ ...plan, faults: [] }).machine.k.faults.passed.all();
}
