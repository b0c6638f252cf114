import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { relative, resolve } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { parse } from 'yaml';
import { BudgetExceededError, DEFAULT_BUDGET, Meter, type Budget } from '../runtime/base/budget.js';
import { diffCheck, diffExpectations, diffRun } from '../runtime/check/diff.js';
import { checkGolden, type GoldenBlock, type GoldenMode } from '../runtime/check/golden.js';
import type { Mismatch } from '../runtime/check/mismatch.js';
import { sweep, type SweepTable } from '../runtime/check/sweep.js';
import { CapturedState, type EndState } from '../runtime/exec/capture.js';
import { execute } from '../runtime/exec/executor.js';
import { siteMatcher } from '../runtime/fault/inject.js';
import type { Plan } from '../runtime/plan/plan.js';
import { captureDetail } from '../runtime/report/detail.js';
import type { SpecOutcome } from '../runtime/report/outcome.js';
import { compileSpec } from '../dsl/compile.js';
import { renderSpecError, type SpecError } from '../dsl/errors.js';
import { loadSpecFile } from '../dsl/load.js';
import { BUDGET_FLAG } from './budget-flags.js';
import type { SpecFile } from './discover.js';
import { yieldToEvents, type Interruption, type StopSignal } from './signals.js';
import { testHooks } from './test-hooks.js';

const hooks = testHooks();

export interface RunOptions extends GoldenMode {
  readonly budget?: Budget;
  readonly filter?: string;
  readonly tags?: readonly string[];
  /** Worker threads; 1 runs in this thread. */
  readonly jobs?: number;
  /** `jobs` is the default, not asked for: threads only where they were measured to win (`useWorkers`). */
  readonly jobsByDefault?: boolean;
  /** `[i, n]`: run only the i-th of n deterministic slices of the selected specs (1-based). */
  readonly shard?: readonly [number, number];
  /** Stop handing out specs once this many have failed (--bail). */
  readonly bail?: number;
  /** Only these ids (--last-failed); absent or empty: no such restriction. */
  readonly ids?: ReadonlySet<string>;
  /** Collect each run's report detail (a reporter such as html wants it). */
  readonly detail?: boolean;
}

/** What selection and scheduling read of a plan, kept beside it so that they need not take a compact one. */
export interface PlanFacts {
  /** Marked `only: true`. */
  readonly only: boolean;
  /** Marked `skip:` or `todo:`. */
  readonly marked: boolean;
  readonly sweep: boolean;
  /** Its golden file, relative to the working directory. */
  readonly golden?: string;
  /** Its driver is built from C (variant `c` with a source): prepareDrivers builds it before any run. */
  readonly builtDriver: boolean;
}

function planFacts(plan: Plan): PlanFacts {
  return {
    only: plan.only !== undefined,
    marked: plan.marker !== undefined,
    sweep: plan.sweep !== undefined,
    ...(plan.golden ? { golden: relative('.', resolve(plan.golden.path)) } : {}),
    builtDriver: (plan.machine.vendor.driver as { source?: unknown }).source !== undefined,
  };
}

/** One spec of a suite before it runs: a compiled plan, or a file that did not load or compile. */
export type Unit = PlanUnit | InvalidUnit;

export interface PlanUnit {
  readonly kind: 'plan';
  readonly id: string;
  readonly name: string;
  readonly tags: readonly string[];
  /** The compiled plan; a compact unit (loadUnits) makes a fresh copy at each read: read it once. */
  readonly plan: Plan;
  readonly facts: PlanFacts;
  /** The files the spec is made of (itself, its `extends` fragment), for --watch. */
  readonly sources: readonly string[];
}

