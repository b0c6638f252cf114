import type { MachineConfig } from '../runtime/exec/machine.js';
import type { SweepScope } from '../runtime/exec/sweep.js';
import type { InvariantOptions } from '../runtime/check/invariants.js';
import type { Spec } from './spec.generated.js';
import type { LoadedSpec } from './load.js';
import type { PathSegment } from './source.js';

/** What the runtime executes for one spec: the machine, the steps, and the expectations to diff. */
export interface Plan {
  readonly id: string;
  readonly file: string;
  readonly name: string;
  readonly tags: readonly string[];
  readonly machine: MachineConfig;
  readonly steps: readonly PlanStep[];
  readonly expect: NonNullable<Spec['expect']>;
  readonly golden: boolean;
  readonly source: LoadedSpec;
  /** Present for a sweep spec: run once per failure point instead of once with `faults`. */
  readonly sweep?: PlanSweep;
}

export interface PlanSweep {
  readonly scope: SweepScope;
  readonly invariants: InvariantOptions;
  readonly expect: NonNullable<NonNullable<Spec['sweep']>['expect']>;
}

export type StepAction =
  | { readonly kind: 'call'; readonly fn: string; readonly iommu: number; readonly devid?: number; readonly iova?: bigint; readonly pa?: bigint | AllocRef; readonly size?: bigint; readonly prot?: number }
  | { readonly kind: 'viommu_access' | 'dma'; readonly iommu: number; readonly devid?: number; readonly iova: bigint; readonly access: 'read' | 'write' };

export interface AllocRef {
  readonly alloc: string;
  readonly nth: number;
  readonly offset: bigint;
}

export type StepExpect =
  | { readonly kind: 'ret'; readonly ret: number | 'oops' }
  | { readonly kind: 'access'; readonly pa?: bigint | AllocRef; readonly fault?: string; readonly fromIotlb?: boolean; readonly stale?: boolean };

export interface PlanStep {
  readonly index: number;
  readonly name: string;
  readonly action: StepAction;
  readonly repeat: number;
  readonly expect?: StepExpect;
  /** Where the step was written, for messages. */
  readonly path: readonly PathSegment[];
}
