import * as R from '../../../hw/regs.js';
import { virt_to_phys } from '../../../mem/direct-map.js';
import { pt_iommu_amdv1_hw_info } from '../../../pt/fmt/amdv1.js';
import { Errno } from '../../errno.js';
import { GFP_KERNEL, __GFP_ZERO } from '../../gfp.js';
import { __get_free_pages, free_pages } from '../../page-alloc.js';
import { AMDESE_S, portedFrom } from '../../ported.js';
import { FEATURE_VIOMMU, type AmdIommu } from '../amd-iommu.js';
import type { AttachedDevData } from '../attach.js';
import { amd_iommu_alloc_dev_data, amd_iommu_free_dev_data } from '../dev-data.js';
import {
  amd_iommu_make_clear_dte,
  amd_iommu_set_dte_v1,
  amd_iommu_update_dte,
  amd_iommu_update_dte_ir,
  DTE_EXT_INTTABLEN_L1,
} from '../dte.js';
import { ViommuPatchV3 } from '../viommu.js';

const F = {
  ...portedFrom(AMDESE_S, 'drivers/iommu/amd/viommu.c', [
    'amd_viommu_init',
    'amd_viommu_uninit',
    'viommu_free_self_dev_data',
    'alloc_ext_int_remap_tbl_entry',
    'free_ext_int_remap_tbl',
    'viommu_enable',
  ]),
  ...portedFrom(AMDESE_S, 'drivers/iommu/amd/init.c', ['iommu_feature_enable_and_check']),
};

/** EXT_INT_REMAP_TBL_L1_SIZE = 2 pages: __get_free_pages order 1. */
const EXT_INT_REMAP_TBL_L1_ORDER = 1;

/**
 * The vIOMMU boot of the base tree (AMDESE/linux-iommu @ 06c926bd, viommu.c): v3's private region plus the
 * IOMMU's own dev_data and DTE, the extended interrupt-remapping table and viommu_enable, with S's unwind
 * labels. The private-region functions are v3's, which S carries byte for byte (including `if (!dom)`).
 */
export class ViommuSeriesS extends ViommuPatchV3 {
  override amd_viommu_init(iommu: AmdIommu): number {
    const k = this.d.k;
    return k.call(F.amd_viommu_init, () => {
      let dteSet = false;
      if (!this.d.g.amd_iommu_viommu || !(iommu.features & FEATURE_VIOMMU)) return 0;
      iommu.viommu_dev_data = amd_iommu_alloc_dev_data(this.d, iommu, iommu.devid);
      if (!iommu.viommu_dev_data) {
        this.pr.pr_err('%s: Failed to allocate dev_data\n', 'amd_viommu_init');
        return -Errno.ENOMEM;
      }
      let ret = this.viommu_init_pci_vsc(iommu);
      if (ret) return this.errDevData(iommu, dteSet, ret);
      ret = this.viommu_vf_vfcntl_init(iommu);
      if (ret) return this.errDevData(iommu, dteSet, ret);
      this.amd_viommu_gid_ida_init(iommu);
      ret = this.viommu_private_space_init(iommu);
      if (ret) return this.errUnmapVf(iommu, dteSet, ret);
      ret = this.alloc_ext_int_remap_tbl_entry(iommu);
      if (ret) return this.errPrivateSpace(iommu, dteSet, ret);
      // Set DTE for IOMMU device: the clear DTE, then set_dte_ipa
      const pdom = k.deref(iommu.viommu_pdom, { field: 'protection_domain.amdv1' });
      const dte = amd_iommu_make_clear_dte(iommu, iommu.devid);
      amd_iommu_set_dte_v1(iommu.viommu_dev_data, pdom.id, pt_iommu_amdv1_hw_info(pdom.amdv1!.top()), dte);
      amd_iommu_update_dte(k, iommu, iommu.viommu_dev_data, dte);
      amd_iommu_update_dte_ir(k, iommu, iommu.viommu_dev_data, virt_to_phys(iommu.ext_ir_table!), DTE_EXT_INTTABLEN_L1);
      dteSet = true;
      ret = this.viommu_enable(iommu);
      if (ret) return this.errPrivateSpace(iommu, dteSet, ret);
      return 0;
    });
  }

