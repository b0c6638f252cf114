import { stringify } from 'yaml';
import { hex } from '../runtime/base/format.js';
import { captureEndState } from '../runtime/exec/capture.js';
import { execute } from '../runtime/exec/executor.js';
import type { Plan } from '../runtime/plan/plan.js';

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
  const steps = plan.steps.map((s) => ({ name: s.name, ...s.action, repeat: s.repeat }));
  return stringify(
    { plan: printable({ id: plan.id, name: plan.name, machine, steps }), page_tables: tables, end_state: state },
    { lineWidth: 0 },
  );
}
