import { amdv1 } from '../../pt/fmt/amdv1.js';
import { Errno } from '../errno.js';
import { GFP_ATOMIC, GFP_KERNEL, type Gfp } from '../gfp.js';
import { ERR_PTR, type KPtr } from '../kptr.js';
import type { IotlbGather } from '../iommu-gather.js';
import { kfree, kzalloc } from '../slab.js';
import { PtFeature } from '../../pt/defs.js';
import { PtIommu, type PtDriverOps } from '../../pt/iommu-pt.js';
import { MAX_DOMAIN_ID } from './amd-iommu.js';
import { amd_iommu_domain_flush_pages, amd_iommu_iotlb_sync, domain_flush_complete } from './domain-flush.js';
import type { AmdDriver } from './driver.js';
import { iommu_iotlb_sync } from './iommu-core.js';
import { device_flush_dte, set_dte_entry } from './dte.js';
import { PDOM_DEV_LIST, type IommuDomainOps, type ProtectionDomain } from './domain.js';
import { AMDESE_S, portedFrom } from '../ported.js';

const F = portedFrom(AMDESE_S, 'drivers/iommu/amd/iommu.c', [
  'protection_domain_alloc',
  'amd_iommu_domain_alloc_paging_v1',
  'amd_iommu_domain_free',
  'amd_iommu_change_top',
]);

/** sizeof(struct protection_domain) is a few hundred bytes: one kmalloc object. */
const SIZEOF_PROTECTION_DOMAIN = 512n;

export function amd_iommu_pdom_id_alloc(d: AmdDriver): number {
  return d.g.pdom_ids.alloc_range(d.k, 1, MAX_DOMAIN_ID - 1, GFP_ATOMIC);
}

export function amd_iommu_pdom_id_free(d: AmdDriver, id: number): void {
  d.g.pdom_ids.free(d.k, id);
}

/** kzalloc + domain ID; an ID failure frees the object and the errno is lost (NULL either way). */
export function protection_domain_alloc(d: AmdDriver): ProtectionDomain | null {
  return d.k.call(F.protection_domain_alloc, () => {
    const va = kzalloc(d.k, SIZEOF_PROTECTION_DOMAIN, GFP_KERNEL);
    if (va === null) return null;
    const domid = amd_iommu_pdom_id_alloc(d);
    if (domid <= 0) {
      kfree(d.k, va);
      return null;
    }
    // protection_domain_init: lock, lists, iommu_array.
    return { va, id: domid, nid: 0, iommu_array: new Map(), dev_list: [], viommu_list: [], amdv1: null, ops: null };
  });
}

/**
 * amd_iommu_change_top: each device's DTE gets the new root and level (set_dte_entry, which also flushes the
 * domain ID since it is the old one too), then its DTE is invalidated again; one completion wait at the end.
 */
function amd_iommu_change_top(d: AmdDriver, pdom: ProtectionDomain, top: { pa: bigint; level: number }): void {
  d.k.call(F.amd_iommu_change_top, () => {
    for (const dev of pdom.dev_list) {
      set_dte_entry(d.k, dev.iommu, dev, pdom, top);
      device_flush_dte(d.k, dev.iommu, dev); // after clone_aliases (no aliases)
    }
    domain_flush_complete(d.k, pdom);
  });
}

/** amd_iommu_iotlb_sync_map: flushes non-present-to-present changes only under NpCache. */
function amd_iommu_iotlb_sync_map(d: AmdDriver, domain: ProtectionDomain, iova: bigint, size: bigint): number {
  if (!d.g.amd_iommu_np_cache) return 0;
  amd_iommu_domain_flush_pages(d.k, d.g, domain, iova, size);
  return 0;
}

/**
 * amdv1_ops: IOMMU_PT_DOMAIN_OPS(amdv1) plus the AMD sync hooks. An object holding the driver rather than
 * closures over it (as the ops table below), so a forked machine's domains call the fork's driver.
 */
class Amdv1Ops implements IommuDomainOps {
  constructor(private readonly d: AmdDriver) {}

  map_range(dom: ProtectionDomain, iova: bigint, paddr: bigint, size: bigint, prot: number, gfp: Gfp) {
    return dom.amdv1!.map(iova, paddr, size, prot, gfp);
  }

  unmap_range(dom: ProtectionDomain, iova: bigint, size: bigint, gather: IotlbGather): bigint {
    return dom.amdv1!.unmap(iova, size, gather);
  }

