import { virt_to_phys } from '../../mem/direct-map.js';
import type { AmdIommu } from './amd-iommu.js';

/** Device table entry bits the driver writes (amd_iommu_types.h), 256-bit entry, data[0] and data[1]. */
export const DTE_FLAG_V = 1n << 0n;
export const DTE_FLAG_TV = 1n << 1n;
export const DTE_FLAG_IR = 1n << 61n;
export const DTE_FLAG_IW = 1n << 62n;
/** Page-table root, bits 51:12 of data[0]. */
const DTE_ROOT_MASK = 0x000f_ffff_ffff_f000n;
export const DTE_DOMID_MASK = 0xffffn;
/** DTE_FLAG_MASK: the data[1] bits a clear keeps (IOTLB and friends, 41:32). */
export const DTE_FLAG_MASK = 0x3ffn << 32n;

/** Physical address of `devid`'s entry in the IOMMU's device table (32 bytes each). */
export function dteAddress(iommu: AmdIommu, devid: number): bigint {
  return virt_to_phys(iommu.dev_table) + BigInt(devid) * 32n;
}

/** data[0] of a translating entry: root, mode in 11:9, IR, IW, TV, V. */
export function dtePagingWord(hostPtRoot: bigint, mode: number): bigint {
  return (hostPtRoot & DTE_ROOT_MASK) | (BigInt(mode & 7) << 9n) | DTE_FLAG_IR | DTE_FLAG_IW | DTE_FLAG_TV | DTE_FLAG_V;
}
