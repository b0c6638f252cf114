import { FAILURE_POINTS, type FailureKind, type FailurePointName } from './points.js';
import { SeededRandom } from './prng.js';
import { pure } from '../base/fork.js';
import { invariant } from '../base/model-bug.js';
import { PassedPoints, type FailurePoint } from './passed.js';

export type { FailureKind } from './points.js';
export type { FailurePoint } from './passed.js';

/**
 * One failure-point registry for everything fallible in the model: allocators, memory-type changes, command
 * queueing, completion waits. Each call names its site by call path
 * (`amd_viommu_init/viommu_private_space_init/alloc_private_subregion[2]/.../iommu_alloc_pages_node_sz`), so
 * a site's name depends only on the code that reaches it, never on how many other allocations exist.
 */

/** The schedule part of a plan, after the fault-injection knobs of Documentation/fault-injection. */
export type Schedule =
  | { readonly mode: 'nth'; readonly n: number }
  | { readonly mode: 'every'; readonly n: number }
  | { readonly mode: 'first'; readonly count: number }
  | { readonly mode: 'probability'; readonly percent: number; readonly seed: number }
  | { readonly mode: 'always' };

export interface InjectionPlan {
  /** Site name or glob (`*` within a path segment, `**` across segments); absent = every site (fail-nth). */
  readonly site?: string;
  readonly schedule: Schedule;
  /** Calls outside [fromStep, toStep] neither count nor fail. */
  readonly window?: { readonly fromStep?: number; readonly toStep?: number };
  /** Page allocations below this order are not eligible (fail_page_alloc's min-order). */
  readonly minOrder?: number;
  /** The errno an errno-kind site returns; NULL sites ignore it. Absent: the site's natural error. */
  readonly errno?: number;
  /** Stop after this many failures (the `times` knob); absent = no limit. */
  readonly times?: number;
}

export interface FiredInjection {
  readonly plan: number;
  readonly point: FailurePoint;
  /** The negative errno returned by an errno site; null for NULL and hang sites. */
  readonly value: number | null;
}

interface PlanState {
  readonly plan: InjectionPlan;
  readonly matches: (site: string) => boolean;
  readonly random: SeededRandom | undefined;
  /** Calls to a matching site, in or out of the plan's window and order limit. */
  reached: number;
  /** Of those, the calls outside the step window. */
  outsideWindow: number;
  /** Calls that were eligible to fail. */
  counted: number;
  fired: number;
}

export class FaultRegistry {
  readonly passed = new PassedPoints();
  readonly fired: FiredInjection[] = [];
  step = -1;
  /** The call path that names the sites passed now; the simulated kernel pushes and pops its frames. */
  readonly path = new CallPath();
  private readonly plans: PlanState[];
  private readonly perSite = new Map<string, number>();
  private suppressed = 0;

  constructor(plans: readonly InjectionPlan[] = []) {
    this.plans = plans.map(newPlanState);
  }

  /**
   * Adds plans to a run in progress as if they had been there from boot: each counts the points already
   * passed as it would have. A forked machine gets its sweep point's faults so. A plan that would already
   * have fired is a bug of the caller (the run would not be the one armed from boot).
   */
  arm(plans: readonly InjectionPlan[]): void {
    for (const plan of plans) {
      const state = newPlanState(plan);
      for (let g = 1; g <= this.passed.length; g++) {
        if (!state.matches(this.passed.siteOf(g))) continue;
        state.reached++;
        if (!this.eligible(state, this.passed.orderOf(g), this.passed.stepOf(g))) continue;
        state.counted++;
        invariant(plan.schedule.mode === 'nth' && !this.due(state), 'a fault armed late would already have fired');
      }
      this.plans.push(state);
    }
  }

  /**
   * Passes the failure point `point` under the current call path (kernel and hardware alike). Returns
   * undefined to proceed, or the failure as `check` does.
   */
  pass(point: FailurePointName, order?: number): { value: number | null } | undefined {
    if (this.suppressed > 0) return undefined;
    const def = FAILURE_POINTS[point];
    return this.check(this.path.siteName(point), def.kind, def.naturalErrno, order);
  }

  /** Runs boot-time set-up that precedes the spec: no failure point inside it fires or counts. */
  withoutFaults<T>(body: () => T): T {
    this.suppressed++;
    try {
      return body();
    } finally {
      this.suppressed--;
    }
  }

  /**
   * Passes one failure point by its full site name. Returns undefined to proceed, or the failure: `null`
   * for a NULL-kind site, a negative errno for an errno-kind site. The first plan that fires wins; every
   * plan counts the call.
   */
  check(site: string, kind: FailureKind, naturalErrno: number, order?: number): { value: number | null } | undefined {
    const call = (this.perSite.get(site) ?? 0) + 1;
    this.perSite.set(site, call);
    const global = this.passed.add(site, call, kind, this.step, order);
    let result: { value: number | null } | undefined;
    // A plain loop: a forEach callback would allocate a closure and its context on every check.
    for (let index = 0; index < this.plans.length; index++) {
      const state = this.plans[index]!;
      if (!state.matches(site)) continue;
      state.reached++;
      if (!this.eligible(state, order)) continue;
      state.counted++;
      if (result !== undefined || !this.due(state)) continue;
      state.fired++;
      const value = kind === 'errno' ? (state.plan.errno ?? naturalErrno) : null;
      this.fired.push({ plan: index, point: this.passed.get(global), value });
      result = { value };
    }
    return result;
  }

  /** Plans that never fired: a spec that plans a fault which never happens is testing nothing. */
  unfiredPlans(): number[] {
    return this.plans.flatMap((s, i) => (s.fired === 0 ? [i] : []));
  }

