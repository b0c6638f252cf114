import { Errno } from '../errno.js';
import { GFP_KERNEL } from '../gfp.js';
import type { Kernel } from '../kernel.js';
import { AMDESE_S, portedFrom } from '../ported.js';
import { printers } from '../printk.js';
import { xa_store } from '../xarray.js';

const F = portedFrom(AMDESE_S, 'drivers/iommu/amd/trans_devid.c', [
  'amd_iommu_trans_devid_alloc',
  'amd_iommu_trans_devid_free',
]);

/** What a segment's pool holds for an id: reserved by a device attach, or allocated to a vIOMMU. */
export type TransDevidState = 'reserved' | 'allocated';

/**
 * The translate-device-id pool of one PCI segment: unused requester IDs whose DTE holds a guest's GPA→SPA
 * table, named to the hardware through VF_CNTL. No stored trans_devid.c matches the base tree's signatures
 * (alloc(pci_seg), free(pci_seg, id)); this follows the later copy's allocation (the highest free id first,
 * an xa_store that may fail) without its relocation of owners, which the base tree does not have.
 */
export function amd_iommu_trans_devid_alloc(k: Kernel, pool: Map<number, TransDevidState>, seg: number): number {
  return k.call(F.amd_iommu_trans_devid_alloc, () => {
    const pr = printers(k.log, '');
    let id = 0xffff;
    while (id >= 0 && pool.has(id)) id--;
    if (id < 0) {
      pr.pr_err('%s: No free trans_devid found (seg %#x)\n', 'amd_iommu_trans_devid_alloc', seg);
      return -Errno.ENOSPC;
    }
    const err = xa_store(k, pool, id, 'allocated', GFP_KERNEL);
    if (err) return err;
    pr.pr_debug('%s: Allocated trans_devid %#x (seg %#x)\n', 'amd_iommu_trans_devid_alloc', id, seg);
    return id;
  });
}

export function amd_iommu_trans_devid_free(k: Kernel, pool: Map<number, TransDevidState>, id: number): void {
  k.call(F.amd_iommu_trans_devid_free, () => {
    pool.delete(id);
  });
}
