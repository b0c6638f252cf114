import { parentPort } from 'node:worker_threads';
import type { Budget } from '../runtime/base/budget.js';
import { ModelBugError } from '../runtime/base/model-bug.js';
import type { GoldenMode } from '../runtime/check/golden.js';
import type { Plan } from '../runtime/plan/plan.js';
import type { SpecOutcome } from '../runtime/report/outcome.js';
import { runPlan } from './runner.js';

/** A job: run one compiled plan (plain data, so it crosses the thread boundary as it is). */
export interface WorkerTask {
  readonly index: number;
  readonly plan: Plan;
  readonly mode: GoldenMode;
  readonly budget: Budget;
  /** Collect the report detail (plain data, so it crosses back as it is). */
  readonly detail: boolean;
}

export type WorkerResult =
  | { readonly index: number; readonly outcome: SpecOutcome }
  | { readonly index: number; readonly modelBug: string }
  | { readonly index: number; readonly crash: string };

/** What crosses back: everything but the end state (the reporters do not show it; `detail` is what they do). */
export function portable(o: SpecOutcome): SpecOutcome {
  const { state: _state, ...rest } = o;
  return rest;
}

parentPort?.on('message', (task: WorkerTask) => {
  let result: WorkerResult;
  try {
    result = { index: task.index, outcome: portable(runPlan(task.plan, task.mode, task.budget, task.detail)) };
  } catch (e) {
    result =
      e instanceof ModelBugError
        ? { index: task.index, modelBug: e.message }
        : { index: task.index, crash: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
  parentPort!.postMessage(result);
});