/**
 * A plan unit that keeps its plan serialized (V8's structured clone, as workers receive plans) off the
 * JavaScript heap until it is taken to run. A compiled plan is some 16 KB of small objects on the heap;
 * held for every spec of a suite from loading to its run, they made the heap (and the garbage the runs
 * leave, which V8 lets grow in proportion) grow with the number of spec files: 360 MB peak RSS for 5000
 * specs against 150 MB for 1000. Serialized and deflated it is about 2 KB outside the heap; writing it
 * costs about 0.07 ms at load and reading it back 0.1 ms at run, some 3 % of a one-scenario spec's time.
 */
class CompactPlanUnit implements PlanUnit {
  readonly kind = 'plan';
  readonly id: string;
  readonly name: string;
  readonly tags: readonly string[];
  readonly facts: PlanFacts;
  readonly sources: readonly string[];
  readonly #bytes: Buffer;

  constructor(plan: Plan, sources: readonly string[]) {
    // A copy: zlib's result is a view of its 16 KB output chunk, which it would keep alive.
    this.#bytes = Buffer.from(deflateRawSync(serialize(plan), { level: 1 }));
    // Read back, the strings are the plan's own, not slices that keep the spec file's whole text alive.
    const copy = this.plan;
    this.id = copy.id;
    this.name = copy.name;
    this.tags = copy.tags;
    this.facts = planFacts(copy);
    this.sources = sources;
  }

