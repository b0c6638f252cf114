import type { BudgetName } from '../runtime/base/budget.js';

/** The command-line flag that raises each budget. */
export const BUDGET_FLAG: Readonly<Record<BudgetName, string>> = {
  pages: '--max-pages',
  commands: '--max-commands',
  steps: '--max-steps',
};
