import type { Kernel } from '../kernel.js';
import type { AmdIommu } from './amd-iommu.js';
import type { AmdDriverGlobals } from './globals.js';

/** Everything a ported AMD function can reach: the kernel, the driver's globals, the IOMMUs it probed. */
export interface AmdDriver {
  readonly k: Kernel;
  readonly g: AmdDriverGlobals;
  readonly iommus: readonly AmdIommu[];
}
