import type { AmdIommuHw } from '../../hw/iommu.js';
import type { Ida } from '../ida.js';
import type { KPtr } from '../kptr.js';
import type { DevData, ProtectionDomain } from './domain.js';

/** VIOMMU_PRIV_* from the patch: the private region is 4 x 2 MiB at IOVA 0. */
export const VIOMMU_PRIV_REGION_BASE = 0n;
export const VIOMMU_PRIV_SUBREGION_CNT = 4;
export const VIOMMU_PRIV_SUBREGION_SIZE = 0x200000n;
/** viommu.c: each guest's DevID table (1 MiB) and DomID table (512 KiB) in the private space, by gid. */
export const VIOMMU_DEVID_MAPPING_BASE = 0x10_0000_0000n;
export const VIOMMU_DEVID_MAPPING_ENTRY_SIZE = 1n << 20n;
export const VIOMMU_DOMID_MAPPING_BASE = 0x20_0000_0000n;
export const VIOMMU_DOMID_MAPPING_ENTRY_SIZE = 1n << 19n;
/** amd_viommu.h: the VF BAR and VF_CNTL BAR windows amd_viommu_init maps. */
export const VIOMMU_VF_MMIO_MAP_SIZE = 0x1000_0000n;
export const VIOMMU_VF_CNTL_MMIO_MAP_SIZE = 0x40_0000n;
/** For vIOMMU, the GID is 16-bit. */
export const VIOMMU_MAX_GID = 0xffff;
/** EFR bit 55: the IOMMU implements the vIOMMU. */
export const FEATURE_VIOMMU = 1n << 55n;

/** What the IOMMU's PCI function exposes to the vIOMMU set-up: the vendor capability and the VF BARs. */
export interface IommuPciConfig {
  readonly vendorCapability: boolean;
  /** Raw BAR values as read from config space: bit 0 is the enable bit. */
  readonly vfBar: bigint;
  readonly vfCntlBar: bigint;
}

/** drivers/iommu/amd/amd_iommu_types.h constants the ported code uses. */
export const LOOP_TIMEOUT = 100000;
export const CMD_BUFFER_SIZE_DEFAULT = 8192;
export const EVT_BUFFER_SIZE = 8192;
export const MAX_DOMAIN_ID = 65536;
export const CMD_INV_IOMMU_ALL_PAGES_ADDRESS = 0x7fff_ffff_ffff_ffffn;
export const CMD_COMPL_WAIT_STORE_MASK = 0x01;
export const CMD_INV_IOMMU_PAGES_SIZE_MASK = 0x01;
export const CMD_INV_IOMMU_PAGES_PDE_MASK = 0x02;
export const CMD_INV_IOMMU_PAGES_GN_MASK = 0x04;

/** The driver's struct amd_iommu, as far as the modelled paths use it. */
export interface AmdIommu {
  readonly index: number;
  /** PCI segment and the IOMMU's own requester ID (bus << 8 | dev << 3 | fn). */
  readonly seg: number;
  readonly devid: number;
  /** dev_to_node(&iommu->dev->dev). */
  readonly node: number;
  /** The MMIO window: the simulated hardware behind mmio_base. */
  readonly mmio: AmdIommuHw;
  /** CMD_BUFFER_SIZE of this build of the kernel (the ring size, a power-of-two number of 16-byte entries). */
  readonly cmdBufSize: number;
  cmd_buf: bigint;
  cmd_buf_head: number;
  cmd_buf_tail: number;
  need_sync: boolean;
  /** Kernel VA of the completion-wait semaphore. */
  cmd_sem: bigint;
  cmd_sem_val: bigint;
  dev_table: bigint;
  evt_buf: bigint;
  /** Extended Feature Register, as read at boot. */
  readonly features: bigint;
  readonly pci: IommuPciConfig;

  // vIOMMU state (struct amd_iommu members of the vIOMMU tree and of the patch)
  vsc_offset: number;
  vf_base: bigint | null;
  vfctrl_base: bigint | null;
  vf_base_phys: bigint;
  vf_cntl_phys: bigint;
  gid_ida: Ida | null;
  gid_ida_inited: boolean;
  viommu_pdom: KPtr<ProtectionDomain>;
  /** The IOMMU's own iommu_dev_data (base tree only). */
  viommu_dev_data: DevData | null;
  /** The extended interrupt-remapping L1 table, 8 KiB (base tree only). */
  ext_ir_table: bigint | null;
  readonly viommu_priv_region: (bigint | null)[];
}

/** "seg:bus:dev.fn", the form Linux prints IOMMUs and devices in. */
export function formatDevid(seg: number, devid: number): string {
  const hex = (v: number, w: number): string => v.toString(16).padStart(w, '0');
  return `${hex(seg, 4)}:${hex(devid >> 8, 2)}:${hex((devid >> 3) & 0x1f, 2)}.${(devid & 7).toString(16)}`;
}
