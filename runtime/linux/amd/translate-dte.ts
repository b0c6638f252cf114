import { pt_iommu_amdv1_hw_info } from '../../pt/fmt/amdv1.js';
import { Errno } from '../errno.js';
import { AMDESE_S, portedFrom } from '../ported.js';
import { printers } from '../printk.js';
import type { AmdIommu } from './amd-iommu.js';
import { amd_iommu_alloc_dev_data, amd_iommu_free_dev_data } from './dev-data.js';
import type { ProtectionDomain } from './domain.js';
import type { AmdDriver } from './driver.js';
import { amd_iommu_make_clear_dte, amd_iommu_set_dte_v1, amd_iommu_update_dte } from './dte.js';

const F = portedFrom(AMDESE_S, 'drivers/iommu/amd/iommu.c', [
  'amd_iommu_set_translate_dte',
  'amd_iommu_clear_translate_dte',
]);

/**
 * The translate-device DTE (AMDESE/linux-iommu @ 06c926bd, iommu.c, CONFIG_AMD_IOMMU_IOMMUFD): a DTE at an
 * unused requester ID holding the nest parent's v1 table, through which the hardware reads a guest's
 * queues by GPA. Its dev_data has no struct device, is not on the parent's dev_list and the IOMMU is not
 * counted in the parent's iommu_array (the sheet's bug 6: a top change never rewrites it).
 */
export function amd_iommu_set_translate_dte(
  d: AmdDriver,
  iommu: AmdIommu,
  pdom: ProtectionDomain,
  gid: number,
  transDevid: number,
): number {
  return d.k.call(F.amd_iommu_set_translate_dte, () => {
    const pr = printers(d.k.log, 'AMD-Vi: ');
    const dev = d.devices.get(`${iommu.index}:${transDevid}`) ?? amd_iommu_alloc_dev_data(d, iommu, transDevid);
    if (!dev) {
      pr.pr_err(
        '%s: Failed to allocate dev_data for translate-device-id %#x\n',
        'amd_iommu_set_translate_dte',
        transDevid,
      );
      return -Errno.ENOMEM;
    }
    dev.domain = pdom;
    const dte = amd_iommu_make_clear_dte(iommu, transDevid);
    const info = pt_iommu_amdv1_hw_info(pdom.amdv1!.top());
    pr.pr_debug(
      '%s: gid=%#x, iommu_devid=%#x, devid=%#x, host_pt_root=%#llx, mode=%#x\n',
      'amd_iommu_set_translate_dte',
      gid,
      iommu.devid,
      transDevid,
      info.host_pt_root,
      info.mode,
    );
    amd_iommu_set_dte_v1(dev, pdom.id, info, dte);
    amd_iommu_update_dte(d.k, iommu, dev, dte);
    return 0;
  });
}

export function amd_iommu_clear_translate_dte(d: AmdDriver, iommu: AmdIommu, transDevid: number): void {
  d.k.call(F.amd_iommu_clear_translate_dte, () => {
    const pr = printers(d.k.log, 'AMD-Vi: ');
    pr.pr_debug('%s: iommu_devid=%#x, trans_devid=%#x\n', 'amd_iommu_clear_translate_dte', iommu.devid, transDevid);
    const dev = d.devices.get(`${iommu.index}:${transDevid}`);
    if (!dev) {
      d.k.WARN_ON_ONCE(true, 'amd_iommu_clear_translate_dte');
      return;
    }
    amd_iommu_update_dte(d.k, iommu, dev, amd_iommu_make_clear_dte(iommu, transDevid));
    amd_iommu_free_dev_data(d, iommu, dev);
  });
}
