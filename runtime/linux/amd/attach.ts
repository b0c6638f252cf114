import { pt_iommu_amdv1_hw_info } from '../../pt/fmt/amdv1.js';
import { Errno } from '../errno.js';
import { GFP_ATOMIC } from '../gfp.js';
import { kfree, kzalloc } from '../slab.js';
import { CMD_INV_IOMMU_ALL_PAGES_ADDRESS, type AmdIommu } from './amd-iommu.js';
import { build_inv_dte, build_inv_iommu_pages, iommu_completion_wait, iommu_queue_command } from './cmd.js';
import type { DevData, ProtectionDomain } from './domain.js';
import { amd_iommu_domain_flush_all } from './domain-flush.js';
import type { AmdDriver } from './driver.js';
import { DTE_DOMID_MASK, DTE_FLAG_MASK, DTE_FLAG_TV, DTE_FLAG_V, dteAddress, dtePagingWord } from './dev-table.js';
import { AMDESE_S, portedFrom } from '../ported.js';

const F = portedFrom(AMDESE_S, 'drivers/iommu/amd/iommu.c', [
  'pdom_attach_iommu',
  'pdom_detach_iommu',
  'attach_device',
  'detach_device',
]);

/** struct iommu_dev_data of one PCI function behind an IOMMU, with the domain it is attached to. */
export interface AttachedDevData extends DevData {
  domain: ProtectionDomain | null;
}

/** The IOMMUs a domain's devices sit behind, refcounted; a new one costs a GFP_ATOMIC allocation. */
export function pdom_attach_iommu(d: AmdDriver, iommu: AmdIommu, pdom: ProtectionDomain): number {
  return d.k.call(F.pdom_attach_iommu, () => {
    const info = pdom.iommu_array.get(iommu.index);
    if (info) {
      info.refcnt++;
      return 0;
    }
    const va = kzalloc(d.k, 16n, GFP_ATOMIC);
    if (va === null) return -Errno.ENOMEM;
    pdom.iommu_array.set(iommu.index, { iommu, refcnt: 1, va });
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

/** Points the device's DTE at `domain`'s table (or at `top` after a top change); flushes an old domain ID. */
export function set_dte_entry(
  d: AmdDriver,
  iommu: AmdIommu,
  dev: DevData,
  domain: ProtectionDomain,
  top?: { pa: bigint; level: number },
): void {
  const at = dteAddress(iommu, dev.devid);
  const info = top ? { host_pt_root: top.pa, mode: top.level + 1 } : pt_iommu_amdv1_hw_info(domain.amdv1!.top());
  const old = d.k.mem.read64(at + 8n);
  const oldDomid = Number(old & DTE_DOMID_MASK);
  d.k.mem.write64(at + 8n, (old & ~DTE_DOMID_MASK) | BigInt(domain.id));
  d.k.mem.write64(at, dtePagingWord(info.host_pt_root, info.mode));
  // Upstream flushes any old domain ID, even the same one rewritten by a top change (amd_iommu_flush_tlb_domid).
  if (oldDomid) {
    iommu_queue_command(d.k, iommu, build_inv_iommu_pages(0n, CMD_INV_IOMMU_ALL_PAGES_ADDRESS, oldDomid, 0, false));
    iommu_completion_wait(d.k, iommu);
  }
}

/** V and TV set, no IR/IW: DMA from the device is blocked. */
function clear_dte_entry(d: AmdDriver, iommu: AmdIommu, dev: DevData): void {
  const at = dteAddress(iommu, dev.devid);
  d.k.mem.write64(at, DTE_FLAG_V | DTE_FLAG_TV);
  d.k.mem.write64(at + 8n, d.k.mem.read64(at + 8n) & DTE_FLAG_MASK);
}

/** dev_update_dte: write or clear the DTE, then flush it and wait. */
function dev_update_dte(d: AmdDriver, iommu: AmdIommu, dev: AttachedDevData, set: boolean): void {
  if (set) set_dte_entry(d, iommu, dev, dev.domain!);
  else clear_dte_entry(d, iommu, dev);
  iommu_queue_command(d.k, iommu, build_inv_dte(dev.devid)); // device_flush_dte
  iommu_completion_wait(d.k, iommu);
}

/** Attaches a device to a domain: -EBUSY when it already has one. */
export function attach_device(d: AmdDriver, iommu: AmdIommu, dev: AttachedDevData, domain: ProtectionDomain): number {
  return d.k.call(F.attach_device, () => {
    if (dev.domain !== null) return -Errno.EBUSY;
    const ret = pdom_attach_iommu(d, iommu, domain);
    if (ret) return ret;
    dev.domain = domain;
    domain.dev_list.push(dev);
    dev_update_dte(d, iommu, dev, true);
    return 0;
  });
}

/** Clears the DTE, flushes the whole domain, then drops the domain's reference to the IOMMU. */
export function detach_device(d: AmdDriver, iommu: AmdIommu, dev: AttachedDevData): void {
  d.k.call(F.detach_device, () => {
    const domain = dev.domain;
    if (d.k.WARN_ON(domain === null)) return;
    dev_update_dte(d, iommu, dev, false);
    amd_iommu_domain_flush_all(d.k, d.g, domain!);
    domain!.dev_list.splice(domain!.dev_list.indexOf(dev), 1);
    dev.domain = null;
    pdom_detach_iommu(d, iommu, domain!);
  });
}