  iotlb_sync_map(dom: ProtectionDomain, iova: bigint, size: bigint): number {
    return amd_iommu_iotlb_sync_map(this.d, dom, iova, size);
  }

  iotlb_sync(dom: ProtectionDomain, gather: IotlbGather): void {
    amd_iommu_iotlb_sync(this.d.k, this.d.g, dom, gather);
  }

  iova_to_phys(dom: ProtectionDomain, iova: bigint): bigint {
    return dom.amdv1!.iovaToPhys(iova);
  }
}

/** The table code's calls back into the driver for one domain (the domain's container_of in C). */
class Amdv1DriverOps implements PtDriverOps {
  constructor(
    private readonly d: AmdDriver,
    private readonly domain: ProtectionDomain,
  ) {}

  changeTop(pa: bigint, level: number): void {
    amd_iommu_change_top(this.d, this.domain, { pa, level });
  }

  iotlbSync(gather: IotlbGather): void {
    iommu_iotlb_sync(this.d.k, this.domain, gather);
  }
}

/**
 * The generic_pt config (struct pt_iommu_amdv1_cfg) a caller may impose in place of the one the driver
 * computes, as KUnit's pt_kunit_priv_init hands pt_iommu_amdv1_init a config of its choosing: any field left
 * out keeps the driver's value. Not a kernel interface: the harness's way to reach the table code's other
 * configurations (a 32-bit VA, another starting level, other features) through the driver's own allocator.
 */
export interface PagingCfgOverride {
  readonly hwMaxVaszLg2?: number;
  readonly startingLevel?: number;
  /** cfg.common.features, whole: forced features left out make pt_iommu_amdv1_init fail (-EOPNOTSUPP). */
  readonly features?: number;
}

/**
 * Allocates a v1 paging domain for `nid`'s device. Returns ERR_PTR on every failure, never NULL: hatdis is
 * -EOPNOTSUPP, no domain object or ID is -ENOMEM, a failed table init frees the domain and passes its errno.
 */
export function amd_iommu_domain_alloc_paging_v1(
  d: AmdDriver,
  nid: number,
  _flags: number,
  cfg: PagingCfgOverride = {},
): KPtr<ProtectionDomain> {
  return d.k.call(F.amd_iommu_domain_alloc_paging_v1, () => {
    if (d.g.amd_iommu_hatdis) return ERR_PTR(-Errno.EOPNOTSUPP);
    const domain = protection_domain_alloc(d);
    if (!domain) return ERR_PTR(-Errno.ENOMEM);
    domain.nid = nid;
    // AMD's IOMMU can flush any range in one command; under NpCache (a VM) avoid flushing gaps.
    const features =
      PtFeature.DYNAMIC_TOP |
      PtFeature.AMDV1_ENCRYPT_TABLES |
      PtFeature.AMDV1_FORCE_COHERENCE |
      (d.g.amd_iommu_np_cache ? PtFeature.FLUSH_RANGE_NO_GAPS : PtFeature.FLUSH_RANGE);
    domain.ops = new Amdv1Ops(d);
    const table = PtIommu.init(
      d.k,
      {
        fmt: amdv1,
        hwMaxVaszLg2: cfg.hwMaxVaszLg2 ?? Math.min(64, (d.g.amd_iommu_hpt_level - 1) * 9 + 21),
        hwMaxOaszLg2: 52,
        startingLevel: cfg.startingLevel ?? 2,
        features: cfg.features ?? features,
        nid,
        debugGenericPt: d.g.debug_generic_pt,
        driverOps: new Amdv1DriverOps(d, domain),
      },
      GFP_KERNEL,
    );
    if (typeof table === 'number') {
      amd_iommu_domain_free(d, domain);
      return ERR_PTR(table);
    }
    domain.amdv1 = table;
    // Narrow the supported page sizes to those selected by the kernel command line.
    table.pgsizeBitmap &= d.g.amd_iommu_pgsize_bitmap;
    return domain;
  });
}

/** WARN if devices are still attached, free every table page (no flush), release the ID, kfree. */
export function amd_iommu_domain_free(d: AmdDriver, dom: KPtr<ProtectionDomain>): void {
  d.k.call(F.amd_iommu_domain_free, () => {
    const domain = d.k.deref(dom, PDOM_DEV_LIST);
    d.k.WARN_ON(domain.dev_list.length !== 0);
    domain.amdv1?.deinit(); // pt_iommu_deinit: nothing to do if init never finished
    domain.amdv1 = null;
    amd_iommu_pdom_id_free(d, domain.id);
    kfree(d.k, domain.va);
  });
}
