import { Errno } from '../errno.js';
import { GFP_KERNEL } from '../gfp.js';
import type { Kernel } from '../kernel.js';
import { AMDESE_S, AMDESE_TRANS_DEVID, portedFrom } from '../ported.js';
import { printers } from '../printk.js';
import { xa_store } from '../xarray.js';
import type { AmdIommu } from './amd-iommu.js';
import type { AmdDriver } from './driver.js';

const F = {
  ...portedFrom(AMDESE_S, 'drivers/iommu/amd/trans_devid.c', [
    'amd_iommu_trans_devid_alloc',
    'amd_iommu_trans_devid_free',
  ]),
  ...portedFrom(AMDESE_TRANS_DEVID, 'drivers/iommu/amd/trans_devid.c', [
    'amd_iommu_trans_devid_reserve',
    'amd_iommu_trans_devid_reserve_pci_aliases',
  ]),
};

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

/**
 * amd_iommu_trans_devid_reserve (trans_devid.c @ 1299b22d): occupies `id` so alloc never returns it. An id a
 * vIOMMU holds as its trans_devid is -EBUSY; a reserved one stays reserved (0); a free one is stored as
 * reserved, an xa_store that may fail. Nothing ever releases a reservation.
 */
export function amd_iommu_trans_devid_reserve(
  k: Kernel,
  pool: Map<number, TransDevidState>,
  seg: number,
  id: number,
): number {
  return k.call(F.amd_iommu_trans_devid_reserve, () => {
    const state = pool.get(id);
    let ret = 0;
    if (state === 'allocated') ret = -Errno.EBUSY;
    else if (state === undefined) ret = xa_store(k, pool, id, 'reserved', GFP_KERNEL);
    if (!ret)
      printers(k.log, '').pr_debug(
        '%s: Reserved trans_devid %#x (seg %#x)\n',
        'amd_iommu_trans_devid_reserve',
        id,
        seg,
      );
    return ret;
  });
}

/**
 * amd_iommu_trans_devid_reserve_pci_aliases: the IVRS alias when it differs, then every PCI DMA alias
 * (pci_for_each_dma_alias starts with the device's own ID). The model's devices have no aliases, so this
 * reserves the device's ID a second time, which is 0.
 */
export function amd_iommu_trans_devid_reserve_pci_aliases(
  k: Kernel,
  pool: Map<number, TransDevidState>,
  seg: number,
  devid: number,
): number {
  return k.call(F.amd_iommu_trans_devid_reserve_pci_aliases, () => amd_iommu_trans_devid_reserve(k, pool, seg, devid));
}

/** pci_seg->trans_devid_xa of the IOMMU's segment (amd_iommu_pci_seg_trans_devid_init makes it empty). */
export function transDevidPool(d: AmdDriver, iommu: AmdIommu): Map<number, TransDevidState> {
  let pool = d.g.trans_devid_xa.get(iommu.seg);
  if (!pool) {
    pool = new Map<number, TransDevidState>();
    d.g.trans_devid_xa.set(iommu.seg, pool);
  }
  return pool;
}
