import type { Kernel } from '../kernel.js';
import type { AmdIommu } from './amd-iommu.js';
import type { AmdDriverGlobals } from './globals.js';
import type { AttachedDevData } from './attach.js';

/** Everything a ported AMD function can reach: the kernel, the driver's globals, the IOMMUs it probed. */
export interface AmdDriver {
  readonly k: Kernel;
  readonly g: AmdDriverGlobals;
  readonly iommus: readonly AmdIommu[];
  /** iommu_dev_data of the PCI functions specs use, by "iommu:devid". */
  readonly devices: Map<string, AttachedDevData>;
}
