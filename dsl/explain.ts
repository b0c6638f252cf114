import { stringify } from 'yaml';
import { captureEndState } from '../runtime/exec/capture.js';
import { execute } from '../runtime/exec/executor.js';
import { enumerateLeaves } from '../runtime/pt/enumerate.js';
import { ErrPtr } from '../runtime/linux/kptr.js';
import type { Plan } from './plan.js';

const hex = (v: bigint): string => `0x${v.toString(16)}`;

/** Bigints as hex strings, so the plan prints as readable YAML. */
function printable(v: unknown): unknown {
  if (typeof v === 'bigint') return hex(v);
  if (Array.isArray(v)) return v.map(printable);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'source').map(([k, x]) => [k, printable(x)]));
  return v;
}

/** The compiled plan, then the full end state with every live domain's page table decoded entry by entry. */
export function explain(plan: Plan): string {
  const run = execute(plan);
  const state = captureEndState(run);
  const tables = run.machine.driver.iommus.flatMap((iommu, i) => {
    const pdom = iommu.viommu_pdom;
    if (!pdom || pdom instanceof ErrPtr || !pdom.amdv1) return [];
    const { host_pt_root, mode } = pdom.amdv1.hwInfo();
    return [{ iommu: i, domain: pdom.id, root: hex(host_pt_root), mode, leaves: enumerateLeaves(run.machine.k.mem, host_pt_root, mode).map((l) => `iova=${hex(l.iova)} size=${hex(1n << BigInt(l.lg2))} pa=${hex(l.pa)} entry=${hex(l.entry)}`) }];
  });
  return stringify({ plan: printable({ id: plan.id, name: plan.name, machine: plan.machine, steps: plan.steps.map((s) => ({ name: s.name, ...s.action, repeat: s.repeat })) }), page_tables: tables, end_state: state }, { lineWidth: 0 });
}
