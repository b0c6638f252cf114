import { FORK, type Forker } from './fork.js';
/**
 * Limits on everything a spec can make the tool do, so a runaway spec stops with a message instead of
 * exhausting memory or hanging a CI job: pages of simulated memory touched, commands executed, steps
 * taken, the size of the captured end state (leaves enumerated, log lines, events), and wall time.
 */
export interface Budget {
  /** Pages of simulated memory materialised (4 KiB each). */
  readonly pages: number;
  /** Commands the IOMMUs execute. */
  readonly commands: number;
  /** Driver calls and accesses, repetitions included. */
  readonly steps: number;
  /** Page-table leaves enumerated for the end state and the checks. */
  readonly leaves: number;
  /** Kernel log lines printed. */
  readonly logLines: number;
  /** Kernel and hardware events recorded. */
  readonly events: number;
  /** Wall time of one spec (a whole sweep included), in milliseconds. */
  readonly timeoutMs: number;
}

export type BudgetName = keyof Budget;

/**
 * Defaults sized so the worst a spec can do stays well inside a developer machine: a million touched pages
 * (4 GiB of simulated memory) and a million commands keep the tool's own memory to a few GiB.
 */
export const DEFAULT_BUDGET: Budget = {
  pages: 1_000_000,
  commands: 1_000_000,
  steps: 1_000_000,
  leaves: 4_000_000,
  logLines: 100_000,
  events: 100_000,
  timeoutMs: 60_000,
};

/** What each budget counts, for messages. */
export const BUDGET_UNITS: Readonly<Record<BudgetName, string>> = {
  pages: 'touched pages of simulated memory',
  commands: 'executed IOMMU commands',
  steps: 'steps (repetitions included)',
  leaves: 'page-table leaves enumerated for the end state',
  logLines: 'kernel log lines',
  events: 'kernel and hardware events',
  timeoutMs: 'milliseconds of wall time',
};

/**
 * Thrown from deep inside the model when a run goes past a budget; the runner turns it into a failed spec,
 * never a crash. `where` names what was running (the step, or the end-state capture); the application
 * layer adds how to raise the limit.
 */
export class BudgetExceededError extends Error {
  constructor(
    readonly budget: BudgetName,
    readonly limit: number,
    readonly where?: string,
    /** Index of the step that overran, when a step did. */
    readonly step?: number,
  ) {
    const what =
      budget === 'timeoutMs' ? `time limit of ${limit / 1000} s` : `budget of ${limit} ${BUDGET_UNITS[budget]}`;
    super(`${where ? `${where} went` : 'the run went'} past its ${what}`);
    this.name = 'BudgetExceededError';
  }

  /** The same overrun, attributed to `where` (and a step) unless it already names a place. */
  in(where: string, step?: number): BudgetExceededError {
    return this.where ? this : new BudgetExceededError(this.budget, this.limit, where, step);
  }
}

/** Checks a spec's work against its budget as it goes; one per spec, a sweep's runs included. */
export class Meter {
  private readonly deadline: number;
  private ticks = 0;

  constructor(
    readonly budget: Budget,
    now: number = Date.now(),
  ) {
    this.deadline = now + budget.timeoutMs;
  }

  /** A forked machine spends the same budget as the run it came from: the meter is the spec's, not the machine's. */
  [FORK](f: Forker): object {
    return f.remember(this, this);
  }

  /** Throws when `count` of `what` is past its limit. */
  check(what: Exclude<BudgetName, 'timeoutMs'>, count: number): void {
    if (count > this.budget[what]) throw new BudgetExceededError(what, this.budget[what]);
  }

  /** Checks the wall clock, cheaply: every 1024th call reads it. */
  tick(): void {
    if ((++this.ticks & 1023) === 0) this.checkTime();
  }

  checkTime(): void {
    if (Date.now() > this.deadline) throw new BudgetExceededError('timeoutMs', this.budget.timeoutMs);
  }
}
