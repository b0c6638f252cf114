import { relative } from 'node:path';
import { captureEndState, type EndState } from '../runtime/exec/capture.js';
import { execute } from '../runtime/exec/executor.js';
import { diffRun, type Mismatch } from '../runtime/check/diff.js';
import { checkGolden, goldenPath, type GoldenMode } from '../runtime/check/golden.js';
import { sweep, type SweepTable } from '../runtime/exec/sweep.js';
import { BudgetExceededError, DEFAULT_BUDGET, type Budget } from '../runtime/exec/budget.js';
import { siteMatcher } from '../runtime/fault/inject.js';
import { compileSpec } from './compile.js';
import { renderSpecError, type SpecError } from './errors.js';
import { loadSpecFile, type LoadedSpec } from './load.js';
import type { Plan } from './plan.js';

export type Status = 'passed' | 'failed' | 'invalid';

/** The outcome of one spec (or one case): data for the reporters, never printed here. */
export interface SpecOutcome {
  readonly id: string;
  readonly file: string;
  readonly name: string;
  readonly tags: readonly string[];
  readonly status: Status;
  readonly mismatches: readonly LocatedMismatch[];
  /** Bad-spec errors, already rendered with their source lines. */
  readonly errors: readonly string[];
  readonly state?: EndState;
  readonly sweep?: SweepTable;
  readonly plan?: Plan;
  readonly goldenWritten?: string;
}

export interface LocatedMismatch extends Mismatch {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly source: string;
}

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
}

function invalid(file: string, errors: readonly SpecError[], lines: (f: string) => readonly string[]): SpecOutcome {
  return { id: file, file, name: file, tags: [], status: 'invalid', mismatches: [], errors: errors.map((e) => renderSpecError(e, lines(e.file))) };
}

/** Loads and compiles a file's specs; the plans, or the file as one invalid outcome. */
export function planFile(file: string, root: string): { plans: Plan[] } | { invalid: SpecOutcome } {
  const loaded = loadSpecFile(file, root);
  if (!loaded.ok) return { invalid: invalid(relative(process.cwd(), file) || file, loaded.errors, loaded.lines) };
  const plans: Plan[] = [];
  const errors: SpecError[] = [];
  for (const spec of loaded.specs) {
    const c = compileSpec(spec);
    if (c.ok) plans.push(c.plan);
    else errors.push(...c.errors);
  }
  if (errors.length) return { invalid: invalid(loaded.specs[0]!.file, errors, loaded.specs[0]!.lines) };
  return { plans };
}

function locate(spec: LoadedSpec, m: Mismatch): LocatedMismatch {
  const where = spec.spanOf(m.path);
  return { ...m, file: where.file, line: where.span.line, col: where.span.col, source: spec.lines(where.file)[where.span.line - 1] ?? '' };
}

function caseOf(plan: Plan): string | undefined {
  return plan.id.includes('#') ? plan.id.slice(plan.id.indexOf('#') + 1) : undefined;
}

function golden(plan: Plan, value: EndState | SweepTable, mode: GoldenMode, mismatches: Mismatch[]): string | undefined {
  const path = goldenPath(plan.file, caseOf(plan));
  const g = checkGolden(path, value, mode);
  if (g.mismatch) mismatches.push(g.mismatch);
  return g.wrote ? path : undefined;
}

/** Compares a sweep table with its golden file and the spec's per-point expectations. */
function sweepMismatches(plan: Plan, table: SweepTable, mode: GoldenMode): { mismatches: Mismatch[]; goldenWritten?: string } {
  const sw = plan.sweep!;
  const mismatches: Mismatch[] = [];
  if (!table.complete) mismatches.push({ path: ['sweep', 'max_runs'], title: `the sweep stopped after ${table.rows.length} runs with points left`, expected: ['every point tried'], actual: [`${table.points - table.rows.length} untried`] });
  sw.expect.forEach((e, i) => {
    const match = siteMatcher(e.point);
    const rows = table.rows.filter((r) => match(r.point));
    const path = ['sweep', 'expect', i];
    if (rows.length === 0) mismatches.push({ path, title: `no run failed a point matching \`${e.point}\``, expected: [e.point], actual: table.rows.map((r) => r.point) });
    for (const r of rows) {
      if (e.steps && e.steps.join('\n') !== r.steps.join('\n')) mismatches.push({ path: [...path, 'steps'], title: `steps of ${r.point} differ`, expected: e.steps, actual: r.steps });
      if (e.violations && e.violations.join('\n') !== r.violations.join('\n')) mismatches.push({ path: [...path, 'violations'], title: `invariant violations of ${r.point} differ`, expected: e.violations, actual: r.violations });
      if (e.oops !== undefined && e.oops !== (r.oops !== null)) mismatches.push({ path: [...path, 'oops'], title: `${r.point} ${r.oops ? 'oopsed' : 'did not oops'}`, expected: [String(e.oops)], actual: [r.oops ?? 'no oops'] });
    }
  });
  const written = plan.golden ? golden(plan, table, mode, mismatches) : undefined;
  if (!plan.golden && sw.expect.length === 0) {
    const bad = [table.baseline, ...table.rows].filter((r) => r.violations.length);
    if (bad.length) mismatches.push({ path: ['sweep'], title: `${bad.length} runs broke invariants`, expected: [], actual: bad.flatMap((r) => r.violations.map((v) => `${r.point}: ${v}`)) });
  }
  return { mismatches, ...(written ? { goldenWritten: written } : {}) };
}

