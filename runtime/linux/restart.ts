import { FORK, type Forker } from '../base/fork.js';
import { invariant } from '../base/model-bug.js';
import type { CallPath } from '../fault/inject.js';

/**
 * Restart points: where a sweep may fork a run in the middle of a driver call, not only between steps, so
 * that a failure point deep inside one long call (the thousandth table allocation of a 2 GiB map) costs its
 * run what follows the point instead of the call up to it.
 *
 * The contract has two sides:
 * - A walk that can go on from its own state marks a restart point before a fallible call, naming that
 *   state (its position). The generic_pt map walk can: it descends again from range.va, as its -EAGAIN
 *   re-dispatch already does.
 * - An entry point declared restartable only reads the machine until it reaches that walk, and calls it at
 *   most once.
 *
 * A run started from a fork taken at a restart point makes the step's call again, with the same arguments:
 * the entry point reads what it read before, and the walk, finding its position pending, resumes from it.
 * What the run then does is what the run failing that point would have done from boot; the sweep tests
 * compare the two for every shipped sweep.
 */
export interface RestartPosition {
  /** The walk that marked the point and will take the position back (a fork's copy of it in a fork). */
  readonly walk: object;
}

/** Sees each restart point inside a restartable call; the machine is paused there, `pending` set. */
export type RestartListener = () => void;

export class Restarts {
  private listener: RestartListener | undefined;
  /** Call-path depth at which the restartable call began; -1 when none is running. */
  private entryDepth = -1;
  /** Set at a restart point while the listener sees it; in a fork taken there, the position to resume. */
  private pending: RestartPosition | undefined;

  /** A fork keeps the pending position (the walk's state, copied with the walk) but not the listener. */
  [FORK](f: Forker): object {
    const copy = f.remember(this, new Restarts());
    copy.entryDepth = this.entryDepth;
    copy.pending = f.copy(this.pending, 'pending');
    return copy;
  }

  /** Tells `listener` of every restart point from now on, until `listen(undefined)`. */
  listen(listener: RestartListener | undefined): void {
    this.listener = listener;
  }

  /** True when a listener will see a restart point now: a walk need not build its position otherwise. */
  get wanted(): boolean {
    return this.listener !== undefined && this.entryDepth >= 0;
  }

  /** Runs a restartable entry point; on a fork taken at a restart point, first unwinds to where it began. */
  run<T>(path: CallPath, body: () => T): T {
    if (this.pending !== undefined) path.unwindTo(this.entryDepth);
    else this.entryDepth = path.depth;
    let result: T;
    try {
      result = body();
    } finally {
      // A budget that ran out on the way unwinds through here too, and must stay what the run reports.
      this.entryDepth = -1;
    }
    invariant(this.pending === undefined, 'a restarted call returned without reaching its restart point again');
    return result;
  }

  /** Marks a restart point of a walk: the listener, if any, sees the machine paused here. */
  point<P extends RestartPosition>(position: P): void {
    if (!this.wanted) return;
    this.pending = position;
    try {
      this.listener!();
    } finally {
      this.pending = undefined;
    }
  }

  /** The position a fork left for `walk` to resume from, once; undefined when the call starts afresh. */
  take<P extends RestartPosition>(walk: P['walk']): P | undefined {
    const p = this.pending;
    if (p === undefined || p.walk !== walk) return undefined;
    this.pending = undefined;
    return p as P;
  }
}
