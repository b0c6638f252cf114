import { BudgetExceededError, DEFAULT_BUDGET, Meter } from '../base/budget.js';
import { KernelOops, type OopsReport } from '../linux/kptr.js';
import { isAllocRef, type Plan, type PlanStep, type StepAction, type StepKind } from '../plan/plan.js';
import { evaluate, isLoopValue } from '../plan/value.js';
import { machineSymbols } from './symbols.js';
import type { AccessResult, CallReturn, VendorMachine } from '../vendor/vendor.js';
import { vendorOf } from '../vendors/index.js';

/** What one step did: each repetition's return value (or translation), or the oops that ended it. */
export interface StepResult {
  readonly step: PlanStep;
  readonly rets: readonly CallReturn[];
  readonly access?: AccessResult;
  readonly oops?: OopsReport;
  /** An earlier step oopsed and the plan stops there: this one never ran. */
  readonly notRun?: true;
}

export interface RunResult {
  readonly plan: Plan;
  readonly machine: VendorMachine;
  readonly steps: readonly StepResult[];
  readonly oopses: readonly OopsReport[];
}

/** How each kind of step runs: a driver call through the vendor's entry points, or a hardware access. */
type StepRunner<K extends StepKind> = (
  m: VendorMachine,
  action: Extract<StepAction, { kind: K }>,
  vars: Readonly<Record<string, bigint>>,
) => CallReturn | AccessResult;

const STEP_KINDS: { readonly [K in StepKind]: StepRunner<K> } = {
  call: (m, a, vars) => {
    const args: Record<string, number | bigint | string> = {};
    // An allocation named in an argument is looked up when the call is made: it names what exists then.
    for (const [name, v] of Object.entries(a.args))
      args[name] =
        isAllocRef(v) || isLoopValue(v) ? valueOr0(evaluate(isLoopValue(v) ? v.loop : v, vars, machineSymbols(m))) : v;
    return m.call(a.fn, a.iommu, args);
  },
  dma: (m, a) => m.dma(a.iommu, a.devid, a.iova, a.access),
  viommu_access: (m, a) => m.iommuAccess(a.iommu, a.iova, a.access),
  guest_commands: (m, a) => m.guestCommands(a.iommu, a.gid, a.commands, a.tail),
};

/** An argument naming nothing (no such allocation) is passed as 0, as a NULL the driver must cope with. */
const valueOr0 = (r: ReturnType<typeof evaluate>): bigint => ('value' in r ? r.value : 0n);

function runAction(m: VendorMachine, action: StepAction, vars: Record<string, bigint>): CallReturn | AccessResult {
  return (STEP_KINDS[action.kind] as StepRunner<StepKind>)(m, action, vars);
}

/**
 * Boots a fresh machine and runs the plan's steps on it. Driver and hardware outcomes are values (returns,
 * oopses, events); only a ModelBugError or a budget escapes, because those are not the driver's doing. A
 * budget overrun names the step that overran.
 */
export function execute(
  plan: Plan,
  meter: Meter = new Meter(DEFAULT_BUDGET),
  afterStep?: (partial: RunResult, step: PlanStep) => void,
): RunResult {
  const m = vendorOf(plan.machine.vendor).boot(plan.machine.nodes, plan.machine.vendor, plan.faults, meter);
  const steps: StepResult[] = [];
  const oopses: OopsReport[] = [];
  let calls = 0;
  for (const step of plan.steps) {
    if (oopses.length && plan.afterOops === 'stop') {
      steps.push({ step, rets: [], notRun: true });
      continue;
    }
    try {
      meter.checkTime();
      m.k.step = step.index;
      const rets: CallReturn[] = [];
      let access: AccessResult | undefined;
      let oops: OopsReport | undefined;
      const vars: Record<string, bigint> = {};
      for (let r = 0; r < step.repeat && !oops; r++) {
        meter.check('steps', ++calls);
        meter.tick();
        if (step.repeatVar) vars[step.repeatVar] = BigInt(r);
        try {
          const result = runAction(m, step.action, vars);
          if (step.action.kind === 'call') rets.push(result as CallReturn);
          else access = result as AccessResult;
        } catch (e) {
          if (!(e instanceof KernelOops)) throw e;
          oops = e.report;
          oopses.push(e.report);
        }
      }
      steps.push({ step, rets, ...(access ? { access } : {}), ...(oops ? { oops } : {}) });
      if (step.check && afterStep) afterStep({ plan, machine: m, steps: [...steps], oopses: [...oopses] }, step);
    } catch (e) {
      if (e instanceof BudgetExceededError) throw e.in(`step \`${step.name}\``, step.index);
      throw e;
    }
  }
  m.k.step = plan.steps.length;
  m.selfCheck();
  return { plan, machine: m, steps, oopses };
}
