import type { Meter } from '../base/budget.js';
import type { InjectionPlan } from '../fault/inject.js';
import type { Kernel } from '../linux/kernel.js';
import type { NumaNodeConfig } from '../mem/phys-memory.js';
import type { ArgSpec } from './args.js';
import type { MachineView } from './view.js';

/**
 * The seam between the generic runtime (executor, capture, checks) and one IOMMU with its driver. A vendor
 * boots a machine from its hardware config, names its entry points, and offers a view of the machine; a
 * second IOMMU (VT-d, SMMUv3) or a second driver backend is new modules plus one line in runtime/vendors.
 */

/** The direction of a DMA or an IOMMU access. */
export type Access = 'read' | 'write';

/** The outcome of a DMA or an IOMMU access: a translation, or the fault the hardware reported. */
export type AccessResult =
  | { readonly ok: true; readonly pa: bigint; readonly fromIotlb: boolean; readonly stale: boolean }
  | { readonly ok: false; readonly fault: string };

/** What a driver entry point returns: an int (0 or -errno), a byte count or address, or nothing (void). */
export type CallReturn = number | bigint | null;

/** Arguments as an entry point receives them: allocation references already resolved to addresses. */
export type CallArgs = Readonly<Record<string, number | bigint | string>>;

export interface EntryPoint<M> {
  readonly name: string;
  readonly doc: string;
  readonly args: ArgSpec;
  /** `phys`: a phys_addr_t (iommu_iova_to_phys). */
  readonly returns: 'int' | 'size' | 'phys' | 'void';
  /** The driver variants that have this function; every variant when absent. */
  readonly variants?: readonly string[];
  /**
   * The call only reads the machine until it reaches a walk that marks restart points, and reaches it at
   * most once: a sweep may then fork a run inside it and make the call again from there (linux/restart.ts).
   */
  readonly restartable?: true;
  run(m: M, iommu: number, args: CallArgs): CallReturn;
}

export interface VendorMachine {
  readonly k: Kernel;
  readonly view: MachineView;
  /** Calls entry point `fn` on IOMMU `iommu`; an oops unwinds as a KernelOops. */
  call(fn: string, iommu: number, args: CallArgs): CallReturn;
  /** A DMA by PCI function `devid` behind IOMMU `iommu`. */
  dma(iommu: number, devid: number, iova: bigint, access: Access): AccessResult;
  /** An access by the IOMMU itself to its own private address space (the vIOMMU). */
  iommuAccess(iommu: number, iova: bigint, access: Access): AccessResult;
  /**
   * Guest `gid` of IOMMU `iommu` writes `commands` (four 32-bit words each) into its command buffer at its
   * tail, through the translation its hardware would use, then writes its tail (`tail`, or just past them).
   * Returns where the first command's slot translated to, or the fault that kept anything from being written.
   */
  guestCommands(
    iommu: number,
    gid: number,
    commands: readonly (readonly [number, number, number, number])[],
    tail?: number,
  ): AccessResult;
  /** The model's own invariants after a run; a break is a ModelBugError (a bug of viommu-spec). */
  selfCheck(): void;
}

export interface DriverVariantInfo {
  readonly name: string;
  readonly description: string;
}

/** A driver struct a spec may observe (`driver: {iommu0: {...}}`): its key prefix and its fields. */
export interface DriverObjectKind {
  /** `iommu` names `iommu0`, `iommu1`...: the prefix, then the index or object ID. */
  readonly prefix: string;
  readonly doc: string;
  readonly fields: Readonly<Record<string, string>>;
}

/** The names `expect: guests:` gives a guest's registers and queues (what IommuView.guests() reports). */
export interface GuestVocabulary {
  readonly vf_cntl: readonly string[];
  readonly vf: readonly string[];
  readonly queues: Readonly<Record<string, readonly string[]>>;
}

export interface Vendor<C> {
  readonly name: string;
  readonly entryPoints: readonly EntryPoint<never>[];
  readonly driverObjects: readonly DriverObjectKind[];
  readonly guestVocabulary: GuestVocabulary;
  readonly variants: () => readonly DriverVariantInfo[];
  boot(nodes: readonly NumaNodeConfig[], config: C, faults: readonly InjectionPlan[], meter: Meter): VendorMachine;
}
