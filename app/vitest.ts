import { relative } from 'node:path';
import { describe, it } from 'vitest';
import { DEFAULT_BUDGET, type Budget } from '../runtime/base/budget.js';
import { mismatchText } from '../runtime/report/pretty.js';
import type { SpecOutcome } from '../runtime/report/outcome.js';
import { discoverSpecs } from './discover.js';
import { loadUnits, notRun, runPlan, selectUnits, type Unit } from './runner.js';

/**
 * `viommu-spec/vitest`: spec files as Vitest tests, so `vitest`, `vitest --watch`, `--ui`, Vitest's
 * reporters and editor integrations run specs as they run any test. From a `*.test.ts` file:
 *
 *     import { defineSpecSuite } from 'viommu-spec/vitest';
 *     defineSpecSuite('specs/');
 *
 * Each spec file is a `describe` block, each spec or case one test named by its id; a failure's message is
 * the text the CLI prints (the spec line that stated it and the unified diff). A spec file that does not
 * load or compile is one failing test with the positioned errors.
 */
export interface SpecSuiteOptions {
  /** The suite root (what `extends` may reach); default: the nearest folder holding package.json. */
  readonly root?: string;
  /** Only specs whose id or name contains this text (as `run --filter`). */
  readonly filter?: string;
  /** Spec files or folders to leave out, as paths from the working directory. */
  readonly exclude?: readonly string[];
  /** Only specs with one of these tags (as `run --tag`). */
  readonly tags?: readonly string[];
  /** Write or refresh golden files (as `run --update`); default: VIOMMU_SPEC_UPDATE=1 in the environment. */
  readonly update?: boolean;
  /** A missing golden file fails and a committed `only: true` fails (as `run --ci`); default: the CI variable. */
  readonly ci?: boolean;
  /** Budgets per run, as the `--max-*` flags set them; the rest stay at their defaults. */
  readonly budget?: Partial<Budget>;
  /** Vitest's timeout per spec, in ms; default: the run's own time budget plus 10 s. */
  readonly timeout?: number;
}

/** A spec's failure as Vitest shows it: the CLI's text, no stack (the stack would point into the runner). */
export class SpecFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpecFailure';
    this.stack = `${this.name}: ${message}`;
  }
}

/** The text a failed or invalid outcome shows, the same as the CLI's pretty reporter prints under it. */
export function failureText(o: SpecOutcome): string {
  if (o.status === 'invalid') return o.errors.join('\n').trimEnd();
  return o.mismatches.map((m) => mismatchText(m, false)).join('\n');
}

function check(o: SpecOutcome): void {
  if (o.status === 'failed' || o.status === 'invalid') throw new SpecFailure(`${o.id}\n${failureText(o)}`);
}

/** Declares one Vitest test per spec and case found in `paths` (files, folders, `file#case` ids). */
export function defineSpecSuite(paths: string | readonly string[], options: SpecSuiteOptions = {}): void {
  const args = typeof paths === 'string' ? [paths] : [...paths];
  const found = discoverSpecs(args, options.root);
  if (!found.ok) throw new Error(`viommu-spec: ${found.error}`);
  const excluded = (options.exclude ?? []).map((e) => relative('.', e));
  const files = found.files.filter((f) => !excluded.some((e) => f.file === e || f.file.startsWith(`${e}/`)));
  const loaded = loadUnits(files);
  if ('error' in loaded) throw new Error(`viommu-spec: ${loaded.error}`);
  const update = options.update ?? process.env['VIOMMU_SPEC_UPDATE'] === '1';
  const ci = options.ci ?? (Boolean(process.env['CI']) && !update);
  const mode = { update, ci };
  const budget: Budget = { ...DEFAULT_BUDGET, ...options.budget };
  const timeout = options.timeout ?? budget.timeoutMs + 10_000;
  const { chosen } = selectUnits(loaded.units, {
    ...mode,
    ...(options.filter ? { filter: options.filter } : {}),
    ...(options.tags ? { tags: options.tags } : {}),
  });
  const byFile = new Map<string, Unit[]>();
  for (const u of chosen) {
    const file = u.kind === 'plan' ? u.plan.file : u.id;
    byFile.set(file, [...(byFile.get(file) ?? []), u]);
  }
  for (const [file, units] of byFile) {
    describe(file, () => {
      for (const u of units) {
        if (u.kind === 'invalid') {
          it(u.id, () => check(u.outcome));
          continue;
        }
        const plan = u.plan;
        if (plan.marker?.kind === 'skip') it.skip(`${u.id} (${plan.marker.reason})`, () => {});
        else if (plan.marker?.kind === 'todo') it.todo(`${u.id} (${plan.marker.reason})`);
        else {
          // selectUnits already kept only the `only: true` specs; under ci, notRun fails a committed one.
          const settled = notRun(plan, ci);
          it(u.id, () => check(settled ?? runPlan(plan, mode, budget)), timeout);
        }
      }
    });
  }
}
