import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { relative, resolve } from 'node:path';
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
  /** Use threads only from this many selected specs on (default 2). */
  readonly threadsFrom?: number;
  /** `[i, n]`: run only the i-th of n deterministic slices of the selected specs (1-based). */
  readonly shard?: readonly [number, number];
  /** Stop handing out specs once this many have failed (--bail). */
  readonly bail?: number;
  /** Only these ids (--last-failed); absent or empty: no such restriction. */
  readonly ids?: ReadonlySet<string>;
  /** Collect each run's report detail (a reporter such as html wants it). */
  readonly detail?: boolean;
}

/** One spec of a suite before it runs: a compiled plan, or a file that did not load or compile. */
export type Unit =
  | {
      readonly kind: 'plan';
      readonly id: string;
      readonly name: string;
      readonly tags: readonly string[];
      readonly plan: Plan;
      /** The files the spec is made of (itself, its `extends` fragment), for --watch. */
      readonly sources: readonly string[];
    }
  | {
      readonly kind: 'invalid';
      readonly id: string;
      readonly name: string;
      readonly tags: readonly string[];
      readonly outcome: SpecOutcome;
      readonly sources: readonly string[];
    };

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

/** Loads every file into units, in file order; a `file#case` that names no case is a usage error. */
export function loadUnits(files: readonly SpecFile[]): { units: Unit[] } | { error: string } {
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
      ...plans.map((plan): Unit => ({
        kind: 'plan',
        id: plan.id,
        name: plan.name,
        tags: plan.tags,
        plan,
        sources: r.sources,
      })),
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
export const isOnly = (u: Unit): boolean => u.kind === 'plan' && u.plan.only !== undefined;

/**
 * What --filter, --tag, --last-failed and --shard select, and what they leave out. When a selected spec is
 * marked `only: true`, only those so marked are chosen, except with --ci, where every marked one fails.
 */
export function selectUnits(units: readonly Unit[], opts: RunOptions): { chosen: Unit[]; skipped: Unit[] } {
  const filtered = units.filter((u) => selected(u, opts));
  const sharded = opts.shard ? shardOf(filtered, opts.shard) : filtered;
  const chosen = !opts.ci && sharded.some(isOnly) ? sharded.filter(isOnly) : sharded;
  return { chosen, skipped: units.filter((u) => !chosen.includes(u)) };
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
  readonly skipped: readonly Unit[];
  readonly referencedGoldens: string[];
  /** Set when a signal stopped the run early: the outcomes are those of the specs that ran. */
  readonly interrupted?: StopSignal;
  /** Specs selected in all (more than `outcomes` when interrupted or bailed). */
  readonly selected: number;
  /** Set when --bail stopped the run: the failures that did. */
  readonly bailed?: number;
}

/**
 * Runs the chosen units: a suite with a chosen invalid spec runs nothing and writes no golden file.
 * Specs run in input order, on worker threads when asked; between specs the runner yields, so a SIGINT or
 * SIGTERM stops it after the spec in hand.
 */
export async function runUnits(
  units: readonly Unit[],
  chosen: readonly Unit[],
  opts: RunOptions,
  interruption: Interruption | undefined,
  onProgress?: (done: number, total: number) => void,
): Promise<SuiteResult> {
  const skipped = units.filter((u) => !chosen.includes(u));
  const invalids = chosen.flatMap((u) => (u.kind === 'invalid' ? [u.outcome] : []));
  if (invalids.length) return { outcomes: invalids, skipped, referencedGoldens: [], selected: chosen.length };
  const plans = units.flatMap((u) => (u.kind === 'plan' ? [u.plan] : []));
  const referencedGoldens = plans.flatMap((p) => (p.golden ? [relative('.', resolve(p.golden.path))] : []));
  const all = chosen.flatMap((u) => (u.kind === 'plan' ? [u.plan] : []));
  const mode: GoldenMode = { update: opts.update, ci: opts.ci };
  const budget = opts.budget ?? DEFAULT_BUDGET;
  if (hooks.throwBeforeFirstSpec) throw new TypeError('a deliberate internal error (VIOMMU_SPEC_TEST_CRASH=throw)');
  // Marked plans (and a committed `only` under --ci) are settled here; the rest run, and all come back in
  // input order.
  const settled = all.map((plan) => notRun(plan, opts.ci === true));
  const toRun = all.filter((_, i) => settled[i] === undefined);
  const bail = opts.bail;
  let failures = settled.filter((o) => o?.status === 'failed').length;
  const bailed = (): boolean => bail !== undefined && failures >= bail;
  const ran: SpecOutcome[] = [];
  let signal: StopSignal | undefined;
  if ((opts.jobs ?? 1) > 1 && toRun.length >= Math.max(2, opts.threadsFrom ?? 2)) {
    const { runInWorkers } = await import('./parallel.js');
    const tasks = toRun.map((plan) => ({ plan, mode, budget, detail: opts.detail === true }));
    const r = await runInWorkers(
      tasks,
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
    for (const [i, plan] of toRun.entries()) {
      if (interruption?.signal || bailed()) break;
      onProgress?.(i, toRun.length);
      const o = runPlan(plan, mode, budget, opts.detail === true);
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
  const lastRan = all.reduce((last, plan, i) => (byId.has(plan.id) ? i : last), -1);
  const outcomes = all.flatMap((plan, i) => {
    const o = byId.get(plan.id) ?? (stoppedEarly && i > lastRan ? undefined : settled[i]);
    return o ? [o] : [];
  });
  return {
    outcomes,
    skipped,
    referencedGoldens,
    selected: all.length,
    ...(signal ? { interrupted: signal } : {}),
    ...(bailed() && outcomes.length < all.length ? { bailed: failures } : {}),
  };
}
