import { Errno } from '../errno.js';
import { GFP_ATOMIC } from '../gfp.js';
import { kfree, kzalloc } from '../slab.js';
import { xa_cmpxchg } from '../xarray.js';
import type { AmdIommu } from './amd-iommu.js';
import type { DevData, PdomIommuInfo, ProtectionDomain } from './domain.js';
import { amd_iommu_domain_flush_all } from './domain-flush.js';
import type { AmdDriver } from './driver.js';
import { clear_dte_entry, set_dte_entry } from './dte.js';
import { AMDESE_S, portedFrom } from '../ported.js';
import { printers } from '../printk.js';
import {
  amd_iommu_trans_devid_reserve,
  amd_iommu_trans_devid_reserve_pci_aliases,
  transDevidPool,
} from './trans-devid.js';

const F = portedFrom(AMDESE_S, 'drivers/iommu/amd/iommu.c', [
  'pdom_attach_iommu',
  'pdom_detach_iommu',
  'attach_device',
  'detach_device',
  'amd_iommu_attach_device',
]);

/** sizeof(struct pdom_iommu_info): an IOMMU pointer and a refcount. */
const SIZEOF_PDOM_IOMMU_INFO = 16n;

/** struct iommu_dev_data of one PCI function behind an IOMMU, with the domain it is attached to. */
export interface AttachedDevData extends DevData {
  domain: ProtectionDomain | null;
}

/**
 * The IOMMUs a domain's devices sit behind, refcounted. A new one costs a GFP_ATOMIC kzalloc (-ENOMEM) and an
 * xa_cmpxchg that may need a node (any non-NULL result frees the info and is -ENOSPC).
 */
export function pdom_attach_iommu(d: AmdDriver, iommu: AmdIommu, pdom: ProtectionDomain): number {
  return d.k.call(F.pdom_attach_iommu, () => {
    const existing = pdom.iommu_array.get(iommu.index);
    if (existing) {
      existing.refcnt++;
      return 0;
    }
    const va = kzalloc(d.k, SIZEOF_PDOM_IOMMU_INFO, GFP_ATOMIC);
    if (va === null) return -Errno.ENOMEM;
    const info: PdomIommuInfo = { iommu, refcnt: 1, va };
    if (xa_cmpxchg(d.k, pdom.iommu_array, iommu.index, info, GFP_ATOMIC) !== null) {
      kfree(d.k, va);
      return -Errno.ENOSPC;
    }
    return 0;
  });
}

export function pdom_detach_iommu(d: AmdDriver, iommu: AmdIommu, pdom: ProtectionDomain): void {
  d.k.call(F.pdom_detach_iommu, () => {
    const info = pdom.iommu_array.get(iommu.index);
    if (!info) return;
    if (--info.refcnt === 0) {
      pdom.iommu_array.delete(iommu.index);
      kfree(d.k, info.va ?? null);
    }
  });
}

/**
 * Attaches a device to a v1 domain: -EBUSY when it already has one. The device goes to the head of the
 * domain's list (list_add), then its DTE is written and flushed. ATS is never enabled: no device declares
 * the capability, so pdev_enable_cap_ats does nothing.
 */
export function attach_device(d: AmdDriver, iommu: AmdIommu, dev: AttachedDevData, domain: ProtectionDomain): number {
  return d.k.call(F.attach_device, () => {
    if (dev.domain !== null) return -Errno.EBUSY;
    const ret = pdom_attach_iommu(d, iommu, domain);
    if (ret) return ret;
    dev.domain = domain;
    domain.dev_list.unshift(dev);
    set_dte_entry(d.k, iommu, dev, domain); // dev_update_dte(dev_data, true)
    return 0;
  });
}

/** Clears the DTE (blocking DMA), flushes the whole domain, unlinks, then drops the IOMMU reference. */
export function detach_device(d: AmdDriver, iommu: AmdIommu, dev: AttachedDevData): void {
  d.k.call(F.detach_device, () => {
    const domain = dev.domain;
    if (d.k.WARN_ON(domain === null)) return;
    clear_dte_entry(d.k, iommu, dev); // dev_update_dte(dev_data, false)
    amd_iommu_domain_flush_all(d.k, d.g, domain!);
    domain!.dev_list.splice(domain!.dev_list.indexOf(dev), 1);
    dev.domain = null;
    // decrease reference counters - needs to happen after the flushes
    pdom_detach_iommu(d, iommu, domain!);
  });
}

/**
 * amd_iommu_attach_device, the attach_dev op (iommu.c @ 06c926bd): nothing when the device is already in that
 * domain; with CONFIG_AMD_IOMMU_IOMMUFD (`iommufd`, the series-s variants) the device's ID and its aliases are
 * reserved in the segment's translate-devid pool first, so no later vIOMMU takes them as a trans_devid, and an
 * ID a vIOMMU already holds as its trans_devid fails the attach with -EBUSY; then the device leaves its old
 * domain and joins the new one.
 */
export function amd_iommu_attach_device(
  d: AmdDriver,
  iommu: AmdIommu,
  dev: AttachedDevData,
  domain: ProtectionDomain,
  iommufd: boolean,
): number {
  return d.k.call(F.amd_iommu_attach_device, () => {
    if (dev.domain === domain) return 0;
    if (iommufd) {
      const pr = printers(d.k.log, 'AMD-Vi: ');
      const pool = transDevidPool(d, iommu);
      let ret = amd_iommu_trans_devid_reserve(d.k, pool, iommu.seg, dev.devid);
      if (ret) {
        pr.pr_err('%s: Failed to reserve device id %#x\n', 'amd_iommu_attach_device', dev.devid);
        return ret;
      }
      ret = amd_iommu_trans_devid_reserve_pci_aliases(d.k, pool, iommu.seg, dev.devid);
      if (ret) {
        pr.pr_err(
          '%s: Failed to reserve translate devid for alias of %#x (err %d)\n',
          'amd_iommu_attach_device',
          dev.devid,
          ret,
        );
        return ret;
      }
    }
    if (dev.domain) detach_device(d, iommu, dev);
    return attach_device(d, iommu, dev, domain);
  });
}
