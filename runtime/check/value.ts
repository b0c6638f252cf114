import { hex } from '../base/format.js';
import type { RunResult } from '../exec/executor.js';
import { machineSymbols } from '../exec/symbols.js';
import { isAllocRef, type ValueExpr } from '../plan/plan.js';
import { evaluate, type Evaluated } from '../plan/value.js';

/** Resolves an expectation's expression against the machine (loop variables bound as given). */
export function resolveValue(e: ValueExpr, run: RunResult, vars: Readonly<Record<string, bigint>> = {}): Evaluated {
  return evaluate(e, vars, machineSymbols(run.machine));
}

/** The expression as a spec writes it in the compact form, for messages. */
export function showValue(e: ValueExpr): string {
  if (typeof e === 'bigint') return hex(e);
  if (isAllocRef(e))
    return `alloc(${e.alloc}${e.nth === 1 ? '' : `, ${e.nth}`})${e.offset ? ` + ${hex(e.offset)}` : ''}`;
  switch (e.kind) {
    case 'table':
      return `table(${e.domain}, L${e.level}, ${hex(e.iova)})`;
    case 'domain':
      return `domain(${e.domain})`;
    case 'va':
      return `va(${showValue(e.of)})`;
    case 'var':
      return `\${${e.name}}`;
    case 'op': {
      const side = (x: ValueExpr): string =>
        typeof x === 'object' && 'kind' in x && x.kind === 'op' ? `(${showValue(x)})` : showValue(x);
      return `${side(e.a)} ${e.op} ${side(e.b)}`;
    }
  }
}
