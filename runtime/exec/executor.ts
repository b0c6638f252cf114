import { BudgetExceededError, DEFAULT_BUDGET, Meter } from '../base/budget.js';
import { KernelOops, type OopsReport } from '../linux/kptr.js';
import { isAllocRef, type Plan, type PlanStep, type StepAction } from '../plan/plan.js';
import { evaluate, isLoopValue } from '../plan/value.js';
import { machineSymbols } from './symbols.js';
import type { AccessResult, CallArgs, CallReturn, VendorMachine } from '../vendor/vendor.js';
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

type CallAction = Extract<StepAction, { kind: 'call' }>;
type AccessAction = Exclude<StepAction, CallAction>;

/** How each kind of hardware access step runs (a call step goes through the vendor's entry points). */
const ACCESSES: {
  readonly [K in AccessAction['kind']]: (m: VendorMachine, action: Extract<AccessAction, { kind: K }>) => AccessResult;
} = {
  dma: (m, a) => m.dma(a.iommu, a.devid, a.iova, a.access),
  viommu_access: (m, a) => m.iommuAccess(a.iommu, a.iova, a.access),
  guest_commands: (m, a) => m.guestCommands(a.iommu, a.gid, a.commands, a.tail),
};

function runAccess(m: VendorMachine, action: AccessAction): AccessResult {
  return (ACCESSES[action.kind] as (m: VendorMachine, a: AccessAction) => AccessResult)(m, action);
}

/** Calls the entry point; `pause`, when given, sees each restart point inside the call. */
function runCall(m: VendorMachine, a: CallAction, args: CallArgs, pause?: () => void): CallReturn {
  if (!pause) return m.call(a.fn, a.iommu, args);
  m.k.restarts.listen(pause);
  try {
    return m.call(a.fn, a.iommu, args);
  } finally {
    m.k.restarts.listen(undefined);
  }
}

/** A call's arguments, evaluated now: an allocation named in one is looked up when the call is made. */
function callArgs(m: VendorMachine, a: CallAction, vars: Readonly<Record<string, bigint>>): CallArgs {
  const args: Record<string, number | bigint | string> = {};
  for (const [name, v] of Object.entries(a.args))
    args[name] =
      isAllocRef(v) || isLoopValue(v) ? valueOr0(evaluate(isLoopValue(v) ? v.loop : v, vars, machineSymbols(m))) : v;
  return args;
}

/** An argument naming nothing (no such allocation) is passed as 0, as a NULL the driver must cope with. */
const valueOr0 = (r: ReturnType<typeof evaluate>): bigint => ('value' in r ? r.value : 0n);

/**
 * A run paused before step `next`, or inside it at a restart point (linux/restart.ts): its machine and what
 * the steps before did. A sweep keeps forks of the fault-free run's pauses to try failure points from there.
 */
export interface Checkpoint {
  readonly machine: VendorMachine;
  readonly next: number;
  readonly steps: readonly StepResult[];
  readonly oopses: readonly OopsReport[];
  /** Entry-point calls and accesses made before step `next` (or its repetition `inStep` names). */
  readonly calls: number;
  /** Paused inside step `next`: the call in progress, which a run from here makes again. */
  readonly inStep?: InStep;
}

/** Step `next` paused inside repetition `repetition`, after the repetitions before returned `rets`. */
export interface InStep {
  readonly repetition: number;
  readonly rets: readonly CallReturn[];
  /** The paused call's arguments as evaluated when it was made (the machine has changed since). */
  readonly args: CallArgs;
}

/** Where a run lets a caller see it paused: before each step, and at each restart point inside a call. */
export interface Pauses {
  readonly beforeStep?: (paused: Checkpoint) => void;
  readonly atRestartPoint?: (paused: Checkpoint) => void;
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
  return runSteps(plan, boot(plan, meter), meter, afterStep, {});
}

/** A fresh machine for the plan, booted with its faults, before its first step. */
export function boot(plan: Plan, meter: Meter): Checkpoint {
  const m = vendorOf(plan.machine.vendor).boot(plan.machine.nodes, plan.machine.vendor, plan.faults, meter);
  return { machine: m, next: 0, steps: [], oopses: [], calls: 0 };
}

/**
 * Runs the plan's steps from `from.next` on `from.machine` (which it changes: pass a fork to keep the
 * checkpoint), after the steps `from` already ran: the same run `execute` makes when the machine is the one
 * that run had at that point.
 */
export function resume(plan: Plan, from: Checkpoint, meter: Meter, pauses: Pauses = {}): RunResult {
  return runSteps(plan, from, meter, undefined, pauses);
}

function runSteps(
  plan: Plan,
  from: Checkpoint,
  meter: Meter,
  afterStep: ((partial: RunResult, step: PlanStep) => void) | undefined,
  pauses: Pauses,
): RunResult {
  const m = from.machine;
  const steps: StepResult[] = [...from.steps];
  const oopses: OopsReport[] = [...from.oopses];
  let calls = from.calls;
  for (const step of plan.steps.slice(from.next)) {
    // The step a checkpoint paused inside (the first one only): its repetitions so far and the call to redo.
    const resumed = step.index === from.next ? from.inStep : undefined;
    if (!resumed) pauses.beforeStep?.({ machine: m, next: step.index, steps: [...steps], oopses: [...oopses], calls });
    if (oopses.length && plan.afterOops === 'stop') {
      steps.push({ step, rets: [], notRun: true });
      continue;
    }
    try {
      meter.checkTime();
      m.k.step = step.index;
      const rets: CallReturn[] = [...(resumed?.rets ?? [])];
      let access: AccessResult | undefined;
      let oops: OopsReport | undefined;
      const vars: Record<string, bigint> = {};
      for (let r = resumed?.repetition ?? 0; r < step.repeat && !oops; r++) {
        const callsBefore = calls;
        meter.check('steps', ++calls);
        meter.tick();
        if (step.repeatVar) vars[step.repeatVar] = BigInt(r);
        try {
          if (step.action.kind === 'call') {
            const args = r === resumed?.repetition ? resumed.args : callArgs(m, step.action, vars);
            const at = pauses.atRestartPoint;
            const pause =
              at &&
              ((): void =>
                at({
                  machine: m,
                  next: step.index,
                  steps: [...steps],
                  oopses: [...oopses],
                  calls: callsBefore,
                  inStep: { repetition: r, rets: [...rets], args },
                }));
            rets.push(runCall(m, step.action, args, pause));
          } else access = runAccess(m, step.action);
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
