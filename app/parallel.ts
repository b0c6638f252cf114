import { Worker } from 'node:worker_threads';
import { packageFile } from '../dsl/package-file.js';
import { ModelBugError } from '../runtime/base/model-bug.js';
import type { SpecOutcome } from '../runtime/report/outcome.js';
import type { Interruption, StopSignal } from './signals.js';
import type { WorkerResult, WorkerTask } from './worker.js';

/** An unexpected error in a worker thread, carried to the main thread as the bug of the tool it is. */
export class WorkerCrash extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkerCrash';
  }
}

/**
 * Runs `count` tasks on `jobs` worker threads, handing each worker the next task as it finishes one; `task(i)`
 * makes the i-th when it is handed out (so the caller can let go of what it was made from). Results are
 * stored by task index, so the output order is the input order whatever the timing. After a SIGINT or
 * SIGTERM (or once `stop` says so) no new task is handed out; the tasks in hand finish, and the outcomes so
 * far (in input order) come back with the signal.
 */
export function runInWorkers(
  count: number,
  task: (i: number) => Omit<WorkerTask, 'index'>,
  jobs: number,
  interruption: Interruption | undefined,
  onDone?: (done: number, outcome: SpecOutcome) => void,
  /** Checked before each task is handed out: true stops the run as a signal would (--bail). */
  stop: () => boolean = () => false,
): Promise<{ outcomes: SpecOutcome[]; interrupted?: StopSignal }> {
  const results = new Array<SpecOutcome>(count);
  let next = 0;
  let done = 0;
  return new Promise((resolve, reject) => {
    // The compiled worker, even when the caller runs from source: a worker thread cannot run TypeScript.
    const script = packageFile('dist/app/worker.js');
    const workers = Array.from({ length: Math.min(jobs, count) }, () => new Worker(script));
    let busy = 0;
    const finish = (): void => {
      for (const w of workers) void w.terminate();
    };
    const settle = (): void => {
      finish();
      const signal = interruption?.signal;
      // The tasks that finished, in input order (with workers they need not be a prefix of it).
      resolve({ outcomes: results.filter((o) => o !== undefined), ...(signal ? { interrupted: signal } : {}) });
    };
    const feed = (w: Worker): void => {
      if (next < count && !interruption?.signal && !stop()) {
        w.postMessage({ ...task(next), index: next } satisfies WorkerTask);
        next++;
        busy++;
      } else if (busy === 0) settle();
    };
    for (const w of workers) {
      w.on('message', (r: WorkerResult) => {
        busy--;
        if ('modelBug' in r || 'crash' in r) {
          finish();
          reject('modelBug' in r ? new ModelBugError(r.modelBug) : new WorkerCrash(r.crash));
          return;
        }
        results[r.index] = r.outcome;
        onDone?.(++done, r.outcome);
        feed(w);
      });
      w.on('error', (err) => {
        finish();
        reject(err);
      });
      feed(w);
    }
  });
}
