import { relative } from 'node:path';
import { captureEndState, type EndState } from '../runtime/exec/capture.js';
import { execute } from '../runtime/exec/executor.js';
import { diffRun, type Mismatch } from '../runtime/check/diff.js';
import { checkGolden, goldenPath, type GoldenMode } from '../runtime/check/golden.js';
import { sweep, type SweepTable } from '../runtime/exec/sweep.js';
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
  readonly root: string;
  readonly filter?: string;
  readonly tags?: readonly string[];
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

function golden(plan: Plan, value: EndState | SweepTable, mode: GoldenMode, mismatches: Mismatch[]): string | undefined {
  const caseName = plan.id.includes('#') ? plan.id.slice(plan.id.indexOf('#') + 1) : undefined;
  const path = goldenPath(plan.file, caseName);
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

/** Runs one plan on a fresh machine and diffs it with what the spec states (and its golden file). */
export function runPlan(plan: Plan, mode: GoldenMode): SpecOutcome {
  if (plan.sweep) {
    const table = sweep(plan, plan.sweep.scope, plan.sweep.invariants);
    const { mismatches, goldenWritten } = sweepMismatches(plan, table, mode);
    return {
      id: plan.id,
      file: plan.file,
      name: plan.name,
      tags: plan.tags,
      status: mismatches.length ? 'failed' : 'passed',
      mismatches: mismatches.map((m) => locate(plan.source, m)),
      errors: [],
      sweep: table,
      plan,
      ...(goldenWritten ? { goldenWritten } : {}),
    };
  }
  const run = execute(plan);
  const state = captureEndState(run);
  const mismatches = diffRun(plan, run, state);
  const goldenWritten = plan.golden ? golden(plan, state, mode, mismatches) : undefined;
  return {
    id: plan.id,
    file: plan.file,
    name: plan.name,
    tags: plan.tags,
    status: mismatches.length ? 'failed' : 'passed',
    mismatches: mismatches.map((m) => locate(plan.source, m)),
    errors: [],
    state,
    plan,
    ...(goldenWritten ? { goldenWritten } : {}),
  };
}

function selected(plan: Plan, opts: RunOptions): boolean {
  if (opts.tags?.length && !opts.tags.some((t) => plan.tags.includes(t))) return false;
  if (opts.filter && !plan.id.includes(opts.filter) && !plan.name.includes(opts.filter)) return false;
  return true;
}

/** Validates every file first: a suite with an invalid spec runs nothing and writes no golden file. */
export function runFiles(files: readonly string[], opts: RunOptions, onProgress?: (done: number, total: number, id: string) => void): { outcomes: SpecOutcome[]; skipped: number } {
  const plans: Plan[] = [];
  const invalids: SpecOutcome[] = [];
  for (const file of files) {
    const r = planFile(file, opts.root);
    if ('invalid' in r) invalids.push(r.invalid);
    else plans.push(...r.plans);
  }
  if (invalids.length) return { outcomes: invalids, skipped: plans.length };
  const chosen = plans.filter((p) => selected(p, opts));
  const outcomes = chosen.map((p, i) => {
    onProgress?.(i, chosen.length, p.id);
    return runPlan(p, opts);
  });
  return { outcomes, skipped: plans.length - chosen.length };
}
