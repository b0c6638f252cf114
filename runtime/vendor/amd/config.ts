import type { GuestErrorEvent, ResetVmmioScope } from '../../hw/guest-queue.js';
import type { ProcessorBehaviour } from '../../hw/iommu.js';
import type { IommuPciConfig } from '../../linux/amd/amd-iommu.js';

/** One AMD IOMMU of the simulated machine. */
export interface AmdIommuConfig {
  readonly seg: number;
  /** bus << 8 | dev << 3 | fn */
  readonly devid: number;
  readonly node: number;
  /** Host page-table levels from EFR.HATS (4, 5 or 6), or 'hatdis' (HATS = 3). */
  readonly hats: 4 | 5 | 6 | 'hatdis';
  /** The NpCache capability bit: the IOMMU caches non-present entries (we are a guest). */
  readonly npCache: boolean;
  /** EFR bit 55, FEATURE_VIOMMU. */
  readonly viommu: boolean;
  /**
   * Whether control bit 60 (GstBufferTRPMode) sticks when written. No public text says which vIOMMU parts
   * implement it; viommu_enable sets it and reads it back (see runtime/hw/viommu/ASSUMPTIONS.md).
   */
  readonly gstBufferTrpMode: boolean;
  /** Whether a VF_CNTL DevID/DomID map write stores an entry into the guest's table in the private space. */
  readonly didMapStores: boolean;
  /** What RESET_VMMIO resets of a guest (runtime/hw/viommu/ASSUMPTIONS.md). */
  readonly resetVmmio: ResetVmmioScope;
  /** The event a guest command the hardware cannot process posts (runtime/hw/viommu/ASSUMPTIONS.md). */
  readonly guestErrorEvent: GuestErrorEvent;
  readonly processor: ProcessorBehaviour;
  readonly cmdBufEntries: number;
  readonly pci: IommuPciConfig;
}

export interface AmdDriverConfig {
  /** The driver revision under test, by name (runtime/linux/amd/variants). */
  readonly variant: string;
  /** The `c` variant's WebAssembly module, or the patch (or C file) to build it from; absolute paths. */
  readonly source?: { readonly module: string } | { readonly patch: string };
  /** amd_iommu=pgsize_4k */
  readonly pgsize4k: boolean;
  /** The vIOMMU tree's amd_iommu_viommu switch. */
  readonly viommu: boolean;
  /** CONFIG_DEBUG_GENERIC_PT=y; absent: not set. */
  readonly debugGenericPt?: boolean;
}

export interface AmdConfig {
  readonly kind: 'amd';
  readonly iommus: readonly AmdIommuConfig[];
  readonly driver: AmdDriverConfig;
}