  /** err_private_space: the private space and the ext-IR table go first, while the DTE still points at them. */
  private errPrivateSpace(iommu: AmdIommu, dteSet: boolean, ret: number): number {
    this.viommu_private_space_uninit(iommu);
    this.free_ext_int_remap_tbl(iommu);
    return this.errUnmapVf(iommu, dteSet, ret);
  }

  private errUnmapVf(iommu: AmdIommu, dteSet: boolean, ret: number): number {
    this.amd_viommu_uninit(iommu);
    return this.errDevData(iommu, dteSet, ret);
  }

  private errDevData(iommu: AmdIommu, dteSet: boolean, ret: number): number {
    this.viommu_free_self_dev_data(iommu, dteSet);
    return ret;
  }

  /** amd_viommu_uninit: the IOMMU's own DTE cleared and its dev_data freed, then the IDA and the BARs. */
  override amd_viommu_uninit(iommu: AmdIommu): void {
    this.d.k.call(F.amd_viommu_uninit, () => {
      this.viommu_free_self_dev_data(iommu, true);
      this.amd_viommu_gid_ida_fini(iommu);
      this.amd_viommu_vf_vfcntl_unmap(iommu);
    });
  }

  viommu_free_self_dev_data(iommu: AmdIommu, clearDte: boolean): void {
    this.d.k.call(F.viommu_free_self_dev_data, () => {
      const dev = iommu.viommu_dev_data as AttachedDevData | null;
      if (!dev) return;
      if (clearDte) amd_iommu_update_dte(this.d.k, iommu, dev, amd_iommu_make_clear_dte(iommu, dev.devid));
      amd_iommu_free_dev_data(this.d, iommu, dev);
      iommu.viommu_dev_data = null;
    });
  }

  alloc_ext_int_remap_tbl_entry(iommu: AmdIommu): number {
    return this.d.k.call(F.alloc_ext_int_remap_tbl_entry, () => {
      iommu.ext_ir_table = __get_free_pages(this.d.k, GFP_KERNEL | __GFP_ZERO, EXT_INT_REMAP_TBL_L1_ORDER);
      return iommu.ext_ir_table ? 0 : -Errno.ENOMEM;
    });
  }

  free_ext_int_remap_tbl(iommu: AmdIommu): void {
    this.d.k.call(F.free_ext_int_remap_tbl, () => {
      if (!iommu.ext_ir_table) return;
      free_pages(this.d.k, iommu.ext_ir_table, EXT_INT_REMAP_TBL_L1_ORDER);
      iommu.ext_ir_table = null;
    });
  }

  /** The GstBufferTRPMode feature is checked by set and test; then VCmdEn and vIOMMUEn. */
  viommu_enable(iommu: AmdIommu): number {
    return this.d.k.call(F.viommu_enable, () => {
      if (!this.iommu_feature_enable_and_check(iommu, R.CONTROL_GSTBUFFERTRPMODE)) return -Errno.EINVAL;
      this.iommu_feature_enable(iommu, R.CONTROL_VCMD_EN);
      this.iommu_feature_enable(iommu, R.CONTROL_VIOMMU_EN);
      return 0;
    });
  }

  /** iommu_feature_enable (init.c): read-modify-write of the control register. */
  private iommu_feature_enable(iommu: AmdIommu, bit: bigint): void {
    iommu.mmio.writeq(R.MMIO_CONTROL_OFFSET, iommu.mmio.readq(R.MMIO_CONTROL_OFFSET) | bit);
  }

  /** iommu_feature_enable_and_check (init.c, not stored at S; mainline's shape): set, then read back. */
  private iommu_feature_enable_and_check(iommu: AmdIommu, bit: bigint): boolean {
    return this.d.k.call(F.iommu_feature_enable_and_check, () => {
      this.iommu_feature_enable(iommu, bit);
      return (iommu.mmio.readq(R.MMIO_CONTROL_OFFSET) & bit) !== 0n;
    });
  }
}
