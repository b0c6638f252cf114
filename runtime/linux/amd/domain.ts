import type { PtIommu } from '../../pt/iommu-pt.js';
import type { IotlbGather } from '../iommu-gather.js';
import type { Gfp } from '../gfp.js';
import type { AmdIommu } from './amd-iommu.js';
import type { AmdIommuViommu } from './viommu-guest.js';

/** struct pdom_iommu_info: an IOMMU some device of the domain sits behind, with a reference count. */
export interface PdomIommuInfo {
  readonly iommu: AmdIommu;
  refcnt: number;
  /** The kzalloc'd struct itself (absent for hand-made test domains). */
  readonly va?: bigint;
}

/** struct iommu_dev_data, as far as flushing and top changes need it. */
export interface DevData {
  readonly devid: number;
  readonly iommu: AmdIommu;
  readonly ats_enabled: boolean;
  readonly ats_qdep: number;
  /** The kzalloc'd struct, for dev_data the driver allocates itself (the IOMMU's own); absent when probed. */
  readonly va?: bigint;
  /** The guest ID and guest DevID a vDEVICE gave it. */
  gid?: number;
  gDevId?: number;
}

/** struct iommu_domain_ops: what the IOMMU core calls. */
export interface IommuDomainOps {
  map_range(
    domain: ProtectionDomain,
    iova: bigint,
    paddr: bigint,
    size: bigint,
    prot: number,
    gfp: Gfp,
  ): { ret: number; mapped: bigint };
  unmap_range(domain: ProtectionDomain, iova: bigint, size: bigint, gather: IotlbGather): bigint;
  iotlb_sync_map(domain: ProtectionDomain, iova: bigint, size: bigint): number;
  iotlb_sync(domain: ProtectionDomain, gather: IotlbGather): void;
  iova_to_phys(domain: ProtectionDomain, iova: bigint): bigint;
}

/** struct iommu_domain starts `unsigned type; const struct iommu_domain_ops *ops;`: ops is at 8 on x86-64. */
export const IOMMU_DOMAIN_OPS = { field: 'iommu_domain.ops', offset: 8n } as const;
/** Where the exact offset depends on config-dependent layout, the oops names the field instead. */
export const PDOM_DEV_LIST = { field: 'protection_domain.dev_list' } as const;

/**
 * struct protection_domain. Its first member is the struct iommu_domain, so to_pdomain() is an offset-0
 * cast: the same object stands for both, and an ERR_PTR stays an ERR_PTR through it.
 */
export interface ProtectionDomain {
  /** The kzalloc'd object's kernel address (what kfree takes). */
  readonly va: bigint;
  readonly id: number;
  nid: number;
  /** xarray keyed by IOMMU index: filled on attach, so flushes reach exactly those IOMMUs. */
  readonly iommu_array: Map<number, PdomIommuInfo>;
  readonly dev_list: DevData[];
  /** The vIOMMUs using this domain as their nest parent (list_add: newest first). */
  readonly viommu_list: AmdIommuViommu[];
  /**
   * The generic_pt table (struct pt_iommu_amdv1 amdv1); null until pt_iommu_amdv1_init succeeded. It shares
   * a union with the iommu_domain, so the domain's PAGING type and pgsize_bitmap are the table's.
   */
  amdv1: PtIommu | null;
  ops: IommuDomainOps | null;
}
