import { IomemResources } from './resource.js';
import { NodeBuddy } from '../mem/buddy.js';
import { AllocationLedger } from '../mem/ledger.js';
import { MemTypes } from '../mem/memtype.js';
import { PhysMemory, type NumaNodeConfig } from '../mem/phys-memory.js';
import { FaultRegistry, type InjectionPlan } from '../fault/inject.js';
import type { FailurePointName } from '../fault/points.js';
import { invariant } from '../base/model-bug.js';
import { DEFAULT_BUDGET, Meter } from '../base/budget.js';
import { Timeline } from '../base/timeline.js';
import type { Frame } from './ported.js';
import { KernelLog } from './printk.js';
import { Restarts } from './restart.js';
import type { KernelEvent } from './events.js';
import { ErrPtr, KernelOops, oopsMessage, type KPtr } from './kptr.js';
import { vsprintf, type PrintfArg } from './vsprintf.js';

export interface MapLogEntry {
  readonly seq: number;
  readonly step: number;
  readonly domainId: number;
  readonly kind: 'map' | 'unmap';
  readonly iova: bigint;
  readonly size: bigint;
  /** Target of a successful map; unmaps carry none. */
  readonly pa?: bigint;
  /** Physical address of the domain's top table when an unmap happened (what DTEs name as their root). */
  readonly rootPa?: bigint;
}

export interface KernelConfig {
  readonly nodes: readonly NumaNodeConfig[];
  readonly faults?: readonly InjectionPlan[];
  /** The spec's budget: pages touched, log lines, events, wall time. */
  readonly meter?: Meter;
}

/**
 * The simulated kernel one spec run executes in: memory, allocators, memory types, the log, the failure
 * points, and the call path that names them. Ported driver functions take it as their first argument.
 */
export class Kernel {
  readonly mem: PhysMemory;
  readonly buddies: readonly NodeBuddy[];
  /** One timeline for everything that must be ordered across layers: allocations, frees, maps, commands. */
  readonly timeline = new Timeline();
  readonly ledger = new AllocationLedger(this.timeline);
  /** What the IOMMU core mapped and unmapped, in order (for the flush-before-free invariant). */
  readonly mapLog: MapLogEntry[] = [];
  readonly memtypes = new MemTypes();
  readonly iomem = new IomemResources();
  readonly log: KernelLog;
  readonly meter: Meter;
  private readonly eventList: KernelEvent[] = [];
  /** WARN_ON_ONCE sites that already splatted. */
  private readonly warnedOnce = new Set<string>();
  readonly faults: FaultRegistry;
  /** Where a sweep may fork a run inside a restartable call (linux/restart.ts). */
  readonly restarts = new Restarts();
  private currentStep = -1;
  /** Simulated time: busy-waits advance it instead of the wall clock. */
  clockNs = 0;

  constructor(config: KernelConfig) {
    this.meter = config.meter ?? new Meter(DEFAULT_BUDGET);
    this.mem = new PhysMemory(config.nodes, this.meter);
    this.log = new KernelLog(this.meter);
    this.buddies = [...this.mem.nodes].sort((a, b) => a.id - b.id).map((n) => new NodeBuddy(n));
    this.faults = new FaultRegistry(config.faults);
  }

  nextSeq(): number {
    return this.timeline.next();
  }

  /** The timeline's position now: unchanged means nothing was allocated, freed, mapped or executed since. */
  epoch(): number {
    return this.timeline.now;
  }

  get step(): number {
    return this.currentStep;
  }

  set step(index: number) {
    this.currentStep = index;
    this.log.step = index;
    this.faults.step = index;
  }

  buddyOf(nodeId: number): NodeBuddy | undefined {
    // Nodes are usually numbered 0..n-1, so the buddy at that index is the one (every free asks).
    const at = this.buddies[nodeId];
    return at?.node.id === nodeId ? at : this.buddies.find((b) => b.node.id === nodeId);
  }

  /**
   * Runs a ported function as one frame of the call path. `index` tags a call made from a loop
   * (`alloc_private_subregion[2]`), so each iteration's failure points have their own name.
   */
  call<T>(frame: Frame, body: () => T, index?: number): T {
    this.meter.tick();
    const path = this.faults.path;
    path.enter(frame.name, index);
    try {
      return body();
    } finally {
      path.leave();
    }
  }

  /** Runs a restartable entry point (see linux/restart.ts). */
  restartable<T>(body: () => T): T {
    return this.restarts.run(this.faults.path, body);
  }