  get plan(): Plan {
    return deserialize(inflateRawSync(this.#bytes)) as Plan;
  }
}

export interface InvalidUnit {
  readonly kind: 'invalid';
  readonly id: string;
  readonly name: string;
  readonly tags: readonly string[];
  readonly outcome: SpecOutcome;
  readonly sources: readonly string[];
}

/**
 * The tags of a file that failed to load, as far as its YAML can be read at all, so --tag can leave it out.
 * It is read only after the loader accepted its size and path (inside the suite root).
 */
function readableTags(file: string): string[] {
  try {
    const raw: unknown = parse(readFileSync(file, 'utf8'));
    const tags = (raw as { tags?: unknown } | null)?.tags;
    return Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [];
  } catch {
    return [];
  }
}

function invalid(file: string, errors: readonly SpecError[], lines: (f: string) => readonly string[]): SpecOutcome {
  return {
    id: file,
    file,
    name: file,
    tags: [],
    status: 'invalid',
    mismatches: [],
    errors: errors.map((e) => renderSpecError(e, lines(e.file))),
  };
}

/** Loads and compiles a file's specs; the plans, or the file as one invalid outcome. */
export function planFile(
  file: string,
  root: string,
): ({ plans: Plan[] } | { invalid: SpecOutcome }) & { sources: readonly string[] } {
  const loaded = loadSpecFile(file, root);
  const sources = loaded.sources;
  if (!loaded.ok)
    return { invalid: invalid(relative(process.cwd(), file) || file, loaded.errors, loaded.lines), sources };
  const plans: Plan[] = [];
  const errors: SpecError[] = [];
  for (const spec of loaded.specs) {
    const c = compileSpec(spec);
    if (c.ok) plans.push(c.plan);
    else errors.push(...c.errors);
  }
  if (errors.length) return { invalid: invalid(loaded.specs[0]!.file, errors, loaded.specs[0]!.lines), sources };
  return { plans, sources };
}

/** The cases a spec file has, for a `file#case` that names none of them. */
function caseNames(plans: readonly Plan[]): string[] {
  return plans.flatMap((p) => (p.id.includes('#') ? [p.id.slice(p.id.indexOf('#') + 1)] : []));
}

/**
 * Loads every file into units, in file order; a `file#case` that names no case is a usage error. `compact`
 * keeps each plan serialized until it runs (see CompactPlanUnit): what a whole suite's run wants.
 */
export function loadUnits(
  files: readonly SpecFile[],
  { compact = false }: { compact?: boolean } = {},
): { units: Unit[] } | { error: string } {
  const units: Unit[] = [];
  for (const f of files) {
    const r = planFile(f.file, f.root);
    if ('invalid' in r) {
      const tags = readableTags(f.file);
      const outcome = { ...r.invalid, tags };
      units.push({ kind: 'invalid', id: r.invalid.id, name: r.invalid.name, tags, outcome, sources: r.sources });
      continue;
    }
    let plans = r.plans;
    if (f.caseName !== undefined) {
      plans = plans.filter((p) => p.id.endsWith(`#${f.caseName}`));
      if (plans.length === 0) {
        const known = caseNames(r.plans);
        return {
          error: `${f.file} has no case named '${f.caseName}'${known.length ? `; its cases: ${known.join(', ')}` : ' (it has no cases)'}`,
        };
      }
    }
    units.push(
      ...plans.map((plan): Unit =>
        compact
          ? new CompactPlanUnit(plan, r.sources)
          : {
              kind: 'plan',
              id: plan.id,
              name: plan.name,
              tags: plan.tags,
              plan,
              facts: planFacts(plan),
              sources: r.sources,
            },
      ),
    );
  }
  return { units };
}

function selected(u: Unit, opts: RunOptions): boolean {
  if (opts.ids?.size && !opts.ids.has(u.id)) return false;
  if (opts.tags?.length && !opts.tags.some((t) => u.tags.includes(t))) return false;
  if (opts.filter && !u.id.includes(opts.filter) && !u.name.includes(opts.filter)) return false;
  return true;
}

/** The i-th of n contiguous slices of a sorted list, as vitest and Playwright shard. */
export function shardOf<T>(items: readonly T[], [i, n]: readonly [number, number]): T[] {
  return items.slice(Math.floor(((i - 1) * items.length) / n), Math.floor((i * items.length) / n));
}

/** `only: true` on a spec or case. */
export const isOnly = (u: Unit): boolean => u.kind === 'plan' && u.facts.only;

/**
 * What --filter, --tag, --last-failed and --shard select, and what they leave out. When a selected spec is
 * marked `only: true`, only those so marked are chosen, except with --ci, where every marked one fails.
 */
export function selectUnits(units: readonly Unit[], opts: RunOptions): { chosen: Unit[]; skipped: Unit[] } {
  const filtered = units.filter((u) => selected(u, opts));
  const sharded = opts.shard ? shardOf(filtered, opts.shard) : filtered;
  const chosen = !opts.ci && sharded.some(isOnly) ? sharded.filter(isOnly) : sharded;
  const taken = new Set(chosen);
  return { chosen, skipped: units.filter((u) => !taken.has(u)) };
}

/** A row's point against a row expectation's glob; `(none)` names the fault-free baseline and only it. */
function rowMatches(pattern: string, point: string): boolean {
  return point === '(none)' ? pattern === '(none)' : siteMatcher(pattern)(point);
}

/** Compares a sweep table with the spec's per-point expectations. */
function sweepMismatches(plan: Plan, table: SweepTable): Mismatch[] {
  const sw = plan.sweep!;
  const mismatches: Mismatch[] = [];
  const push = (
    at: Mismatch['at'],
    title: string,
    expected: readonly string[],
    actual: readonly string[],
    point?: string,
  ): void => {
    mismatches.push({ at, title, expected, actual, ...(point === undefined ? {} : { point }) });
  };
  if (!table.complete) {
    const untried = [`${table.points - table.rows.length} untried`];
    push(
      sw.maxRunsAt,
      `the sweep stopped after ${table.rows.length} runs with points left`,
      ['every point tried'],
      untried,
    );
  }
  for (const e of sw.expect) {
    const rows = [table.baseline, ...table.rows].filter((r) => rowMatches(e.point, r.point));
    if (rows.length === 0)
      push(
        e.at,
        `no run failed a point matching \`${e.point}\``,
        [e.point],
        table.rows.map((r) => r.point),
      );
    for (const r of rows) {
      if (e.steps && e.steps.join('\n') !== r.steps.join('\n'))
        push(e.stepsAt, `steps of ${r.point} differ`, e.steps, r.steps, r.point);
      if (e.violations && e.violations.join('\n') !== r.violations.join('\n')) {
        push(e.violationsAt, `invariant violations of ${r.point} differ`, e.violations, r.violations, r.point);
      }
      if (e.oops !== undefined && e.oops !== (r.oops !== null)) {
        const oops = [r.oops ?? 'no oops'];
        push(e.oopsAt, `${r.point} ${r.oops ? 'oopsed' : 'did not oops'}`, [String(e.oops)], oops, r.point);
      }
    }
  }
  if (!plan.golden && sw.expect.length === 0) {
    const bad = [table.baseline, ...table.rows].filter((r) => r.violations.length);
    const lines = bad.flatMap((r) => r.violations.map((v) => `${r.point}: ${v}`));
    if (bad.length) push(sw.at, `${bad.length} runs broke invariants`, [], lines);
  }
  return mismatches;
}

/** A plan's outcome: failed when anything mismatched. */
function outcome(
  plan: Plan,
  mismatches: readonly Mismatch[],
  extra: Pick<SpecOutcome, 'state' | 'sweep' | 'goldenWritten' | 'detail'> = {},
): SpecOutcome {
  return {
    id: plan.id,
    file: plan.file,
    name: plan.name,
    tags: plan.tags,
    status: mismatches.length ? 'failed' : 'passed',
    mismatches,
    errors: [],
    ...Object.fromEntries(Object.entries(extra).filter(([, v]) => v !== undefined)),
  };
}

/** A run stopped by its budget: a failed spec whose message says which budget, where, and how to raise it. */
function overBudget(plan: Plan, e: BudgetExceededError): SpecOutcome {
  const title = `${e.message}; raise it with ${BUDGET_FLAG[e.budget]}`;
  const at = e.step === undefined ? plan.stepsAt : plan.steps[e.step]!.nodeAt;
  return outcome(plan, [{ at, title, expected: [`at most ${e.limit}`], actual: ['more'] }]);
}

/** Checks the golden file; an update is held back when the spec's own expectations failed. */
function golden(
  plan: Plan,
  value: () => EndState | SweepTable,
  mode: GoldenMode,
  mismatches: Mismatch[],
): string | undefined {
  if (!plan.golden) return undefined;
  const blocked: GoldenBlock = mismatches.length ? "the spec's own expectations fail" : undefined;
  const g = checkGolden(plan.golden, value(), mode, blocked, hooks.afterGoldenTemp);
  if (g.mismatch) mismatches.push(g.mismatch);
  return g.wrote ? plan.golden.path : undefined;
}

/**
 * What a plan comes to without running: `skip:`/`todo:` are reported with their note, and under --ci a
 * committed `only: true` fails, pointing at it. Undefined for a plan that runs.
 */
export function notRun(plan: Plan, ci: boolean): SpecOutcome | undefined {
  const base = { id: plan.id, file: plan.file, name: plan.name, tags: plan.tags, mismatches: [], errors: [] };
  if (plan.marker)
    return { ...base, status: plan.marker.kind === 'skip' ? 'skipped' : 'todo', reason: plan.marker.reason };
  if (ci && plan.only) {
    const title = '`only: true` is committed: it would keep the other specs from running (--ci runs them all)';
    return { ...base, status: 'failed', mismatches: [{ at: plan.only, title, expected: [], actual: ['only: true'] }] };
  }
  return undefined;
}

/** Runs one plan on a fresh machine and diffs it with what the spec states (and its golden file). */
export function runPlan(
  plan: Plan,
  mode: GoldenMode,
  budget: Budget = DEFAULT_BUDGET,
  /** Also collect the report detail (the HTML report's page tables, timeline, allocations). */
  detail = false,
): SpecOutcome {
  const start = performance.now();
  const o = runPlanUntimed(plan, mode, budget, detail);
  return { ...o, durationMs: performance.now() - start };
}

function runPlanUntimed(plan: Plan, mode: GoldenMode, budget: Budget, detail: boolean): SpecOutcome {
  const meter = new Meter(budget);
  try {
    if (plan.sweep) {
      const rowChecks: Mismatch[] = [];
      const withExpect = plan.sweep.expect.filter((e) => e.expect?.length);
      const table = sweep(plan, plan.sweep.scope, plan.sweep.invariants, meter, (point, run, state) => {
        for (const e of withExpect)
          if (rowMatches(e.point, point))
            rowChecks.push(
              ...diffExpectations(e.expect!, run, state).map((m) => ({ ...m, title: `${point}: ${m.title}`, point })),
            );
      });
      const mismatches = [...sweepMismatches(plan, table), ...rowChecks];
      const goldenWritten = golden(plan, () => table, mode, mismatches);
      return outcome(plan, mismatches, { sweep: table, goldenWritten });
    }
    const checked: Mismatch[] = [];
    const run = execute(plan, meter, (partial, step) =>
      checked.push(...diffCheck(step, partial, new CapturedState(partial))),
    );
    const state = new CapturedState(run);
    let mismatches: Mismatch[];
    let goldenWritten: string | undefined;
    try {
      mismatches = [...checked, ...diffRun(plan, run, state)];
      goldenWritten = golden(plan, () => state.all(), mode, mismatches);
    } catch (e) {
      if (e instanceof BudgetExceededError) throw e.in('the end-state capture');
      throw e;
    }
    return outcome(plan, mismatches, { goldenWritten, ...(detail ? { detail: captureDetail(run, state) } : {}) });
  } catch (e) {
    if (e instanceof BudgetExceededError) return overBudget(plan, e);
    throw e;
  }
}

export interface SuiteResult {
  readonly outcomes: SpecOutcome[];
  /** Specs the selection left out. */
  readonly skipped: number;
  readonly referencedGoldens: string[];
  /** Set when a signal stopped the run early: the outcomes are those of the specs that ran. */
  readonly interrupted?: StopSignal;
  /** Specs selected in all (more than `outcomes` when interrupted or bailed). */
  readonly selected: number;
  /** Set when --bail stopped the run: the failures that did. */
  readonly bailed?: number;
}

/**
 * A selected suite, ready to run. It holds the only reference to each plan the caller gives it (the caller
 * keeps no unit past `pendingRun`), and `runPending` takes each plan out as it hands it to a run: what a
 * suite keeps is then its outcomes (what the reporters need), not its compiled plans, so the runner's
 * memory stays flat in the number of spec files.
 */
export interface PendingRun {
  /** The chosen plans, in input order; a slot is emptied when its plan is taken to run. */
  readonly plans: (PlanUnit | undefined)[];
  /** The chosen invalid specs: a suite with any runs nothing. */
  readonly invalid: readonly SpecOutcome[];
  readonly skipped: number;
  /** The golden files of every loaded spec, selected or not (an unselected spec's file is not obsolete). */
  readonly referencedGoldens: string[];
}

/** The run of the chosen units: see PendingRun. */
export function pendingRun(units: readonly Unit[], chosen: readonly Unit[]): PendingRun {
  const chosenSet = new Set(chosen);
  return {
    plans: chosen.flatMap((u) => (u.kind === 'plan' ? [u] : [])),
    invalid: chosen.flatMap((u) => (u.kind === 'invalid' ? [u.outcome] : [])),
    skipped: units.filter((u) => !chosenSet.has(u)).length,
    referencedGoldens: units.flatMap((u) => (u.kind === 'plan' && u.facts.golden ? [u.facts.golden] : [])),
  };
}

/**
 * Whether the plans run on worker threads. Asked for (`--jobs n`, n > 1): whenever two or more run. By
 * default only when the selection holds a sweep for each thread: measured on 2 cores (README, Benchmarks),
 * a suite of 1000 one-scenario specs ran 1.3 times slower on two threads than on one (loading the specs,
 * which stays on the main thread, costs as much as running them, and each worker loads the runtime anew),
 * while a sweep replays its scenario once per failure point, which is work enough to pay for a thread.
 */
export function useWorkers(opts: RunOptions, run: PendingRun, toRun: readonly number[]): boolean {
  const jobs = opts.jobs ?? 1;
  if (jobs < 2 || toRun.length < 2) return false;
  return !opts.jobsByDefault || toRun.filter((i) => run.plans[i]!.facts.sweep).length >= jobs;
}

/** Takes a plan out of a pending run: the run holds it no longer. */
function take(run: PendingRun, i: number): Plan {
  const unit = run.plans[i]!;
  run.plans[i] = undefined;
  return unit.plan;
}

/**
 * Runs a pending suite: a suite with a chosen invalid spec runs nothing and writes no golden file.
 * Specs run in input order, on worker threads when asked; between specs the runner yields, so a SIGINT or
 * SIGTERM stops it after the spec in hand.
 */
export async function runPending(
  run: PendingRun,
  opts: RunOptions,
  interruption: Interruption | undefined,
  onProgress?: (done: number, total: number) => void,
): Promise<SuiteResult> {
  const { skipped, referencedGoldens } = run;
  const count = run.plans.length;
  if (run.invalid.length) return { outcomes: [...run.invalid], skipped, referencedGoldens: [], selected: count };
  const ids = run.plans.map((p) => p!.id);
  const mode: GoldenMode = { update: opts.update, ci: opts.ci };
  const budget = opts.budget ?? DEFAULT_BUDGET;
  if (hooks.throwBeforeFirstSpec) throw new TypeError('a deliberate internal error (VIOMMU_SPEC_TEST_CRASH=throw)');
  // Marked plans (and a committed `only` under --ci) are settled here; the rest run, and all come back in
  // input order.
  const ci = opts.ci === true;
  const settled = run.plans.map((u, i) =>
    u!.facts.marked || (ci && u!.facts.only) ? notRun(take(run, i), ci) : undefined,
  );
  const toRun = settled.flatMap((o, i) => (o === undefined ? [i] : []));
  const bail = opts.bail;
  let failures = settled.filter((o) => o?.status === 'failed').length;
  const bailed = (): boolean => bail !== undefined && failures >= bail;
  const ran: SpecOutcome[] = [];
  let signal: StopSignal | undefined;
  if (useWorkers(opts, run, toRun)) {
    const { runInWorkers } = await import('./parallel.js');
    const detail = opts.detail === true;
    const r = await runInWorkers(
      toRun.length,
      (t) => ({ plan: take(run, toRun[t]!), mode, budget, detail }),
      opts.jobs!,
      interruption,
      (d, o) => {
        if (o.status === 'failed') failures++;
        hooks.afterSpec();
        onProgress?.(d, toRun.length);
      },
      bailed,
    );
    ran.push(...r.outcomes);
    signal = r.interrupted;
  } else {
    for (const [t, i] of toRun.entries()) {
      if (interruption?.signal || bailed()) break;
      onProgress?.(t, toRun.length);
      const o = runPlan(take(run, i), mode, budget, opts.detail === true);
      if (o.status === 'failed') failures++;
      ran.push(o);
      hooks.afterSpec();
      await yieldToEvents();
    }
    signal = interruption?.signal;
  }
  const byId = new Map(ran.map((o) => [o.id, o]));
  // A stopped run reports the marked plans up to the last one that ran, not those it never reached.
  const stoppedEarly = signal !== undefined || ran.length < toRun.length;
  const lastRan = ids.reduce((last, id, i) => (byId.has(id) ? i : last), -1);
  const outcomes = ids.flatMap((id, i) => {
    const o = byId.get(id) ?? (stoppedEarly && i > lastRan ? undefined : settled[i]);
    return o ? [o] : [];
  });
  return {
    outcomes,
    skipped,
    referencedGoldens,
    selected: count,
    ...(signal ? { interrupted: signal } : {}),
    ...(bailed() && outcomes.length < count ? { bailed: failures } : {}),
  };
}
