import { Worker } from 'node:worker_threads';
import { packageFile } from '../dsl/package-file.js';
import { ModelBugError } from '../runtime/base/model-bug.js';
import type { SpecOutcome } from '../runtime/report/outcome.js';
import type { WorkerResult, WorkerTask } from './worker.js';

/**
 * Runs tasks on `jobs` worker threads, handing each worker the next task as it finishes one. Results are
 * stored by task index, so the output order is the input order whatever the timing.
 */
export function runInWorkers(
  tasks: readonly Omit<WorkerTask, 'index'>[],
  jobs: number,
  onDone?: (done: number) => void,
): Promise<SpecOutcome[]> {
  const results = new Array<SpecOutcome>(tasks.length);
  let next = 0;
  let done = 0;
  return new Promise((resolve, reject) => {
    // The compiled worker, even when the caller runs from source: a worker thread cannot run TypeScript.
    const script = packageFile('dist/app/worker.js');
    const workers = Array.from({ length: Math.min(jobs, tasks.length) }, () => new Worker(script));
    const feed = (w: Worker): void => {
      if (next < tasks.length) {
        w.postMessage({ ...tasks[next]!, index: next } satisfies WorkerTask);
        next++;
      }
    };
    const finish = (): void => {
      for (const w of workers) void w.terminate();
    };
    for (const w of workers) {
      w.on('message', (r: WorkerResult) => {
        if ('modelBug' in r) {
          finish();
          reject(new ModelBugError(r.modelBug));
          return;
        }
        results[r.index] = r.outcome;
        onDone?.(++done);
        if (done === tasks.length) {
          finish();
          resolve(results);
        } else feed(w);
      });
      w.on('error', (err) => {
        finish();
        reject(err);
      });
      feed(w);
    }
  });
}
