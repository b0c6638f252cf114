import { stringify } from 'yaml';
import { hex } from '../runtime/base/format.js';
import { captureEndState } from '../runtime/exec/capture.js';
import { execute } from '../runtime/exec/executor.js';
import type { Plan, PlanStep } from '../runtime/plan/plan.js';
import { isLoopValue } from '../runtime/plan/loop.js';

/** Bigints as hex strings, so the plan prints as readable YAML. */
function printable(v: unknown): unknown {
  if (typeof v === 'bigint') return hex(v);
  if (Array.isArray(v)) return v.map(printable);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, printable(x)]));
  return v;
}

/** The compiled plan, then the full end state with every live domain's page table decoded entry by entry. */
export function explain(plan: Plan): string {
  const run = execute(plan);
  const state = captureEndState(run);
  const tables = run.machine.view.domains().map((d) => ({
    domain: d.id,
    root: hex(d.top.pa),
    mode: d.top.mode,
    leaves: d
      .leaves()
      .map((l) => `iova=${hex(l.iova)} size=${hex(1n << BigInt(l.lg2))} pa=${hex(l.pa)} entry=${hex(l.entry)}`),
  }));
  const machine = { nodes: plan.machine.nodes, ...plan.machine.vendor, faults: plan.faults };
  // An argument evaluated per repetition is shown as written (`1G + ${i} * 4K`).
  const action = (a: PlanStep['action']): PlanStep['action'] =>
    a.kind === 'call'
      ? { ...a, args: Object.fromEntries(Object.entries(a.args).map(([k, v]) => [k, isLoopValue(v) ? v.text : v])) }
      : a;
  const steps = plan.steps.map((s) => ({
    name: s.name,
    ...action(s.action),
    repeat: s.repeatVar ? { count: s.repeat, var: s.repeatVar } : s.repeat,
  }));
  return stringify(
    { plan: printable({ id: plan.id, name: plan.name, machine, steps }), page_tables: tables, end_state: state },
    { lineWidth: 0 },
  );
}
