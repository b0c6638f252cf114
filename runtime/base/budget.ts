/** Limits on a run's simulated work, so a runaway spec stops with a message instead of exhausting memory. */
export interface Budget {
  /** Pages of simulated memory materialised (4 KiB each). */
  readonly pages: number;
  /** Commands the IOMMUs execute. */
  readonly commands: number;
  /** Driver calls and accesses, repetitions included. */
  readonly steps: number;
}

export type BudgetName = keyof Budget;

export const DEFAULT_BUDGET: Budget = { pages: 4_000_000, commands: 10_000_000, steps: 1_000_000 };

/** What each budget counts, for messages. */
export const BUDGET_UNITS: Readonly<Record<BudgetName, string>> = {
  pages: 'touched pages of simulated memory',
  commands: 'executed IOMMU commands',
  steps: 'steps (repetitions included)',
};

/**
 * Thrown from deep inside the model when a run goes past a budget; the runner turns it into a failed spec,
 * never a crash. The application layer adds how to raise the limit.
 */
export class BudgetExceededError extends Error {
  constructor(
    readonly budget: BudgetName,
    readonly limit: number,
  ) {
    super(`the run went past its budget of ${limit} ${BUDGET_UNITS[budget]}`);
    this.name = 'BudgetExceededError';
  }
}
