import { Kernel } from '../../runtime/linux/kernel.js';
import { amd_iommu_boot } from '../../runtime/linux/amd/init.js';
import type { AmdIommu } from '../../runtime/linux/amd/amd-iommu.js';
import type { ProcessorBehaviour } from '../../runtime/hw/iommu.js';
import type { InjectionPlan } from '../../runtime/fault/inject.js';
import { iommu_alloc_pages_node_sz } from '../../runtime/linux/iommu-pages.js';
import { GFP_KERNEL } from '../../runtime/linux/gfp.js';

/** A 2 MiB device table for segment 0, allocated outside any failure point. */
export function devTable(k: Kernel): bigint {
  return k.withoutFaults(() => iommu_alloc_pages_node_sz(k, 0, GFP_KERNEL, 0x20_0000n)!);
}

/** A kernel with one booted IOMMU (devid 00:00.2) on a 64 GiB node. */
export function bootOne(
  processor: ProcessorBehaviour = { kind: 'immediate' },
  faults: InjectionPlan[] = [],
  cmdBufEntries = 512,
): { k: Kernel; iommu: AmdIommu } {
  const k = new Kernel({ nodes: [{ id: 0, base: 0n, size: 64n << 30n }], faults });
  const iommu = amd_iommu_boot(
    k,
    {
      index: 0,
      seg: 0,
      devid: 0x0002,
      node: 0,
      extendedFeatures: 0n,
      vm: {
        controlFixedZero: 0n,
        selfDevid: 2,
        storeMaps: true,
        guests: { resetVmmio: 'guest_mmio', errorEvent: 'viommu_hw_err' },
      },
      processor,
      cmdBufEntries,
      pci: { vendorCapability: true, vfBar: 0n, vfCntlBar: 0n },
      devTable: devTable(k),
    },
    { step: () => k.step, isFreed: (pa) => k.ledger.isFreedPa(pa), faults: k.faults },
  );
  return { k, iommu };
}