/** A plan's outcome: failed when anything mismatched, each mismatch placed at the spec line that stated it. */
function outcome(plan: Plan, mismatches: readonly Mismatch[], extra: Pick<SpecOutcome, 'state' | 'sweep' | 'goldenWritten'> = {}): SpecOutcome {
  return {
    id: plan.id,
    file: plan.file,
    name: plan.name,
    tags: plan.tags,
    status: mismatches.length ? 'failed' : 'passed',
    mismatches: mismatches.map((m) => locate(plan.source, m)),
    errors: [],
    plan,
    ...Object.fromEntries(Object.entries(extra).filter(([, v]) => v !== undefined)),
  };
}

/** A run stopped by its budget: a failed spec with the message saying which budget and how to raise it. */
function overBudget(plan: Plan, e: BudgetExceededError): SpecOutcome {
  return outcome(plan, [{ path: ['steps'], title: e.message, expected: [`at most ${e.limit}`], actual: ['more'] }]);
}

/** Runs one plan on a fresh machine and diffs it with what the spec states (and its golden file). */
export function runPlan(plan: Plan, mode: GoldenMode, budget: Budget = DEFAULT_BUDGET): SpecOutcome {
  try {
    return runWithin(plan, mode, budget);
  } catch (e) {
    if (e instanceof BudgetExceededError) return overBudget(plan, e);
    throw e;
  }
}

function runWithin(plan: Plan, mode: GoldenMode, budget: Budget): SpecOutcome {
  if (plan.sweep) {
    const table = sweep(plan, plan.sweep.scope, plan.sweep.invariants, budget);
    const { mismatches, goldenWritten } = sweepMismatches(plan, table, mode);
    return outcome(plan, mismatches, { sweep: table, goldenWritten });
  }
  const run = execute(plan, budget);
  const state = captureEndState(run);
  const mismatches = diffRun(plan, run, state);
  const goldenWritten = plan.golden ? golden(plan, state, mode, mismatches) : undefined;
  return outcome(plan, mismatches, { state, goldenWritten });
}

function selected(plan: Plan, opts: RunOptions): boolean {
  if (opts.tags?.length && !opts.tags.some((t) => plan.tags.includes(t))) return false;
  if (opts.filter && !plan.id.includes(opts.filter) && !plan.name.includes(opts.filter)) return false;
  return true;
}

/** The i-th of n contiguous slices of a sorted list, as vitest and Playwright shard. */
export function shardOf<T>(items: readonly T[], [i, n]: readonly [number, number]): T[] {
  return items.slice(Math.floor(((i - 1) * items.length) / n), Math.floor((i * items.length) / n));
}

/**
 * Validates every file first: a suite with an invalid spec runs nothing and writes no golden file. Then
 * runs the selected plans, on worker threads when asked, reporting in input order either way.
 */
export async function runFiles(
  files: readonly { file: string; root: string }[],
  opts: RunOptions,
  onProgress?: (done: number, total: number) => void,
): Promise<{ outcomes: SpecOutcome[]; skipped: number; referencedGoldens: string[] }> {
  const plans: { plan: Plan; root: string }[] = [];
  const invalids: SpecOutcome[] = [];
  for (const f of files) {
    const r = planFile(f.file, f.root);
    if ('invalid' in r) invalids.push(r.invalid);
    else plans.push(...r.plans.map((plan) => ({ plan, root: f.root })));
  }
  if (invalids.length) return { outcomes: invalids, skipped: plans.length, referencedGoldens: [] };
  const referencedGoldens = plans.filter((p) => p.plan.golden).map((p) => relative('.', goldenPath(p.plan.file, caseOf(p.plan))));
  const filtered = plans.filter((p) => selected(p.plan, opts));
  const chosen = opts.shard ? shardOf(filtered, opts.shard) : filtered;
  const skipped = plans.length - chosen.length;
  const mode = { update: opts.update, ci: opts.ci };
  if ((opts.jobs ?? 1) > 1 && chosen.length >= Math.max(2, opts.threadsFrom ?? 2)) {
    const { runInWorkers } = await import('./parallel.js');
    const tasks = chosen.map((p) => ({ file: p.plan.file, root: p.root, id: p.plan.id, mode, budget: opts.budget ?? DEFAULT_BUDGET }));
    return { outcomes: await runInWorkers(tasks, opts.jobs!, (d) => onProgress?.(d, chosen.length)), skipped, referencedGoldens };
  }
  const outcomes = chosen.map((p, i) => {
    onProgress?.(i, chosen.length);
    return runPlan(p.plan, mode, opts.budget);
  });
  return { outcomes, skipped, referencedGoldens };
}
