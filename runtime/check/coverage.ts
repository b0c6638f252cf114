import { BudgetExceededError, DEFAULT_BUDGET, Meter, type Budget } from '../base/budget.js';
import { execute } from '../exec/executor.js';
import type { Plan } from '../plan/plan.js';
import { failurePoints, sweep } from './sweep.js';

/** A spec or sweep that fails a point: a sweep's run of it, or a spec's own `faults:` firing there. */
export interface Failer {
  readonly id: string;
  readonly by: 'sweep' | 'faults';
}

/** One failure point of the suite, and who passes and fails it. */
export interface CoveredPoint {
  /** `site#call`; a point met only under earlier faults is written as a sweep names it, `a#1 + b#1`. */
  readonly point: string;
  readonly site: string;
  readonly call: number;
  /** Specs whose scenario passes the point with no fault (or, for a chain, sweeps that met it). */
  readonly passedBy: readonly string[];
  readonly failedBy: readonly Failer[];
}

export interface Coverage {
  readonly points: readonly CoveredPoint[];
  /** Plans that are not run (`skip:`, `todo:`): they cover nothing. */
  readonly notRun: readonly string[];
  /** Plans a budget stopped, with the message: what they covered before is kept. */
  readonly stopped: readonly { readonly id: string; readonly why: string }[];
}

/**
 * Which failure points the suite's scenarios pass and which specs fail them, from the same recording the
 * sweeps use: each plan's fault-free run lists the points it passes (`failurePoints`); a sweep fails each
 * point it tries (`sweep`, rows that fired); a spec with `faults:` fails the points its faults fired at.
 * Points keep the order they are first met in (plans in the order given, calls in run order).
 */
export function coverage(plans: readonly Plan[], budget: Budget = DEFAULT_BUDGET): Coverage {
  const points = new Map<string, { site: string; call: number; passedBy: Set<string>; failedBy: Failer[] }>();
  const entry = (point: string): { passedBy: Set<string>; failedBy: Failer[] } => {
    let e = points.get(point);
    if (!e) {
      const last = point.split(' + ').at(-1)!;
      const hash = last.lastIndexOf('#');
      e = { site: last.slice(0, hash), call: Number(last.slice(hash + 1)), passedBy: new Set(), failedBy: [] };
      points.set(point, e);
    }
    return e;
  };
  const notRun: string[] = [];
  const stopped: { id: string; why: string }[] = [];
  for (const plan of plans) {
    if (plan.marker) {
      notRun.push(plan.id);
      continue;
    }
    try {
      cover(plan);
    } catch (e) {
      if (!(e instanceof BudgetExceededError)) throw e;
      stopped.push({ id: plan.id, why: e.message });
    }
  }
  function cover(plan: Plan): void {
    for (const p of failurePoints(plan)) entry(`${p.site}#${p.call}`).passedBy.add(plan.id);
    if (plan.sweep) {
      const table = sweep(plan, plan.sweep.scope, plan.sweep.invariants, new Meter(budget));
      for (const r of table.rows) {
        const e = entry(r.point);
        if (r.discovered) e.passedBy.add(plan.id);
        if (r.fired) e.failedBy.push({ id: plan.id, by: 'sweep' });
      }
    } else if (plan.faults.length) {
      const fired = execute(plan, new Meter(budget)).machine.k.faults.fired;
      for (const f of fired) {
        const e = entry(`${f.point.site}#${f.point.call}`);
        if (!e.failedBy.some((x) => x.id === plan.id)) e.failedBy.push({ id: plan.id, by: 'faults' });
      }
    }
  }
  return {
    points: [...points].map(([point, e]) => ({
      point,
      site: e.site,
      call: e.call,
      passedBy: [...e.passedBy],
      failedBy: e.failedBy,
    })),
    notRun,
    stopped,
  };
}
