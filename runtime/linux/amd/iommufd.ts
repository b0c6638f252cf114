import type { Kernel } from '../kernel.js';
import { AMDESE_S, portedFrom } from '../ported.js';
import { printers } from '../printk.js';
import type { AmdIommu } from './amd-iommu.js';
import type { DevData, ProtectionDomain } from './domain.js';
import type { AmdDriver } from './driver.js';
import { amd_iommu_gid_alloc, amd_iommu_gid_free } from './gid.js';
import { iommu_reset_vmmio } from './cmd.js';
import { amd_iommu_trans_devid_alloc, amd_iommu_trans_devid_free, transDevidPool } from './trans-devid.js';
import { amd_iommu_clear_translate_dte, amd_iommu_set_translate_dte } from './translate-dte.js';
import { newViommu, type AmdIommuViommu, type GuestTableOps, type HwQueue } from './viommu-guest.js';

/**
 * The AMD iommufd vIOMMU ops (drivers/iommu/amd/iommufd.c). No version is stored at the base tree; this
 * follows the newest copy the fact sheet recommends (copy id 66550517323), which calls the base tree's
 * signatures. The iommufd core around it (object IDs, the mmap cookie, user copies) is reduced to its
 * failure points.
 */
const F = {
  ...portedFrom(AMDESE_S, 'drivers/iommu/amd/iommufd.c', [
    'amd_iommufd_viommu_init',
    'amd_iommufd_viommu_destroy',
    '_amd_viommu_vdevice_init',
    'amd_iommufd_hw_queue_init',
  ]),
  // The iommufd core's helpers, reduced to their failure points: macros and an inline wrapper.
  ...portedFrom(AMDESE_S, 'include/linux/iommu.h', ['iommu_copy_struct_from_user', 'iommu_copy_struct_to_user']),
  ...portedFrom(AMDESE_S, 'include/linux/iommufd.h', ['iommufd_viommu_alloc_mmap']),
};

/** struct iommu_viommu_amd: what user space passes in and gets back. */
export interface IommuViommuAmd {
  out_vfmmio_mmap_offset: bigint;
}

function copyStruct(
  k: Kernel,
  frame: typeof F.iommu_copy_struct_from_user,
  point: 'copy_from_user' | 'copy_to_user',
): number {
  return k.call(frame, () => k.shouldFail(point)?.value ?? 0);
}

/**
 * amd_iommufd_viommu_init: a guest ID, the VF page's mmap cookie, a translate devid, RESET_VMMIO, the
 * translate DTE and its VF_CNTL pointer, the guest's tables, then the result copied out; each failure unwinds
 * what came before. On success the vIOMMU joins the parent's viommu_list. Returns 0 or a negative errno.
 */
export function amd_iommufd_viommu_init(
  d: AmdDriver,
  patch: GuestTableOps,
  iommu: AmdIommu,
  parent: ProtectionDomain,
  user: IommuViommuAmd,
): { ret: number; viommu: AmdIommuViommu | null } {
  const k = d.k;
  return k.call(F.amd_iommufd_viommu_init, () => {
    const pr = printers(k.log, '');
    let ret = copyStruct(k, F.iommu_copy_struct_from_user, 'copy_from_user');
    if (ret) return { ret, viommu: null };
    ret = amd_iommu_gid_alloc(k, iommu);
    if (ret < 0) return { ret, viommu: null };
    const aviommu = newViommu(ret, parent, parent.id, iommu);
    pr.pr_debug('%s: gid=%#x', 'amd_iommufd_viommu_init', aviommu.gid);
    // The cookie maps the guest's 4 KiB VF MMIO page, vf_base_phys + gid × 4 KiB, into the VMM.
    ret = k.call(F.iommufd_viommu_alloc_mmap, () => k.shouldFail('iommufd_viommu_alloc_mmap')?.value ?? 0);
    if (ret) {
      amd_iommu_gid_free(k, iommu, aviommu.gid); // err_mmap
      return { ret, viommu: null };
    }
    aviommu.vfmmio_mmap_offset = BigInt(++d.g.mmap_cookies) << 12n;
    const out: IommuViommuAmd = { out_vfmmio_mmap_offset: aviommu.vfmmio_mmap_offset };
    ret = amd_iommu_trans_devid_alloc(k, transDevidPool(d, iommu), iommu.seg);
    if (ret < 0) {
      amd_iommu_gid_free(k, iommu, aviommu.gid); // err_trans_devid: the mmap goes with the object
      return { ret, viommu: null };
    }
    aviommu.trans_devid = ret;
    // Reset vIOMMU MMIOs to initialize the vIOMMU
    iommu_reset_vmmio(k, iommu, aviommu.gid);
    let transDteSet = false;
    ret = amd_iommu_set_translate_dte(d, iommu, parent, aviommu.gid, aviommu.trans_devid);
    if (!ret) {
      transDteSet = true;
      patch.amd_iommu_update_vfctrl_mmio_translate_devid(iommu, aviommu.gid, aviommu.trans_devid);
      ret = patch.amd_viommu_init_one(iommu, aviommu);
    }
    if (!ret) {
      ret = copyStruct(k, F.iommu_copy_struct_to_user, 'copy_to_user');
      // The newest copy goes straight to err_init, leaving the tables allocated, UC and mapped (bug 5).
      if (ret && patch.uninitOneOnCopyFailure()) patch.amd_viommu_uninit_one(iommu, aviommu);
    }
    if (ret) {
      // err_init
      if (transDteSet) {
        patch.amd_iommu_update_vfctrl_mmio_translate_devid(iommu, aviommu.gid, 0);
        amd_iommu_clear_translate_dte(d, iommu, aviommu.trans_devid);
      }
      amd_iommu_trans_devid_free(k, transDevidPool(d, iommu), aviommu.trans_devid);
      amd_iommu_gid_free(k, iommu, aviommu.gid);
      return { ret, viommu: null };
    }
    user.out_vfmmio_mmap_offset = out.out_vfmmio_mmap_offset;
    parent.viommu_list.unshift(aviommu);
    return { ret: 0, viommu: aviommu };
  });
}

