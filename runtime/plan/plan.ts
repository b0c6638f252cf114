import type { InjectionPlan } from '../fault/inject.js';
import type { NumaNodeConfig } from '../mem/phys-memory.js';
import type { Access } from '../vendor/vendor.js';
import type { VendorConfig } from '../vendors/index.js';
import type { Expectation, SweepRowExpectation } from './expect.js';
import type { LoopValue } from './loop.js';

/**
 * What the runtime executes for one spec, as plain data: the machine, the faults, the steps and the
 * compiled expectations, each with the place in the spec that stated it. A plan holds no functions and no
 * class instances, so it crosses a worker boundary by structured clone and a runner never needs the spec
 * file again. The spec language (dsl/) is one way to make a plan; the runtime never looks past it.
 */

/** Where a plan element was written: file, 1-based position, and the source line, for messages. */
export interface SourceRef {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly text: string;
}

/** The address of an allocation named by its site glob and ordinal, resolved after the run. */
export interface AllocRef {
  readonly alloc: string;
  readonly nth: number;
  readonly offset: bigint;
  readonly at: SourceRef;
}

export type AddressOrAlloc = bigint | AllocRef;

export function isAllocRef(v: unknown): v is AllocRef {
  return typeof v === 'object' && v !== null && 'alloc' in v;
}

/**
 * A 64-bit value an expectation states, as a literal or over symbols resolved against the machine after the
 * run, so a spec never needs an address the allocator picked: an allocation, the table a walk passes
 * through, a domain object, a kernel VA, and bitwise OR / sums of those.
 */
export type ValueExpr =
  | bigint
  | AllocRef
  | {
      readonly kind: 'table';
      readonly domain: number;
      /** generic_pt level: 0 is the table of 4 KiB entries (AMD level 1). */
      readonly level: number;
      readonly iova: bigint;
      readonly at: SourceRef;
    }
  | { readonly kind: 'domain'; readonly domain: number; readonly at: SourceRef }
  | { readonly kind: 'va'; readonly of: ValueExpr }
  | { readonly kind: 'or' | 'add'; readonly terms: readonly ValueExpr[] };

/** An entry-point argument after compilation (see runtime/vendor/args.ts for the types). */
export type ArgValue = number | bigint | string | AllocRef | LoopValue;

export type StepAction =
  | {
      readonly kind: 'call';
      readonly fn: string;
      readonly iommu: number;
      readonly args: Readonly<Record<string, ArgValue>>;
    }
  | {
      readonly kind: 'dma';
      readonly iommu: number;
      readonly devid: number;
      readonly iova: bigint;
      readonly access: Access;
    }
  | { readonly kind: 'viommu_access'; readonly iommu: number; readonly iova: bigint; readonly access: Access }
  | {
      /** A guest places commands in its command buffer (guest memory) and writes its tail in its VF page. */
      readonly kind: 'guest_commands';
      readonly iommu: number;
      readonly gid: number;
      /** Each command as its four 32-bit words. */
      readonly commands: readonly (readonly [number, number, number, number])[];
      /** The tail value written; absent: just past the commands. */
      readonly tail?: number;
    };

export type StepKind = StepAction['kind'];

export type StepExpect =
  /** A return value (an errno is negative), an oops, or nothing at all from a void function. */
  | { readonly kind: 'ret'; readonly ret: ValueExpr | 'oops' | 'void' | LoopValue }
  | {
      readonly kind: 'access';
      readonly pa?: ValueExpr;
      readonly fault?: string;
      readonly fromIotlb?: boolean;
      readonly stale?: boolean;
    };

export interface PlanStep {
  readonly index: number;
  readonly name: string;
  readonly action: StepAction;
  readonly repeat: number;
  /**
   * `repeat: {count, var}`: the variable that holds the repetition's index (0, 1, ...) in the LoopValue
   * args and expected return, which the executor evaluates per repetition; every repetition is compared.
   */
  readonly repeatVar?: string;
  readonly expect?: StepExpect;
  /** `check:` — the end-state expectations that must hold right after this step. */
  readonly check?: readonly Expectation[];
  /** Where the step's `expect` was written (the step itself when it has none). */
  readonly at: SourceRef;
  /** Where the step itself was written. */
  readonly nodeAt: SourceRef;
}

export interface MachineConfig {
  readonly nodes: readonly NumaNodeConfig[];
  readonly vendor: VendorConfig;
}

/** Which failure points a sweep tries. */
export interface SweepScope {
  /** Site globs; empty = every site. */
  readonly sites: readonly string[];
  /** Only points passed during this step or later. */
  readonly fromStep?: number;
  readonly maxRuns: number;
}

export interface InvariantOptions {
  /** Invariants switched off (each with a reason in the spec). */
  readonly disabled: readonly string[];
  /** Opt-in invariants switched on. */
  readonly enabled?: readonly string[];
  /** Opt-in errno discipline: the errnos a step may return for an injected one (`EBUSY->ENOMEM`). */
  readonly errnoTranslations?: readonly (readonly [number, readonly number[]])[];
}

/** What a sweep's golden table may record per run beyond steps, log, oops and violations. */
export type SweepColumn = 'commands' | 'memtypes' | 'live';

export interface PlanSweep {
  readonly scope: SweepScope;
  readonly invariants: InvariantOptions;
  readonly expect: readonly SweepRowExpectation[];
  /** Opt-in columns of the golden table, per run. */
  readonly columns: readonly SweepColumn[];
  /** Where `sweep:` and its `max_runs` were written. */
  readonly at: SourceRef;
  readonly maxRunsAt: SourceRef;
}

export interface GoldenRef {
  /** The golden file, relative to where viommu-spec runs. */
  readonly path: string;
  readonly at: SourceRef;
}

/** `skip:` or `todo:` on a spec or case: it is reported with the note, and not run. */
export interface RunMarker {
  readonly kind: 'skip' | 'todo';
  readonly reason: string;
  readonly at: SourceRef;
}

export interface Plan {
  readonly id: string;
  readonly file: string;
  readonly name: string;
  readonly tags: readonly string[];
  readonly machine: MachineConfig;
  readonly faults: readonly InjectionPlan[];
  /** Where each fault was planned, by index (a fault that never fires is reported there). */
  readonly faultsAt: readonly SourceRef[];
  readonly steps: readonly PlanStep[];
  /** After a step oopses: `stop` leaves later steps not run (the default), `continue` runs them. */
  readonly afterOops: 'stop' | 'continue';
  /** Where `steps:` was written (budget messages point there). */
  readonly stepsAt: SourceRef;
  readonly expect: readonly Expectation[];
  readonly golden: GoldenRef | null;
  /** Present for a sweep spec: run once per failure point instead of once with `faults`. */
  readonly sweep?: PlanSweep;
  /** `skip:` or `todo:`: not run. */
  readonly marker?: RunMarker;
  /** `only: true`, where it was written: among the selected plans, only those so marked run. */
  readonly only?: SourceRef;
}