  /** Why each plan that never fired did not: what a spec author needs to fix the plan. */
  unfiredReasons(): { readonly plan: number; readonly reason: string }[] {
    return this.plans.flatMap((s, i) => (s.fired === 0 ? [{ plan: i, reason: unfiredReason(s) }] : []));
  }

  private eligible(state: PlanState, order: number | undefined, step = this.step): boolean {
    const { window, minOrder } = state.plan;
    const outside =
      (window?.fromStep !== undefined && step < window.fromStep) ||
      (window?.toStep !== undefined && step > window.toStep);
    if (outside) {
      state.outsideWindow++;
      return false;
    }
    if (minOrder !== undefined && order !== undefined && order < minOrder) return false;
    return true;
  }

  private due(state: PlanState): boolean {
    const { schedule, times } = state.plan;
    if (times !== undefined && state.fired >= times) return false;
    const n = state.counted;
    switch (schedule.mode) {
      case 'nth':
        return n === schedule.n;
      case 'every':
        return n % schedule.n === 0;
      case 'first':
        return n <= schedule.count;
      case 'probability':
        return state.random!.next() * 100 < schedule.percent;
      case 'always':
        return true;
    }
  }
}

function newPlanState(plan: InjectionPlan): PlanState {
  return {
    plan,
    matches: plan.site === undefined ? ANY_SITE : siteMatcher(plan.site),
    random: plan.schedule.mode === 'probability' ? new SeededRandom(plan.schedule.seed) : undefined,
    reached: 0,
    outsideWindow: 0,
    counted: 0,
    fired: 0,
  };
}

function unfiredReason(s: PlanState): string {
  const { schedule, window, minOrder } = s.plan;
  const times = (n: number): string => `${n} time${n === 1 ? '' : 's'}`;
  if (s.reached === 0) return 'site never reached';
  if (s.counted === 0) {
    if (window && s.outsideWindow === s.reached) return `reached ${times(s.reached)}, never inside the step window`;
    return `reached ${times(s.reached)}, never by an allocation of order ${minOrder ?? 0} or more`;
  }
  switch (schedule.mode) {
    case 'nth':
      return `reached ${times(s.counted)}, nth: ${schedule.n} not reached`;
    case 'every':
      return `reached ${times(s.counted)}, every: ${schedule.n} never came round`;
    case 'probability':
      return `probability never drew (seed ${schedule.seed}, ${s.counted} tries)`;
    case 'first':
    case 'always':
      return `reached ${times(s.counted)} but never failed`;
  }
}

/**
 * The call path of the ported code running now: one frame per ported function, `name[i]` for a call made
 * from a loop, so every failure point has a name that depends only on the code that reaches it.
 */
export class CallPath {
  private readonly frames: string[] = [];
  /** `frames` joined with a `/` after each, one per depth: what a site name starts with. */
  private readonly prefixes: string[] = [''];
  private readonly names = new Map<string, string>();
  private nextIndex: number | undefined;
  private lastPrefix = '';
  private lastLeaf = '';
  private lastName = '';

  enter(name: string, index?: number): void {
    index ??= this.nextIndex;
    this.nextIndex = undefined;
    const frame = index === undefined ? name : `${name}[${index}]`;
    this.frames.push(frame);
    this.prefixes.push(`${this.prefixes[this.prefixes.length - 1]!}${frame}/`);
  }

  leave(): void {
    this.frames.pop();
    this.prefixes.pop();
  }

  get depth(): number {
    return this.frames.length;
  }

  /** Back to `depth` frames with no pending loop tag: where a restarted call begins (linux/restart.ts). */
  unwindTo(depth: number): void {
    this.frames.length = depth;
    this.prefixes.length = depth + 1;
    this.nextIndex = undefined;
  }

  /** Tags the next frame entered with a loop index (see Kernel.iteration). */
  tagNext(index: number): void {
    this.nextIndex = index;
  }

  /** The innermost frame, for WARN and oops reports. */
  get current(): string {
    return this.frames[this.frames.length - 1] ?? '(none)';
  }

  /**
   * The site `leaf` is passed at now. One string per distinct site: each passed point and each allocation
   * keeps its site, and a copy per page would cost more than the page's own bookkeeping.
   */
  siteName(leaf: string): string {
    const prefix = this.prefixes[this.prefixes.length - 1]!;
    // The same site again (each page an unmap frees, each leaf table a map allocates): no concatenation.
    if (leaf === this.lastLeaf && prefix === this.lastPrefix) return this.lastName;
    const name = prefix + leaf;
    let known = this.names.get(name);
    if (known === undefined) this.names.set(name, (known = name));
    this.lastPrefix = prefix;
    this.lastLeaf = leaf;
    this.lastName = known;
    return known;
  }
}

/**
 * Compiles a site glob: `*` matches within one path segment, `**` any number of segments; as in gitignore,
 * `**` followed by `/` may also match no segment at all (`**` + `/x` matches `x`).
 */
export function siteMatcher(pattern: string): (site: string) => boolean {
  if (!pattern.includes('*')) return pure((site) => site === pattern);
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*' && pattern[i + 2] === '/') {
      source += '(?:.*/)?';
      i += 2;
    } else if (c === '*' && pattern[i + 1] === '*') {
      source += '.*';
      i++;
    } else if (c === '*') {
      source += '[^/]*';
    } else {
      source += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  const re = new RegExp(`^${source}$`);
  return pure((site) => re.test(site));
}

const ANY_SITE = pure((): boolean => true);
