import { GFP_KERNEL } from '../gfp.js';
import type { Kernel } from '../kernel.js';
import { AMDESE_S, portedFrom } from '../ported.js';
import { printers } from '../printk.js';
import { VIOMMU_MAX_GID, type AmdIommu } from './amd-iommu.js';

const F = portedFrom(AMDESE_S, 'drivers/iommu/amd/iommu.c', ['amd_iommu_gid_alloc', 'amd_iommu_gid_free']);

/**
 * Guest IDs (AMDESE/linux-iommu @ 06c926bd, iommu.c): per IOMMU, from its gid IDA, 1..0xFFFF, lowest free
 * first; gid 0 is never handed out. The IDA exists only once amd_viommu_init got that far.
 */
export function amd_iommu_gid_alloc(k: Kernel, iommu: AmdIommu): number {
  return k.call(F.amd_iommu_gid_alloc, () => {
    const pr = printers(k.log, 'AMD-Vi: ');
    const ida = k.deref(iommu.gid_ida, { field: 'amd_iommu.gid_ida' });
    const ret = ida.alloc_range(k, 1, VIOMMU_MAX_GID, GFP_KERNEL);
    if (ret < 0) pr.pr_err('%s: Failed to allocate guest ID (devid=%#x)\n', 'amd_iommu_gid_alloc', iommu.devid);
    else pr.pr_debug('%s: iommu devid=%#x, gid=%u\n', 'amd_iommu_gid_alloc', iommu.devid, ret);
    return ret;
  });
}

export function amd_iommu_gid_free(k: Kernel, iommu: AmdIommu, gid: number): void {
  k.call(F.amd_iommu_gid_free, () => {
    printers(k.log, 'AMD-Vi: ').pr_debug('%s: iommu devid=%#x, gid=%u\n', 'amd_iommu_gid_free', iommu.devid, gid);
    k.deref(iommu.gid_ida, { field: 'amd_iommu.gid_ida' }).free(k, gid);
  });
}
