import { pt_iommu_amdv1_hw_info } from '../../../pt/fmt/amdv1.js';
import { Errno } from '../../errno.js';
import { IS_ERR, PTR_ERR } from '../../kptr.js';
import {
  VIOMMU_PRIV_REGION_BASE,
  VIOMMU_PRIV_SUBREGION_CNT,
  VIOMMU_PRIV_SUBREGION_SIZE,
  type AmdIommu,
} from '../amd-iommu.js';
import { amd_iommu_domain_alloc_paging_v1 } from '../pdom.js';
import { ViommuPatchV3 } from '../viommu.js';
import { AMDESE_S, portedFrom } from '../../ported.js';

const F = portedFrom(AMDESE_S, 'drivers/iommu/amd/viommu.c', ['viommu_private_space_init']);

/**
 * v3 with the obvious fix for its unchecked ERR_PTR: amd_iommu_domain_alloc_paging_v1() never returns
 * NULL, so test IS_ERR() and pass its errno up. Everything else is the patch as posted.
 */
export class ViommuPatchV3ErrPtrFix extends ViommuPatchV3 {
  override viommu_private_space_init(iommu: AmdIommu): number {
    return this.d.k.call(F.viommu_private_space_init, () => {
      const dom = amd_iommu_domain_alloc_paging_v1(this.d, iommu.node, 0);
      if (IS_ERR(dom)) {
        this.pr.pr_err('%s: Failed to initialize private space\n', 'viommu_private_space_init');
        return PTR_ERR(dom);
      }
      iommu.viommu_pdom = dom;
      for (let i = 0; i < VIOMMU_PRIV_SUBREGION_CNT; i++) {
        const base = VIOMMU_PRIV_REGION_BASE + BigInt(i) * VIOMMU_PRIV_SUBREGION_SIZE;
        iommu.viommu_priv_region[i] = this.d.k.iteration(i, () =>
          this.alloc_private_subregion(iommu, base, VIOMMU_PRIV_SUBREGION_SIZE),
        );
        if (!iommu.viommu_priv_region[i]) {
          this.pr.pr_err('%s: Failed to allocate vIOMMU private subregion %d\n', 'viommu_private_space_init', i);
          this.viommu_private_space_uninit(iommu);
          return -Errno.ENOMEM;
        }
      }
      const info = pt_iommu_amdv1_hw_info(dom!.amdv1!.top());
      this.pr.pr_debug('%s: devid=%#x, pte_root=%#llx\n', 'viommu_private_space_init', iommu.devid, info.host_pt_root);
      return 0;
    });
  }
}
