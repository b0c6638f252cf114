import type { AllocRef, Plan, PlanStep } from '../../dsl/plan.js';
import { siteMatcher } from '../fault/inject.js';
import type { TranslateResult } from '../hw/iommu.js';
import { ErrPtr, KernelOops, type OopsReport } from '../linux/kptr.js';
import { GFP_KERNEL } from '../linux/gfp.js';
import type { AmdIommu } from '../linux/amd/amd-iommu.js';
import { amd_iommu_completion_wait, iommu_flush_dte } from '../linux/amd/cmd.js';
import { iommu_map, iommu_unmap } from '../linux/amd/iommu-core.js';
import { attach_device, detach_device } from '../linux/amd/attach.js';
import { Machine } from './machine.js';
import { selfCheck } from '../check/self-check.js';
import { BudgetExceededError, DEFAULT_BUDGET, type Budget } from './budget.js';

/** What one step did: each repetition's return value (or translation), or the oops that ended it. */
export interface StepResult {
  readonly step: PlanStep;
  readonly rets: (number | bigint | null)[];
  readonly access?: TranslateResult;
  readonly oops?: OopsReport;
}

export interface RunResult {
  readonly machine: Machine;
  readonly steps: readonly StepResult[];
  readonly oopses: readonly OopsReport[];
}

/** The physical address an allocation reference names, or undefined when no such allocation exists. */
export function resolveAlloc(m: Machine, ref: AllocRef): bigint | undefined {
  const match = siteMatcher(ref.alloc);
  const hit = m.k.ledger.history.filter((a) => match(a.site))[ref.nth - 1];
  return hit === undefined ? undefined : hit.pa + ref.offset;
}

/** attach_device's first touch of the domain is spin_lock(&pdom->lock). */
const PDOM_LOCK = { field: 'protection_domain.lock' } as const;

function call(m: Machine, step: PlanStep, iommu: AmdIommu): number | bigint | null {
  const a = step.action;
  if (a.kind !== 'call') throw new TypeError('not a call');
  const { k, patch } = m;
  switch (a.fn) {
    case 'amd_viommu_init':
      return patch.amd_viommu_init(iommu);
    case 'viommu_private_space_init':
      return patch.viommu_private_space_init(iommu);
    case 'viommu_private_space_uninit':
      patch.viommu_private_space_uninit(iommu);
      return null;
    case 'set_iommu_dte':
      patch.set_iommu_dte(iommu);
      return null;
    case 'iommu_flush_dte':
      return iommu_flush_dte(k, iommu, a.devid!);
    case 'amd_iommu_completion_wait':
      return amd_iommu_completion_wait(k, iommu);
    case 'amd_iommu_flush_private_vm_region':
      return patch.amd_iommu_flush_private_vm_region(iommu, iommu.viommu_pdom, a.iova!, a.size!);
    case 'iommu_map': {
      const pa = typeof a.pa === 'bigint' ? a.pa : (resolveAlloc(m, a.pa!) ?? 0n);
      return iommu_map(k, iommu.viommu_pdom, a.iova!, pa, a.size!, a.prot!, GFP_KERNEL);
    }
    case 'iommu_unmap':
      return iommu_unmap(k, iommu.viommu_pdom, a.iova!, a.size!);
    case 'attach_device':
      return attach_device(m.driver, iommu, m.device(iommu, a.devid!), k.deref(iommu.viommu_pdom, PDOM_LOCK));
    case 'detach_device':
      detach_device(m.driver, iommu, m.device(iommu, a.devid!));
      return null;
    default:
      throw new TypeError(`no executor for ${a.fn}`);
  }
}

/**
 * Boots a fresh machine and runs the plan's steps on it. Driver and hardware outcomes are values (returns,
 * oopses, events); only a ModelBugError escapes, because that is a bug of viommu-spec itself.
 */
export function execute(plan: Plan, budget: Budget = DEFAULT_BUDGET): RunResult {
  const m = new Machine(plan.machine, budget);
  const steps: StepResult[] = [];
  const oopses: OopsReport[] = [];
  let calls = 0;
  for (const step of plan.steps) {
    calls += step.repeat;
    if (calls > budget.steps) throw new BudgetExceededError('steps', budget.steps);
    m.k.step = step.index;
    const a = step.action;
    const iommu = m.iommu(a.iommu);
    if (a.kind !== 'call') {
      const access = a.kind === 'viommu_access' ? m.viommuAccess(a.iommu, a.iova, a.access) : m.dma(a.iommu, a.devid!, a.iova, a.access);
      steps.push({ step, rets: [], access });
      continue;
    }
    const rets: (number | bigint | null)[] = [];
    let oops: OopsReport | undefined;
    for (let r = 0; r < step.repeat && !oops; r++) {
      try {
        rets.push(call(m, step, iommu));
      } catch (e) {
        if (!(e instanceof KernelOops)) throw e;
        oops = e.report;
        oopses.push(e.report);
      }
    }
    steps.push({ step, rets, ...(oops ? { oops } : {}) });
  }
  m.k.step = plan.steps.length;
  selfCheck(m);
  return { machine: m, steps, oopses };
}

export function isErrPtr(v: unknown): v is ErrPtr {
  return v instanceof ErrPtr;
}