  /**
   * Tags the next ported call with a loop index, as `for (i ...) f(...)` in the caller: the callee's frame
   * becomes `f[i]` without the callee knowing its caller loops.
   */
  iteration<T>(index: number, body: () => T): T {
    this.faults.path.tagNext(index);
    return body();
  }

  /** The innermost ported function (for WARN and oops reports). */
  get currentFunction(): string {
    return this.faults.path.current;
  }

  siteName(leaf: string): string {
    return this.faults.path.siteName(leaf);
  }

  /** Passes the failure point `point` under the current call path. */
  shouldFail(point: FailurePointName, order?: number): { value: number | null } | undefined {
    return this.faults.pass(point, order);
  }

  /** Runs boot-time set-up that precedes the spec: no failure point inside it fires or counts. */
  withoutFaults<T>(body: () => T): T {
    return this.faults.withoutFaults(body);
  }

  /** What the kernel flagged so far (WARNs, bad frees, pages freed while not WB), in order. */
  get events(): readonly KernelEvent[] {
    return this.eventList;
  }

  /** Records a kernel event, within the spec's budget of events. */
  event(e: KernelEvent): void {
    this.eventList.push(e);
    this.meter.check('events', this.eventList.length);
  }

  /** The platform's own invariants: the allocation ledger agrees with the buddy allocator, page for page. */
  selfCheck(): void {
    const livePages = this.ledger.livePagesByNode();
    for (const buddy of this.buddies) {
      const total = buddy.node.endPfn - buddy.node.startPfn;
      const live = livePages.get(buddy.node.id) ?? 0;
      invariant(
        buddy.freePages + live === total,
        () => `node ${buddy.node.id}: ${buddy.freePages} free + ${live} live pages != ${total}`,
      );
    }
  }

  udelay(us: number): void {
    this.clockNs += us * 1000;
  }

  /** WARN(cond, fmt, ...): records the splat and returns cond, as the macro does. */
  WARN(condition: boolean, format = '', ...args: PrintfArg[]): boolean {
    if (condition)
      this.event({
        kind: 'warn',
        function: this.currentFunction,
        message: vsprintf(format, args).replace(/\n$/, ''),
        step: this.currentStep,
      });
    return condition;
  }

  WARN_ON(condition: boolean): boolean {
    // Only a firing WARN_ON goes through WARN's variadic call (the allocators pass one per allocation).
    return condition ? this.WARN(true) : false;
  }

  /** WARN_ON_ONCE: the condition every time, the splat only the first time `site` fires in this boot. */
  WARN_ON_ONCE(condition: boolean, site: string): boolean {
    if (!condition || this.warnedOnce.has(site)) return condition;
    this.warnedOnce.add(site);
    return this.WARN(condition);
  }

  /** A faulting kernel access: recorded, then the task dies (the executor catches the unwind). */
  oops(base: bigint, field: { readonly field: string; readonly offset?: bigint }): never {
    const address = BigInt.asUintN(64, base + (field.offset ?? 0n));
    throw new KernelOops({
      message: oopsMessage(base, field.offset, field.field),
      address,
      function: this.currentFunction,
      field: field.field,
      step: this.currentStep,
    });
  }

  /** BUG_ON(cond): an invalid-opcode trap with the file named, which kills the task like an oops. */
  BUG_ON(condition: boolean, file: string): void {
    if (!condition) return;
    throw new KernelOops({
      message: `kernel BUG at ${file}!`,
      address: 0n,
      function: this.currentFunction,
      field: '',
      step: this.currentStep,
    });
  }

  /**
   * A load from the object at `va` (a kmalloc object the driver still points to): if it was freed and not
   * reallocated, KASAN's slab-use-after-free report is recorded. The stale value is still read (the memory
   * is only poisoned, not unmapped), so the caller goes on with what the object held.
   */
  kasanLoad(va: bigint, field: string): void {
    if (this.ledger.lookup(va)) return;
    const freed = this.ledger
      .freedAllocations()
      .filter((a) => a.va === va)
      .pop();
    if (!freed) return;
    this.event({
      kind: 'use_after_free',
      va,
      field,
      function: this.currentFunction,
      step: this.currentStep,
      freedBy: freed.freed!.by,
    });
  }

  /**
   * Loads a field through a driver pointer. NULL and ERR_PTR fault at the address the CPU would touch, so
   * the oops line shows the address the kernel's would (or names the field when its offset is not exact).
   */
  deref<T extends object>(ptr: KPtr<T>, field: { readonly field: string; readonly offset?: bigint }): T {
    if (ptr === null) this.oops(0n, field);
    if (ptr instanceof ErrPtr) this.oops(ptr.address, field);
    invariant(typeof ptr === 'object', 'deref of a non-object');
    return ptr;
  }
}
