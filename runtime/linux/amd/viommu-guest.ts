import type { AmdIommu } from './amd-iommu.js';
import type { ProtectionDomain } from './domain.js';

/**
 * struct amd_iommu_viommu (AMDESE/linux-iommu @ 06c926bd, amd_iommu_types.h), as far as the model goes: one
 * guest's vIOMMU on one IOMMU, made by the iommufd viommu_init op.
 */
export interface AmdIommuViommu {
  readonly gid: number;
  /** The nest parent (aviommu->parent): its domain ID is what every guest DomID maps to at first. */
  readonly parent: ProtectionDomain | null;
  /** The nest parent's domain ID (aviommu->parent->id). */
  readonly parentId: number;
  devid_table: bigint | null;
  domid_table: bigint | null;
  trans_devid: number;
  vfmmio_mmap_offset: bigint;
  /** The IOMMU behind it (container_of(aviommu->core.iommu_dev)): where its hDomIDs are flushed. */
  readonly iommu: AmdIommu | null;
  /** gdomid_array: the guest DomID → host DomID mappings of its nested domains, indexed by guest DomID. */
  readonly gdomid_array: Map<number, GuestDomainMappingInfo>;
}

/** struct guest_domain_mapping_info (nested.c 1e91ed15's amd_iommu_types.h): `refcount_t users; u32 hdom_id;`. */
export interface GuestDomainMappingInfo {
  /** The kzalloc'd object (what kfree takes, and what a read after the free touches). */
  readonly va: bigint;
  users: number;
  hdom_id: number;
}

export function newViommu(
  gid: number,
  parent: ProtectionDomain | null,
  parentId = parent?.id ?? 0,
  iommu: AmdIommu | null = null,
): AmdIommuViommu {
  return {
    gid,
    parent,
    parentId,
    devid_table: null,
    domid_table: null,
    trans_devid: 0,
    vfmmio_mmap_offset: 0n,
    iommu,
    gdomid_array: new Map(),
  };
}

/** The viommu.c functions the iommufd ops call, implemented by the driver variants that have them. */
export interface GuestTableOps {
  amd_viommu_init_one(iommu: AmdIommu, aviommu: AmdIommuViommu): number;
  amd_viommu_uninit_one(iommu: AmdIommu, aviommu: AmdIommuViommu): void;
  amd_iommu_update_vfctrl_mmio_translate_devid(iommu: AmdIommu, gid: number, devid: number): void;
  amd_viommu_set_device_mapping(iommu: AmdIommu, hDevId: number, gid: number, gDevId: number): void;
  amd_viommu_domain_id_update(iommu: AmdIommu, gid: number, hdomId: number, gdomId: number): number;
  amd_viommu_set_cmdbuf_flags(iommu: AmdIommu, gid: number, q: HwQueue): void;
  amd_viommu_set_evtbuf_flags(iommu: AmdIommu, gid: number, q: HwQueue): void;
  amd_viommu_set_pprbuf_flags(iommu: AmdIommu, gid: number, q: HwQueue): void;
  /** iommufd.c's viommu_init: does a failed copy_to_user undo amd_viommu_init_one (bug 5's fix)? */
  uninitOneOnCopyFailure(): boolean;
}

/** An iommufd HW queue as the AMD setters read it: the guest buffer's GPA, the 4-bit length code, flags. */
export interface HwQueue {
  readonly base_addr: bigint;
  readonly length: number;
  /** IOMMU_HW_QUEUE_FLAG_AMD_* by name: the uAPI's bit values were not found (fact sheet §3.9). */
  readonly flags: ReadonlySet<string>;
}
