import { relative } from 'node:path';
import { BudgetExceededError, DEFAULT_BUDGET, type Budget } from '../runtime/base/budget.js';
import { diffRun } from '../runtime/check/diff.js';
import { checkGolden, type GoldenMode } from '../runtime/check/golden.js';
import type { Mismatch } from '../runtime/check/mismatch.js';
import { sweep, type SweepTable } from '../runtime/check/sweep.js';
import { CapturedState, type EndState } from '../runtime/exec/capture.js';
import { execute } from '../runtime/exec/executor.js';
import { siteMatcher } from '../runtime/fault/inject.js';
import type { Plan } from '../runtime/plan/plan.js';
import type { SpecOutcome } from '../runtime/report/outcome.js';
import { compileSpec } from '../dsl/compile.js';
import { renderSpecError, type SpecError } from '../dsl/errors.js';
import { loadSpecFile } from '../dsl/load.js';
import { BUDGET_FLAG } from './budget-flags.js';

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

function golden(
  plan: Plan,
  value: EndState | SweepTable,
  mode: GoldenMode,
  mismatches: Mismatch[],
): string | undefined {
  if (!plan.golden) return undefined;
  const g = checkGolden(plan.golden, value, mode);
  if (g.mismatch) mismatches.push(g.mismatch);
  return g.wrote ? plan.golden.path : undefined;
}

/** Compares a sweep table with its golden file and the spec's per-point expectations. */
function sweepMismatches(
  plan: Plan,
  table: SweepTable,
  mode: GoldenMode,
): { mismatches: Mismatch[]; goldenWritten?: string } {
  const sw = plan.sweep!;
  const mismatches: Mismatch[] = [];
  const push = (at: Mismatch['at'], title: string, expected: readonly string[], actual: readonly string[]): void => {
    mismatches.push({ at, title, expected, actual });
  };
  if (!table.complete) {
    push(
      sw.maxRunsAt,
      `the sweep stopped after ${table.rows.length} runs with points left`,
      ['every point tried'],
      [`${table.points - table.rows.length} untried`],
    );
  }
  for (const e of sw.expect) {
    const match = siteMatcher(e.point);
    const rows = table.rows.filter((r) => match(r.point));
    if (rows.length === 0)
      push(
        e.at,
        `no run failed a point matching \`${e.point}\``,
        [e.point],
        table.rows.map((r) => r.point),
      );
    for (const r of rows) {
      if (e.steps && e.steps.join('\n') !== r.steps.join('\n'))
        push(e.stepsAt, `steps of ${r.point} differ`, e.steps, r.steps);
      if (e.violations && e.violations.join('\n') !== r.violations.join('\n')) {
        push(e.violationsAt, `invariant violations of ${r.point} differ`, e.violations, r.violations);
      }
      if (e.oops !== undefined && e.oops !== (r.oops !== null))
        push(e.oopsAt, `${r.point} ${r.oops ? 'oopsed' : 'did not oops'}`, [String(e.oops)], [r.oops ?? 'no oops']);
    }
  }
  const written = golden(plan, table, mode, mismatches);
  if (!plan.golden && sw.expect.length === 0) {
    const bad = [table.baseline, ...table.rows].filter((r) => r.violations.length);
    if (bad.length)
      push(
        sw.at,
        `${bad.length} runs broke invariants`,
        [],
        bad.flatMap((r) => r.violations.map((v) => `${r.point}: ${v}`)),
      );
  }
  return { mismatches, ...(written ? { goldenWritten: written } : {}) };
}

/** A plan's outcome: failed when anything mismatched. */
function outcome(
  plan: Plan,
  mismatches: readonly Mismatch[],
  extra: Pick<SpecOutcome, 'state' | 'sweep' | 'goldenWritten'> = {},
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

/** A run stopped by its budget: a failed spec whose message says which budget and how to raise it. */
function overBudget(plan: Plan, e: BudgetExceededError): SpecOutcome {
  return outcome(plan, [
    {
      at: plan.stepsAt,
      title: `${e.message}; raise it with ${BUDGET_FLAG[e.budget]}`,
      expected: [`at most ${e.limit}`],
      actual: ['more'],
    },
  ]);
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
  const state = new CapturedState(run);
  const mismatches = diffRun(plan, run, state);
  const goldenWritten = plan.golden ? golden(plan, state.all(), mode, mismatches) : undefined;
  return outcome(plan, mismatches, { goldenWritten });
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
  const plans: Plan[] = [];
  const invalids: SpecOutcome[] = [];
  for (const f of files) {
    const r = planFile(f.file, f.root);
    if ('invalid' in r) invalids.push(r.invalid);
    else plans.push(...r.plans);
  }
  if (invalids.length) return { outcomes: invalids, skipped: plans.length, referencedGoldens: [] };
  const referencedGoldens = plans.flatMap((p) => (p.golden ? [relative('.', p.golden.path)] : []));
  const filtered = plans.filter((p) => selected(p, opts));
  const chosen = opts.shard ? shardOf(filtered, opts.shard) : filtered;
  const skipped = plans.length - chosen.length;
  const mode = { update: opts.update, ci: opts.ci };
  const budget = opts.budget ?? DEFAULT_BUDGET;
  if ((opts.jobs ?? 1) > 1 && chosen.length >= Math.max(2, opts.threadsFrom ?? 2)) {
    const { runInWorkers } = await import('./parallel.js');
    const tasks = chosen.map((plan) => ({ plan, mode, budget }));
    return {
      outcomes: await runInWorkers(tasks, opts.jobs!, (d) => onProgress?.(d, chosen.length)),
      skipped,
      referencedGoldens,
    };
  }
  const outcomes = chosen.map((p, i) => {
    onProgress?.(i, chosen.length);
    return runPlan(p, mode, budget);
  });
  return { outcomes, skipped, referencedGoldens };
}
