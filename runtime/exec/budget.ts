/** Limits on a run's simulated work, so a runaway spec stops with a message instead of exhausting memory. */
export interface Budget {
  /** Pages of simulated memory materialised (4 KiB each). */
  readonly pages: number;
  /** Commands the IOMMUs execute. */
  readonly commands: number;
  /** Driver calls and accesses, repetitions included. */
  readonly steps: number;
}

export const DEFAULT_BUDGET: Budget = { pages: 4_000_000, commands: 10_000_000, steps: 1_000_000 };

export const BUDGET_FLAG: Record<keyof Budget, string> = { pages: '--max-pages', commands: '--max-commands', steps: '--max-steps' };

const WHAT: Record<keyof Budget, string> = { pages: 'touched pages of simulated memory', commands: 'executed IOMMU commands', steps: 'steps (repetitions included)' };

/** Thrown from deep inside the model; the runner turns it into a failed spec, never a crash. */
export class BudgetExceededError extends Error {
  constructor(
    readonly budget: keyof Budget,
    readonly limit: number,
  ) {
    super(`the run went past its budget of ${limit} ${WHAT[budget]}; raise it with ${BUDGET_FLAG[budget]}`);
    this.name = 'BudgetExceededError';
  }
}
