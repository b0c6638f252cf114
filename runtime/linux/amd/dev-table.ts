import { virt_to_phys } from '../../mem/direct-map.js';
import type { AmdIommu } from './amd-iommu.js';

/** Device table entry bits the driver writes (amd_iommu_types.h), 256-bit entry, data[0] and data[1]. */
export const DTE_FLAG_V = 1n << 0n;
export const DTE_FLAG_TV = 1n << 1n;
export const DTE_FLAG_IR = 1n << 61n;
export const DTE_FLAG_IW = 1n << 62n;
/** DTE_FLAG_IOTLB: data[1] bit 32 (DEV_ENTRY_IOTLB 0x60). */
export const DTE_FLAG_IOTLB = 1n << 32n;
/** DTE_HOST_TRP: page-table root, bits 51:12 of data[0]. */
const DTE_ROOT_MASK = 0x000f_ffff_ffff_f000n;
export const DTE_DOMID_MASK = 0xffffn;

/** Physical address of `devid`'s entry in the IOMMU's device table (32 bytes each). */
export function dteAddress(iommu: AmdIommu, devid: number): bigint {
  return virt_to_phys(iommu.dev_table) + BigInt(devid) * 32n;
}

/**
 * The data[0] and data[1] bits amd_iommu_set_dte_v1 ORs into a clear DTE: TV, mode (11:9), root, IR, IW;
 * the domain ID and, with ATS, IOTLB. HAD (dirty tracking) is never set: no domain here tracks dirty bits.
 */
export function dteV1Words(hostPtRoot: bigint, mode: number, domid: number, ats: boolean): [bigint, bigint] {
  const data0 = DTE_FLAG_TV | (BigInt(mode & 7) << 9n) | (hostPtRoot & DTE_ROOT_MASK) | DTE_FLAG_IR | DTE_FLAG_IW;
  return [data0, (BigInt(domid) & DTE_DOMID_MASK) | (ats ? DTE_FLAG_IOTLB : 0n)];
}
