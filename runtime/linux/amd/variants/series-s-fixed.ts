import { AMDESE_S, portedFrom } from '../../ported.js';
import {
  VIOMMU_DEVID_MAPPING_BASE as DEVID_BASE,
  VIOMMU_DEVID_MAPPING_ENTRY_SIZE as DEVID_SIZE,
  VIOMMU_DOMID_MAPPING_BASE as DOMID_BASE,
  VIOMMU_DOMID_MAPPING_ENTRY_SIZE as DOMID_SIZE,
  type AmdIommu,
} from '../amd-iommu.js';
import type { NestedFixes } from '../nested.js';
import type { AmdIommuViommu } from '../viommu-guest.js';
import { ViommuSeriesS } from './series-s.js';

const F = portedFrom(AMDESE_S, 'drivers/iommu/amd/viommu.c', ['amd_viommu_uninit_one', 'amd_viommu_init_one']);

/**
 * The base tree with the two one-line fixes the fact sheet suggests for the guest tables: uninit_one resets
 * the mappings while the tables are still mapped (bug 1: the reset moves above the frees), and init_one
 * returns the errno it got instead of -ENOMEM (bug 3); and nested.c's three one-line fixes of bug 15 (a
 * failed gdom_info kzalloc is -ENOMEM, not NULL; a reference that is not the last still frees its nested
 * domain; the hDomID is freed before its mapping is); and iommufd.c's viommu_init calling amd_viommu_uninit_one
 * when copy_to_user fails (bug 5). Everything else is series-s.
 */
export class ViommuSeriesSFixed extends ViommuSeriesS {
  override nestedFixes(): NestedFixes {
    return { gdomInfoErrno: true, freeNotLast: true, hdomIdBeforeKfree: true };
  }

  /** Bug 5's one-line fix in iommufd.c: a failed copy_to_user calls amd_viommu_uninit_one before err_init. */
  override uninitOneOnCopyFailure(): boolean {
    return true;
  }

  override amd_viommu_uninit_one(iommu: AmdIommu, aviommu: AmdIommuViommu): void {
    this.d.k.call(F.amd_viommu_uninit_one, () => {
      this.pr.pr_debug('%s: gid=%u\n', 'amd_viommu_uninit_one', aviommu.gid);
      this.amd_iommu_update_vfctrl_mmio_translate_devid(iommu, aviommu.gid, 0);
      this.viommu_clear_mapping(iommu, aviommu); // fix: before the tables go
      this.free_private_vm_region(iommu, aviommu.devid_table, DEVID_BASE, DEVID_SIZE, aviommu.gid);
      aviommu.devid_table = null;
      this.free_private_vm_region(iommu, aviommu.domid_table, DOMID_BASE, DOMID_SIZE, aviommu.gid);
      aviommu.domid_table = null;
    });
  }

  override amd_viommu_init_one(iommu: AmdIommu, aviommu: AmdIommuViommu): number {
    return this.d.k.call(F.amd_viommu_init_one, () => {
      let r = this.alloc_private_vm_region(iommu, DEVID_BASE, DEVID_SIZE, aviommu.gid);
      aviommu.devid_table = r.va;
      if (!r.ret) {
        r = this.alloc_private_vm_region(iommu, DOMID_BASE, DOMID_SIZE, aviommu.gid);
        aviommu.domid_table = r.va;
      }
      if (r.ret) {
        this.amd_viommu_uninit_one(iommu, aviommu);
        return r.ret; // fix: the errno, not -ENOMEM
      }
      this.viommu_clear_mapping(iommu, aviommu);
      return 0;
    });
  }
}
