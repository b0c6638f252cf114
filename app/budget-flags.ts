import { DEFAULT_BUDGET, type Budget, type BudgetName } from '../runtime/base/budget.js';

/** The command-line flag that raises each budget, with what it takes. */
export const BUDGET_FLAG: Readonly<Record<BudgetName, string>> = {
  pages: '--max-pages',
  commands: '--max-commands',
  steps: '--max-steps',
  leaves: '--max-leaves',
  logLines: '--max-log-lines',
  events: '--max-events',
  timeoutMs: '--timeout',
};

export const BUDGET_HELP: Readonly<Record<BudgetName, string>> = {
  pages: `pages of simulated memory a spec may touch (default ${DEFAULT_BUDGET.pages})`,
  commands: `IOMMU commands a spec may execute (default ${DEFAULT_BUDGET.commands})`,
  steps: `steps a spec may take, repetitions included (default ${DEFAULT_BUDGET.steps})`,
  leaves: `page-table leaves one end-state capture may enumerate (default ${DEFAULT_BUDGET.leaves})`,
  logLines: `kernel log lines a spec may print (default ${DEFAULT_BUDGET.logLines})`,
  events: `kernel and hardware events a spec may record (default ${DEFAULT_BUDGET.events})`,
  timeoutMs: `seconds one spec (a whole sweep included) may run (default ${DEFAULT_BUDGET.timeoutMs / 1000})`,
};

/** The budget from flag values (strings as commander gives them), or the first bad flag. */
export function budgetFromFlags(values: Partial<Record<BudgetName, string>>): Budget | string {
  const out: Record<string, number> = {};
  for (const name of Object.keys(DEFAULT_BUDGET) as BudgetName[]) {
    const text = values[name];
    if (text === undefined) {
      out[name] = DEFAULT_BUDGET[name];
      continue;
    }
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0 || (name !== 'timeoutMs' && !Number.isInteger(n))) {
      return `${BUDGET_FLAG[name]} takes a ${name === 'timeoutMs' ? 'number of seconds' : 'whole number'} above 0, not '${text}'`;
    }
    out[name] = name === 'timeoutMs' ? Math.round(n * 1000) : n;
  }
  return out as unknown as Budget;
}