/** amd_iommufd_viommu_destroy: off the parent's list, the tables, the translate DTE, the devid, the gid. */
export function amd_iommufd_viommu_destroy(
  d: AmdDriver,
  patch: GuestTableOps,
  iommu: AmdIommu,
  aviommu: AmdIommuViommu,
): void {
  d.k.call(F.amd_iommufd_viommu_destroy, () => {
    printers(d.k.log, '').pr_debug(
      '%s: gid=%#x, iommu devid=%#x\n',
      'amd_iommufd_viommu_destroy',
      aviommu.gid,
      iommu.devid,
    );
    const list = aviommu.parent?.viommu_list;
    if (list?.includes(aviommu)) list.splice(list.indexOf(aviommu), 1);
    aviommu.gdomid_array.clear(); // xa_destroy: the nodes go; iommufd frees no vIOMMU a nested domain still uses
    patch.amd_viommu_uninit_one(iommu, aviommu);
    amd_iommu_clear_translate_dte(d, iommu, aviommu.trans_devid);
    amd_iommu_trans_devid_free(d.k, transDevidPool(d, iommu), aviommu.trans_devid);
    amd_iommu_gid_free(d.k, iommu, aviommu.gid);
  });
}

/**
 * _amd_viommu_vdevice_init: the device's guest ID and guest DevID, and its DevID mapping through VF_CNTL.
 * The vDEVICE's virt_id (a u64) is cut to 16 bits (the sheet's bug 8), and there is no destroy op, so the
 * mapping outlives the vDEVICE.
 */
export function _amd_viommu_vdevice_init(
  d: AmdDriver,
  patch: GuestTableOps,
  iommu: AmdIommu,
  aviommu: AmdIommuViommu,
  dev: DevData,
  virtId: bigint,
): number {
  return d.k.call(F._amd_viommu_vdevice_init, () => {
    dev.gid = aviommu.gid;
    dev.gDevId = Number(virtId & 0xffffn);
    printers(d.k.log, '').pr_debug(
      '%s: gid=%#x, hdev_id=%#x, gdev_id=%#x\n',
      '_amd_viommu_vdevice_init',
      dev.gid,
      dev.devid,
      dev.gDevId,
    );
    patch.amd_viommu_set_device_mapping(iommu, dev.devid, dev.gid, dev.gDevId);
    return 0;
  });
}

/** amd_iommufd_hw_queue_init: one of the three VF_CNTL queue registers; the index is ignored. */
export function amd_iommufd_hw_queue_init(
  d: AmdDriver,
  patch: GuestTableOps,
  iommu: AmdIommu,
  aviommu: AmdIommuViommu,
  type: string,
  q: HwQueue,
): number {
  return d.k.call(F.amd_iommufd_hw_queue_init, () => {
    if (type === 'cmd') patch.amd_viommu_set_cmdbuf_flags(iommu, aviommu.gid, q);
    else if (type === 'evt') patch.amd_viommu_set_evtbuf_flags(iommu, aviommu.gid, q);
    else if (type === 'ppr') patch.amd_viommu_set_pprbuf_flags(iommu, aviommu.gid, q);
    else {
      printers(d.k.log, '').pr_err('%s: Invalid type (%s)\n', 'amd_iommufd_hw_queue_init', type);
      return -22;
    }
    return 0;
  });
}
