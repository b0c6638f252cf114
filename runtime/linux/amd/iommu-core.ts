import { Errno } from '../errno.js';
import { __GFP_COMP, __GFP_DMA, __GFP_DMA32, __GFP_HIGHMEM, type Gfp } from '../gfp.js';
import { iommu_iotlb_gather_init, iommu_iotlb_gather_init_into, type IotlbGather } from '../iommu-gather.js';
import type { KPtr } from '../kptr.js';
import type { Kernel } from '../kernel.js';
import { IOMMU_DOMAIN_OPS, type ProtectionDomain } from './domain.js';
import { IOMMU_CORE, portedFrom } from '../ported.js';

const F = portedFrom(IOMMU_CORE, 'drivers/iommu/iommu.c', [
  'iommu_map_nosync',
  'iommu_map',
  'iommu_unmap',
  'iommu_iova_to_phys',
]);

/**
 * The IOMMU core (drivers/iommu/iommu.c) for generic_pt domains: map and unmap go to the page table in one
 * call each (the map_range/unmap_range path), with the core's rollback and IOTLB sync around them.
 */

export function iommu_map_nosync(
  k: Kernel,
  dom: KPtr<ProtectionDomain>,
  iova: bigint,
  paddr: bigint,
  size: bigint,
  prot: number,
  gfp: Gfp,
): number {
  return k.call(F.iommu_map_nosync, () => {
    const domain = k.deref(dom, IOMMU_DOMAIN_OPS);
    // Discourage passing strange GFP flags or illegal domains
    if (
      k.WARN_ON_ONCE(
        !domain.amdv1 ||
          domain.amdv1.pgsizeBitmap === 0n ||
          (gfp & (__GFP_COMP | __GFP_DMA | __GFP_DMA32 | __GFP_HIGHMEM)) !== 0,
        'iommu_map_nosync',
      )
    )
      return -Errno.EINVAL;
    const { ret, mapped } = domain.ops!.map_range(domain, iova, paddr, size, prot, gfp);
    if (mapped)
      k.mapLog.push({
        seq: k.nextSeq(),
        step: k.step,
        domainId: domain.id,
        kind: 'map',
        iova,
        size: mapped,
        pa: paddr,
      });
    // 0735c54804c7: unwind whatever was mapped, even nothing (the unmap's gather sync still runs).
    if (ret) iommu_unmap(k, domain, iova, mapped);
    return ret;
  });
}

export function iommu_sync_map(k: Kernel, domain: ProtectionDomain, iova: bigint, size: bigint): number {
  return domain.ops ? domain.ops.iotlb_sync_map(domain, iova, size) : 0;
}

/** iommu_map = iommu_map_nosync + iommu_sync_map; a failed sync unmaps the whole range. */
export function iommu_map(
  k: Kernel,
  dom: KPtr<ProtectionDomain>,
  iova: bigint,
  paddr: bigint,
  size: bigint,
  prot: number,
  gfp: Gfp,
): number {
  return k.call(F.iommu_map, () => {
    let ret = iommu_map_nosync(k, dom, iova, paddr, size, prot, gfp);
    if (ret) return ret;
    const domain = dom as ProtectionDomain;
    ret = iommu_sync_map(k, domain, iova, size);
    if (ret) iommu_unmap(k, domain, iova, size);
    return ret;
  });
}

function __iommu_unmap(k: Kernel, domain: ProtectionDomain, iova: bigint, size: bigint, gather: IotlbGather): bigint {
  if (k.WARN_ON_ONCE(!domain.amdv1 || domain.amdv1.pgsizeBitmap === 0n, '__iommu_unmap')) return 0n;
  return domain.ops!.unmap_range(domain, iova, size, gather);
}

/**
 * iommu_iotlb_sync (include/linux/iommu.h): the driver's sync, then the gather is re-initialised. The base
 * tree calls the driver even for an empty gather (start = ULONG_MAX, end = 0), which the AMD driver turns
 * into a flush of everything; upstream later skipped empty gathers ("iommu: Do not call drivers for empty
 * gathers"), which this deliberately does not follow (see README "Upstream base").
 */
export function iommu_iotlb_sync(k: Kernel, domain: ProtectionDomain, gather: IotlbGather): void {
  domain.ops?.iotlb_sync(domain, gather);
  iommu_iotlb_gather_init_into(gather);
}

/** Returns bytes unmapped, never an errno, and always ends with the IOTLB sync. */
export function iommu_unmap(k: Kernel, dom: KPtr<ProtectionDomain>, iova: bigint, size: bigint): bigint {
  return k.call(F.iommu_unmap, () => {
    const domain = k.deref(dom, IOMMU_DOMAIN_OPS);
    const gather = iommu_iotlb_gather_init();
    const ret = __iommu_unmap(k, domain, iova, size, gather);
    if (ret)
      k.mapLog.push({
        seq: k.nextSeq(),
        step: k.step,
        domainId: domain.id,
        kind: 'unmap',
        iova,
        size: ret,
        rootPa: domain.amdv1!.top().pa,
      });
    iommu_iotlb_sync(k, domain, gather);
    return ret;
  });
}

/**
 * iommu_iova_to_phys: an identity domain returns the IOVA, a blocked one 0; a paging domain asks its
 * ops->iova_to_phys, which for a generic_pt domain is iommu_pt.h's iova_to_phys (0 when nothing is mapped,
 * the negative errno as a phys_addr_t for an IOVA outside the table). Only paging domains exist here.
 */
export function iommu_iova_to_phys(k: Kernel, dom: KPtr<ProtectionDomain>, iova: bigint): bigint {
  return k.call(F.iommu_iova_to_phys, () => {
    const domain = k.deref(dom, IOMMU_DOMAIN_OPS);
    return domain.ops!.iova_to_phys(domain, iova);
  });
}
