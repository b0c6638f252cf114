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
 * A run paused before step `next`: its machine and what the steps before did. A sweep keeps a fork of the
 * fault-free run at a step (runtime/base/fork.ts) to try that step's failure points from there.
 */
export interface Checkpoint {
  readonly machine: VendorMachine;
  readonly next: number;
  readonly steps: readonly StepResult[];
  readonly oopses: readonly OopsReport[];
  /** Entry-point calls and accesses made so far (the spec's `steps` budget counts them over the run). */
  readonly calls: number;
}

/** Sees the run before each step, paused: where a sweep takes its forks. */
export type BeforeStep = (paused: Checkpoint) => void;

/**
 * Boots a fresh machine and runs the plan's steps on it. Driver and hardware outcomes are values (returns,
 * oopses, events); only a ModelBugError or a budget escapes, because those are not the driver's doing. A
 * budget overrun names the step that overran.
 */
export function execute(
  plan: Plan,
  meter: Meter = new Meter(DEFAULT_BUDGET),
  afterStep?: (partial: RunResult, step: PlanStep) => void,
  beforeStep?: BeforeStep,
): RunResult {
  return runSteps(plan, boot(plan, meter), meter, afterStep, beforeStep);
}

/** A fresh machine for the plan, booted with its faults, before its first step. */
export function boot(plan: Plan, meter: Meter): Checkpoint {
  const m = vendorOf(plan.machine.vendor).boot(plan.machine.nodes, plan.machine.vendor, plan.faults, meter);
  return { machine: m, next: 0, steps: [], oopses: [], calls: 0 };
}

/**
 * Runs the plan's steps from `from.next` on `from.machine` (which it changes: pass a fork to keep the
 * checkpoint), after the steps `from` already ran: the same run `execute` makes when the machine is the one
 * that run had at that step.
 */
export function resume(plan: Plan, from: Checkpoint, meter: Meter, beforeStep?: BeforeStep): RunResult {
  return runSteps(plan, from, meter, undefined, beforeStep);
}

function runSteps(
  plan: Plan,
  from: Checkpoint,
  meter: Meter,
  afterStep?: (partial: RunResult, step: PlanStep) => void,
  beforeStep?: BeforeStep,
): RunResult {
  const m = from.machine;
  const steps: StepResult[] = [...from.steps];
  const oopses: OopsReport[] = [...from.oopses];
  let calls = from.calls;
  for (const step of plan.steps.slice(from.next)) {
    beforeStep?.({ machine: m, next: step.index, steps: [...steps], oopses: [...oopses], calls });
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
