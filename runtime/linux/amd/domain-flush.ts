import { ffs64, fls64 } from '../../base/bits.js';
import type { IotlbGather } from '../iommu-gather.js';
import { iommu_free_pages } from '../iommu-pages.js';
import type { Kernel } from '../kernel.js';
import { CMD_INV_IOMMU_ALL_PAGES_ADDRESS } from './amd-iommu.js';
import { build_inv_iommu_pages, build_inv_iotlb_pages, iommu_completion_wait, iommu_queue_command } from './cmd.js';
import type { AmdDriverGlobals } from './globals.js';
import type { ProtectionDomain } from './domain.js';
import { AMDESE_S, portedFrom } from '../ported.js';
import { printers } from '../printk.js';

const F = portedFrom(AMDESE_S, 'drivers/iommu/amd/iommu.c', [
  'amd_iommu_domain_flush_pages',
  'amd_iommu_iotlb_sync',
  'iommu_flush_pages_v1_hdom_ids',
]);

const IOMMU_NO_PASID = 0;
const U64 = (v: bigint): bigint => BigInt.asUintN(64, v);

/**
 * A nest parent's hDomIDs: for each vIOMMU on pdom->viommu_list (newest first), one INVALIDATE_IOMMU_PAGES per
 * gdomid_array entry (ascending guest DomID) with DomID = its hDomID, to that vIOMMU's IOMMU; errors ORed.
 */
function iommu_flush_pages_v1_hdom_ids(k: Kernel, pdom: ProtectionDomain, address: bigint, size: bigint): number {
  return k.call(F.iommu_flush_pages_v1_hdom_ids, () => {
    const pr = printers(k.log, 'AMD-Vi: ');
    let ret = 0;
    for (const aviommu of pdom.viommu_list) {
      const iommu = aviommu.iommu!;
      for (const [, info] of [...aviommu.gdomid_array.entries()].sort((a, b) => a[0] - b[0])) {
        pr.pr_debug('%s: iommu=%#x, hdom_id=%#x\n', 'iommu_flush_pages_v1_hdom_ids', iommu.devid, info.hdom_id);
        // build_inv_iommu_pages takes a u16 domid
        ret |= iommu_queue_command(
          k,
          iommu,
          build_inv_iommu_pages(address, size, info.hdom_id & 0xffff, IOMMU_NO_PASID, false),
        );
      }
    }
    return ret;
  });
}

/**
 * One INVALIDATE_IOMMU_PAGES to each IOMMU in iommu_array (none at all for an unattached domain), then, for a
 * nest parent, one per hDomID of its vIOMMUs' nested domains.
 */
function domain_flush_pages_v1(k: Kernel, pdom: ProtectionDomain, address: bigint, size: bigint): number {
  const cmd = build_inv_iommu_pages(address, size, pdom.id, IOMMU_NO_PASID, false);
  let ret = 0;
  for (const info of [...pdom.iommu_array.entries()].sort((a, b) => a[0] - b[0]).map(([, i]) => i)) {
    ret |= iommu_queue_command(k, info.iommu, [...cmd]);
  }
  if (pdom.viommu_list.length !== 0) ret |= iommu_flush_pages_v1_hdom_ids(k, pdom, address, size);
  return ret;
}

function __domain_flush_pages(k: Kernel, domain: ProtectionDomain, address: bigint, size: bigint): void {
  let ret = domain_flush_pages_v1(k, domain, address, size);
  for (const dev of domain.dev_list) {
    if (!dev.ats_enabled) continue;
    ret |= iommu_queue_command(
      k,
      dev.iommu,
      build_inv_iotlb_pages(dev.devid, dev.ats_qdep, address, size, IOMMU_NO_PASID, false),
    );
  }
  k.WARN_ON(ret !== 0);
}

/** Completion wait on every IOMMU the domain is attached to. */
export function domain_flush_complete(k: Kernel, domain: ProtectionDomain): void {
  for (const [, info] of [...domain.iommu_array.entries()].sort((a, b) => a[0] - b[0]))
    iommu_completion_wait(k, info.iommu);
}

/**
 * Flushes [address, address + size) of the domain. Under NpCache (a guest behind an emulated IOMMU) the
 * range is split into naturally aligned chunks, one command each, so the hypervisor never re-shadows
 * entries that did not change.
 */
export function amd_iommu_domain_flush_pages(
  k: Kernel,
  g: AmdDriverGlobals,
  domain: ProtectionDomain,
  address: bigint,
  size: bigint,
): void {
  k.call(F.amd_iommu_domain_flush_pages, () => {
    if (!g.amd_iommu_np_cache) {
      __domain_flush_pages(k, domain, address, size);
      domain_flush_complete(k, domain);
      return;
    }
    while (size !== 0n) {
      const sizeAlignment = fls64(size) - 1;
      const minAlignment = address !== 0n ? Math.min(ffs64(address)!, sizeAlignment) : sizeAlignment;
      const flushSize = 1n << BigInt(minAlignment);
      __domain_flush_pages(k, domain, address, flushSize);
      address = U64(address + flushSize);
      size -= flushSize;
    }
    domain_flush_complete(k, domain);
  });
}

export function amd_iommu_domain_flush_all(k: Kernel, g: AmdDriverGlobals, domain: ProtectionDomain): void {
  amd_iommu_domain_flush_pages(k, g, domain, 0n, CMD_INV_IOMMU_ALL_PAGES_ADDRESS);
}

/** The domain's iotlb_sync: flush the gathered range (u64 arithmetic, as in C), then free the gathered tables. */
export function amd_iommu_iotlb_sync(
  k: Kernel,
  g: AmdDriverGlobals,
  domain: ProtectionDomain,
  gather: IotlbGather,
): void {
  k.call(F.amd_iommu_iotlb_sync, () => {
    amd_iommu_domain_flush_pages(k, g, domain, gather.start, U64(gather.end - gather.start + 1n));
    for (const va of gather.freelist) iommu_free_pages(k, va); // iommu_put_pages_list
    gather.freelist = [];
  });
}
