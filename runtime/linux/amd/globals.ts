import { Ida } from '../ida.js';
import type { TransDevidState } from './trans-devid.js';

/** AMD_IOMMU_PGSIZES: every power of two from 4 KiB to 2^51 except 512 GiB (a hardware erratum). */
export const AMD_IOMMU_PGSIZES = 0x000f_ff7f_ffff_f000n;
export const AMD_IOMMU_PGSIZES_4K = 0x1000n;

/**
 * The AMD driver's module-wide state (the C file-scope globals), one per simulated machine so runs never
 * share it: the domain-ID allocator, the page-size option, NpCache, the host page-table level.
 */
export interface AmdDriverGlobals {
  readonly pdom_ids: Ida;
  /** amd_iommu=pgsize_4k makes it 4 KiB only. */
  amd_iommu_pgsize_bitmap: bigint;
  /** Set when any IOMMU reports NpCache: we run as a guest behind an emulated IOMMU. */
  amd_iommu_np_cache: boolean;
  /** EFR.HATS + 4; 0 until the first IOMMU is parsed. */
  amd_iommu_hpt_level: number;
  /**
   * The guest page-table levels the IOMMUs support (PAGE_MODE_4_LEVEL or _5_LEVEL, from EFR GATS): 4, since
   * the modelled IOMMUs report GATS 0.
   */
  amd_iommu_gpt_level: number;
  /** HATS == 3: host translation disabled. */
  amd_iommu_hatdis: boolean;
  /** The vIOMMU support switch of the vIOMMU tree. */
  amd_iommu_viommu: boolean;
  /** pci_seg->trans_devid_xa of each PCI segment, by segment. */
  readonly trans_devid_xa: Map<number, Map<number, TransDevidState>>;
  /** iommufd's mmap cookies handed out so far (the next offset). */
  mmap_cookies: number;
  /** CONFIG_DEBUG_GENERIC_PT, a kernel config (KUnit's .kunitconfig sets it). */
  readonly debug_generic_pt: boolean;
}

export function newDriverGlobals(pgsize4k: boolean, viommu = true, debugGenericPt = false): AmdDriverGlobals {
  return {
    pdom_ids: new Ida('pdom_ids'),
    amd_iommu_pgsize_bitmap: pgsize4k ? AMD_IOMMU_PGSIZES_4K : AMD_IOMMU_PGSIZES,
    amd_iommu_np_cache: false,
    amd_iommu_hpt_level: 0,
    amd_iommu_gpt_level: 4,
    amd_iommu_hatdis: false,
    amd_iommu_viommu: viommu,
    trans_devid_xa: new Map(),
    mmap_cookies: 0,
    debug_generic_pt: debugGenericPt,
  };
}
