import { parentPort } from 'node:worker_threads';
import { planFile, runPlan, type SpecOutcome } from './runner.js';
import type { Plan } from './plan.js';
import type { GoldenMode } from '../runtime/check/golden.js';
import type { Budget } from '../runtime/exec/budget.js';
import { ModelBugError } from '../runtime/model-bug.js';

/** A job: run one plan of one file. Plans hold functions, so each worker compiles its files itself. */
export interface WorkerTask {
  readonly index: number;
  readonly file: string;
  readonly root: string;
  readonly id: string;
  readonly mode: GoldenMode;
  readonly budget: Budget;
}

export type WorkerResult = { readonly index: number; readonly outcome: SpecOutcome } | { readonly index: number; readonly modelBug: string };

/** What crosses the thread boundary: everything but the plan (functions) and the end state (not reported). */
export function portable(o: SpecOutcome): SpecOutcome {
  const { plan: _plan, state: _state, ...rest } = o;
  return rest;
}

const compiled = new Map<string, Plan[]>();

parentPort?.on('message', (task: WorkerTask) => {
  let plans = compiled.get(task.file);
  if (!plans) {
    const r = planFile(task.file, task.root);
    plans = 'plans' in r ? r.plans : [];
    compiled.set(task.file, plans);
  }
  const plan = plans.find((p) => p.id === task.id);
  if (!plan) throw new Error(`worker: no plan ${task.id} in ${task.file}`);
  let result: WorkerResult;
  try {
    result = { index: task.index, outcome: portable(runPlan(plan, task.mode, task.budget)) };
  } catch (e) {
    if (!(e instanceof ModelBugError)) throw e;
    result = { index: task.index, modelBug: e.message };
  }
  parentPort!.postMessage(result);
});
