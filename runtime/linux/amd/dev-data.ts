import { GFP_KERNEL } from '../gfp.js';
import { kfree, kzalloc } from '../slab.js';
import { AMDESE_S, portedFrom } from '../ported.js';
import type { AmdIommu } from './amd-iommu.js';
import type { AttachedDevData } from './attach.js';
import type { AmdDriver } from './driver.js';

const F = portedFrom(AMDESE_S, 'drivers/iommu/amd/iommu.c', ['amd_iommu_alloc_dev_data', 'amd_iommu_free_dev_data']);

/** sizeof(struct iommu_dev_data): a few hundred bytes with its locks, lists and GCR3 info. */
const SIZEOF_IOMMU_DEV_DATA = 384n;

const key = (iommu: AmdIommu, devid: number): string => `${iommu.index}:${devid}`;

/**
 * amd_iommu_alloc_dev_data: a zeroed struct iommu_dev_data for `devid`, linked on the segment's dev_data
 * list (the driver's device map here); NULL when the kzalloc fails.
 */
export function amd_iommu_alloc_dev_data(d: AmdDriver, iommu: AmdIommu, devid: number): AttachedDevData | null {
  return d.k.call(F.amd_iommu_alloc_dev_data, () => {
    const va = kzalloc(d.k, SIZEOF_IOMMU_DEV_DATA, GFP_KERNEL);
    if (va === null) return null;
    const dev: AttachedDevData = { devid, iommu, ats_enabled: false, ats_qdep: 0, domain: null, va };
    d.devices.set(key(iommu, devid), dev);
    return dev;
  });
}

/** amd_iommu_free_dev_data: unlink and kfree. */
export function amd_iommu_free_dev_data(d: AmdDriver, iommu: AmdIommu, dev: AttachedDevData | null): void {
  d.k.call(F.amd_iommu_free_dev_data, () => {
    if (!dev) return;
    if (d.devices.get(key(iommu, dev.devid)) === dev) d.devices.delete(key(iommu, dev.devid));
    kfree(d.k, dev.va ?? null);
  });
}
