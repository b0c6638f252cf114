import type { PtIommu } from '../../pt/iommu-pt.js';
import type { AmdIommu } from './amd-iommu.js';

/** struct pdom_iommu_info: an IOMMU some device of the domain sits behind, with a reference count. */
export interface PdomIommuInfo {
  readonly iommu: AmdIommu;
  refcnt: number;
}

/** struct iommu_dev_data, as far as flushing needs it. */
export interface DevData {
  readonly devid: number;
  readonly iommu: AmdIommu;
  readonly ats_enabled: boolean;
  readonly ats_qdep: number;
}

/**
 * struct protection_domain. Its first member is the struct iommu_domain, so to_pdomain() is an offset-0
 * cast: the same object stands for both, and an ERR_PTR stays an ERR_PTR through it.
 */
export interface ProtectionDomain {
  /** The kzalloc'd object's kernel address (what kfree takes). */
  readonly va: bigint;
  id: number;
  nid: number;
  /** xarray keyed by IOMMU index: filled on attach, so flushes reach exactly those IOMMUs. */
  readonly iommu_array: Map<number, PdomIommuInfo>;
  readonly dev_list: DevData[];
  /** The generic_pt table (struct pt_iommu_amdv1 amdv1); null until pt_iommu_amdv1_init succeeded. */
  amdv1: PtIommu | null;
  /** domain->type & __IOMMU_DOMAIN_PAGING, and domain->pgsize_bitmap, set by generic_pt init. */
  paging: boolean;
  pgsize_bitmap: bigint;
}
