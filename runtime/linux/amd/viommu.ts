import { pt_iommu_amdv1_hw_info } from '../../pt/fmt/amdv1.js';
import { virt_to_phys } from '../../mem/direct-map.js';
import { PAGE_SHIFT } from '../../mem/phys-memory.js';
import { Errno } from '../errno.js';
import { GFP_KERNEL, NUMA_NO_NODE, __GFP_ZERO, type Gfp } from '../gfp.js';
import { Ida } from '../ida.js';
import { iommu_alloc_pages_node_sz, iommu_free_pages } from '../iommu-pages.js';
import type { KPtr } from '../kptr.js';
import { printers, type Printers } from '../printk.js';
import { set_memory_uc, set_memory_wb } from '../set-memory.js';
import { IOMMU_READ, IOMMU_WRITE } from '../../pt/defs.js';
import {
  FEATURE_VIOMMU,
  formatDevid,
  VIOMMU_PRIV_REGION_BASE,
  VIOMMU_PRIV_SUBREGION_CNT,
  VIOMMU_PRIV_SUBREGION_SIZE,
  VIOMMU_VF_CNTL_MMIO_MAP_SIZE,
  VIOMMU_VF_MMIO_MAP_SIZE,
  type AmdIommu,
} from './amd-iommu.js';
import { amd_iommu_completion_wait, build_inv_iommu_pages, iommu_queue_command } from './cmd.js';
import { amd_iommu_make_clear_dte, amd_iommu_set_dte_v1, amd_iommu_update_dte } from './dte.js';
import type { DevData, ProtectionDomain } from './domain.js';
import type { AmdDriver } from './driver.js';
import { iommu_map, iommu_unmap } from './iommu-core.js';
import { amd_iommu_domain_alloc_paging_v1, amd_iommu_domain_free } from './pdom.js';
import { AMDESE_S, portedFrom } from '../ported.js';

const F = {
  ...portedFrom(AMDESE_S, 'drivers/iommu/amd/viommu.c', [
    'viommu_priv_alloc_map_flush',
    'viommu_priv_unmap_flush_free',
    'alloc_private_subregion',
    'viommu_private_space_uninit',
    'viommu_private_space_init',
    'viommu_vf_vfcntl_init',
    'amd_viommu_vf_vfcntl_unmap',
    'amd_viommu_uninit',
    'amd_viommu_init',
    'set_iommu_dte',
  ]),
  ...portedFrom(AMDESE_S, 'drivers/iommu/amd/iommu.c', ['amd_iommu_flush_private_vm_region']),
  ...portedFrom(AMDESE_S, 'drivers/iommu/amd/init.c', ['iommu_map_mmio_space']),
};

const IOMMU_PROT_IR = IOMMU_READ;
const IOMMU_PROT_IW = IOMMU_WRITE;
const FW_BUG = '[Firmware Bug]: ';
/** Where the vendor-specific capability sits in the IOMMU's config space when present. */
const VSC_OFFSET = 0x64;

/**
 * "iommu/amd: Introduce and map vIOMMU private IPA region" (v3 09/22), ported faithfully: every branch,
 * return value and log line of the C, including the wrong ones. Methods carry the C functions' names and
 * call each other through `this`, so a later revision of the patch is a subclass overriding what changed.
 */
export class ViommuPatchV3 {
  protected readonly pr: Printers;

  constructor(protected readonly d: AmdDriver) {
    this.pr = printers(d.k.log, 'AMD-Vi: ');
  }

  private get k() {
    return this.d.k;
  }

  // --- drivers/iommu/amd/iommu.c ------------------------------------------------------------------------

  /** Explicit INVALIDATE_IOMMU_PAGES to one IOMMU + completion wait; the wait's result is ignored. */
  amd_iommu_flush_private_vm_region(
    iommu: AmdIommu,
    pdom: KPtr<ProtectionDomain>,
    address: bigint,
    size: bigint,
  ): number {
    return this.k.call(F.amd_iommu_flush_private_vm_region, () => {
      const cmd = build_inv_iommu_pages(
        address,
        size,
        this.k.deref(pdom, { field: 'protection_domain.id' }).id,
        0,
        false,
      );
      const ret = iommu_queue_command(this.k, iommu, cmd);
      if (ret) return ret;
      amd_iommu_completion_wait(this.k, iommu);
      return ret;
    });
  }

  // --- drivers/iommu/amd/viommu.c: the patch --------------------------------------------------------------

  /** Allocate backing pages, mark UC, and map at `iova` in viommu_pdom. The out VA is NULL on any failure. */
  viommu_priv_alloc_map_flush(
    iommu: AmdIommu | null,
    iova: bigint,
    size: bigint,
    gfp: Gfp,
  ): { ret: number; out_va: bigint | null } {
    return this.k.call(F.viommu_priv_alloc_map_flush, () => {
      const nid = iommu ? iommu.node : NUMA_NO_NODE;
      if (!iommu || !iommu.viommu_pdom) return { ret: -Errno.EINVAL, out_va: null };
      const va = iommu_alloc_pages_node_sz(this.k, nid, gfp, size);
      if (!va) return { ret: -Errno.ENOMEM, out_va: null };
      // IOMMU spec mentions that the vIOMMU backing storage memory should be marked as UC.
      let ret = set_memory_uc(this.k, va, Number(size >> BigInt(PAGE_SHIFT)));
      if (ret) {
        iommu_free_pages(this.k, va);
        return { ret, out_va: null };
      }
      ret = iommu_map(
        this.k,
        iommu.viommu_pdom,
        iova,
        virt_to_phys(va),
        size,
        IOMMU_PROT_IR | IOMMU_PROT_IW,
        GFP_KERNEL,
      );
      if (ret) {
        set_memory_wb(this.k, va, Number(size >> BigInt(PAGE_SHIFT)));
        iommu_free_pages(this.k, va);
        return { ret, out_va: null };
      }
      return { ret: 0, out_va: va };
    });
  }

  /** Unmap `iova`, flush the unmapped span on this IOMMU, WB, and free `cpu_va`. Returns 0 or the flush error. */
  viommu_priv_unmap_flush_free(iommu: AmdIommu | null, iova: bigint, size: bigint, cpu_va: bigint | null): number {
    return this.k.call(F.viommu_priv_unmap_flush_free, () => {
      let ret = 0;
      if (!cpu_va) return 0;
      if (!iommu || !iommu.viommu_pdom) return -Errno.EINVAL;
      const unmapped = iommu_unmap(this.k, iommu.viommu_pdom, iova, size);
      if (unmapped !== size)
        this.pr.pr_warn('%s: unmapped %#zx of %#lx at %#llx\n', 'viommu_priv_unmap_flush_free', unmapped, size, iova);
      if (unmapped) {
        ret = this.amd_iommu_flush_private_vm_region(iommu, iommu.viommu_pdom, iova, unmapped);
        if (ret)
          this.pr.pr_warn(
            '%s: IOTLB flush failed (%d) for %#zx at %#llx\n',
            'viommu_priv_unmap_flush_free',
            ret,
            unmapped,
            iova,
          );
      }
      set_memory_wb(this.k, cpu_va, Number(size >> BigInt(PAGE_SHIFT)));
      iommu_free_pages(this.k, cpu_va);
      return ret;
    });
  }

  alloc_private_subregion(iommu: AmdIommu, base: bigint, size: bigint): bigint | null {
    return this.k.call(F.alloc_private_subregion, () => {
      const { ret, out_va: region } = this.viommu_priv_alloc_map_flush(iommu, base, size, GFP_KERNEL | __GFP_ZERO);
      if (ret) return null;
      this.pr.pr_debug(
        '%s: base=%#llx, size=%#lx, subregion=%#llx(%#llx)\n',
        'alloc_private_subregion',
        base,
        size,
        region!,
        virt_to_phys(region!),
      );
      return region;
    });
  }

  viommu_private_space_uninit(iommu: AmdIommu): void {
    this.k.call(F.viommu_private_space_uninit, () => {
      let firstErr = 0;
      if (!iommu.viommu_pdom) return;
      for (let i = 0; i < VIOMMU_PRIV_SUBREGION_CNT; i++) {
        if (!iommu.viommu_priv_region[i]) continue;
        const base = VIOMMU_PRIV_REGION_BASE + BigInt(i) * VIOMMU_PRIV_SUBREGION_SIZE;
        const ret = this.k.iteration(i, () =>
          this.viommu_priv_unmap_flush_free(iommu, base, VIOMMU_PRIV_SUBREGION_SIZE, iommu.viommu_priv_region[i]!),
        );
        if (ret && !firstErr) firstErr = ret;
        iommu.viommu_priv_region[i] = null;
      }
      amd_iommu_domain_free(this.d, iommu.viommu_pdom);
      iommu.viommu_pdom = null;
      if (firstErr)
        this.pr.pr_err('%s: private subregion teardown failed (%d)\n', 'viommu_private_space_uninit', firstErr);
    });
  }

  viommu_private_space_init(iommu: AmdIommu): number {
    return this.k.call(F.viommu_private_space_init, () => {
      // Setup page table root pointer, Guest MMIO and Cmdbuf Dirty Status regions.
      const dom: KPtr<ProtectionDomain> = amd_iommu_domain_alloc_paging_v1(this.d, iommu.node, 0);
      if (!dom) {
        this.pr.pr_err('%s: Failed to initialize private space\n', 'viommu_private_space_init');
        return -Errno.ENOMEM;
      }
      const pdom = dom; // to_pdomain(): offset 0, an ERR_PTR stays one
      iommu.viommu_pdom = pdom;
      // Each private region requires 8MB of memory to be allocated and mapped: 4 x 2MB subregions.
      for (let i = 0; i < VIOMMU_PRIV_SUBREGION_CNT; i++) {
        const base = VIOMMU_PRIV_REGION_BASE + BigInt(i) * VIOMMU_PRIV_SUBREGION_SIZE;
        iommu.viommu_priv_region[i] = this.k.iteration(i, () =>
          this.alloc_private_subregion(iommu, base, VIOMMU_PRIV_SUBREGION_SIZE),
        );
        if (!iommu.viommu_priv_region[i]) {
          this.pr.pr_err('%s: Failed to allocate vIOMMU private subregion %d\n', 'viommu_private_space_init', i);
          this.viommu_private_space_uninit(iommu);
          return -Errno.ENOMEM;
        }
      }
      const info = pt_iommu_amdv1_hw_info(this.k.deref(pdom, { field: 'protection_domain.amdv1' }).amdv1!.top());
      this.pr.pr_debug('%s: devid=%#x, pte_root=%#llx\n', 'viommu_private_space_init', iommu.devid, info.host_pt_root);
      return 0;
    });
  }

  // --- the surrounding vIOMMU code, as far as the patch context shows it (AMDESE tree) -------------------

  viommu_init_pci_vsc(iommu: AmdIommu): number {
    iommu.vsc_offset = iommu.pci.vendorCapability ? VSC_OFFSET : 0;
    if (!iommu.vsc_offset) return -Errno.ENODEV;
    return 0;
  }

  /** iommu_map_mmio_space() (init.c): reserve the range in the iomem tree, then ioremap it; NULL if taken. */
  iommu_map_mmio_space(address: bigint, end: bigint): bigint | null {
    return this.k.call(F.iommu_map_mmio_space, () => {
      if (!this.k.iomem.request(this.k, address, end, 'amd_iommu')) {
        this.pr.pr_err('Can not reserve memory region %llx-%llx for mmio\n', address, end);
        this.pr.pr_err('This is a BIOS bug. Please contact your hardware vendor\n');
        return null;
      }
      return address; // ioremap: the MMIO cookie
    });
  }

  /**
   * viommu_vf_vfcntl_init as in the base tree (AMDESE/linux-iommu @ 06c926bd, viommu.c): reads both BARs
   * from the vendor capability, reserves and maps the VF BAR (256 MiB) then VF_CNTL (4 MiB); a VF_CNTL
   * failure unwinds through amd_viommu_uninit, which releases the VF BAR.
   */
  viommu_vf_vfcntl_init(iommu: AmdIommu): number {
    return this.k.call(F.viommu_vf_vfcntl_init, () => {
      let vfPhys = iommu.pci.vfBar;
      if (!(vfPhys & 1n)) {
        this.pr.pr_err(FW_BUG + 'vf_phys disabled\n');
        return -Errno.EINVAL;
      }
      let vfCntlPhys = iommu.pci.vfCntlBar;
      if (!(vfCntlPhys & 1n)) {
        this.pr.pr_err(FW_BUG + 'vf_cntl_phys disabled\n');
        return -Errno.EINVAL;
      }
      // Unreachable once bit 0 is known set; kept as the C has it.
      if (!vfPhys || !vfCntlPhys) {
        this.pr.pr_err(FW_BUG + 'AMD-Vi: Unassigned VF resources.\n');
        return -Errno.ENOMEM;
      }
      // Mapping 256MB of VF and 4MB of VF_CNTL BARs
      vfPhys &= ~1n;
      iommu.vf_base = this.iommu_map_mmio_space(vfPhys, VIOMMU_VF_MMIO_MAP_SIZE);
      if (!iommu.vf_base) {
        this.pr.pr_err("Can't reserve vf_base\n");
        return -Errno.ENOMEM;
      }
      iommu.vf_base_phys = vfPhys;
      vfCntlPhys &= ~1n;
      iommu.vfctrl_base = this.iommu_map_mmio_space(vfCntlPhys, VIOMMU_VF_CNTL_MMIO_MAP_SIZE);
      if (!iommu.vfctrl_base) {
        this.pr.pr_err("Can't reserve vfctrl_base\n");
        this.amd_viommu_uninit(iommu);
        return -Errno.ENOMEM;
      }
      iommu.vf_cntl_phys = vfCntlPhys;
      this.pr.pr_debug(
        '%s: IOMMU device:%s, vf_base:%#llx, vfctrl_base:%#llx\n',
        'viommu_vf_vfcntl_init',
        formatDevid(iommu.seg, iommu.devid),
        vfPhys,
        vfCntlPhys,
      );
      return 0;
    });
  }

  /** amd_viommu_vf_vfcntl_unmap: unmap and release whichever BARs are held, VF_CNTL first. */
  amd_viommu_vf_vfcntl_unmap(iommu: AmdIommu): void {
    this.k.call(F.amd_viommu_vf_vfcntl_unmap, () => {
      iommu.vfctrl_base = null; // iounmap
      if (iommu.vf_cntl_phys) this.k.iomem.release(this.k, iommu.vf_cntl_phys, VIOMMU_VF_CNTL_MMIO_MAP_SIZE);
      iommu.vf_base = null; // iounmap
      if (iommu.vf_base_phys) this.k.iomem.release(this.k, iommu.vf_base_phys, VIOMMU_VF_MMIO_MAP_SIZE);
    });
  }

  /**
   * amd_viommu_uninit: the IOMMU's own dev_data (which only the base tree allocates, so nothing here), the
   * guest ID allocator, then the BARs. Like the C it leaves vf_base_phys and vf_cntl_phys set.
   */
  amd_viommu_uninit(iommu: AmdIommu): void {
    this.k.call(F.amd_viommu_uninit, () => {
      this.amd_viommu_gid_ida_fini(iommu);
      this.amd_viommu_vf_vfcntl_unmap(iommu);
    });
  }

  amd_viommu_gid_ida_fini(iommu: AmdIommu): void {
    if (!iommu.gid_ida_inited) return;
    iommu.gid_ida = null; // ida_destroy
    iommu.gid_ida_inited = false;
  }

  amd_viommu_gid_ida_init(iommu: AmdIommu): void {
    iommu.gid_ida = new Ida('gid_ida');
    iommu.gid_ida_inited = true;
  }

  amd_viommu_init(iommu: AmdIommu): number {
    return this.k.call(F.amd_viommu_init, () => {
      if (!this.d.g.amd_iommu_viommu || !(iommu.features & FEATURE_VIOMMU)) return 0;
      let ret = this.viommu_init_pci_vsc(iommu);
      if (ret) return ret;
      ret = this.viommu_vf_vfcntl_init(iommu);
      if (ret) return ret;
      this.amd_viommu_gid_ida_init(iommu);
      ret = this.viommu_private_space_init(iommu);
      if (ret) return ret;
      return 0;
    });
  }

  /**
   * The IOMMU's own DTE, as amd_viommu_init programs it in the base tree (AMDESE/linux-iommu @ 06c926bd,
   * viommu.c set_dte_ipa + amd_iommu_update_dte): the clear DTE with viommu_pdom's v1 table, written and
   * flushed like any device's, so the hardware translates its private-space accesses. v3 09/22 has no such
   * step; specs call it to exercise those accesses. The extended interrupt-remapping write that follows it
   * in the base tree (amd_iommu_update_dte_ir) is not modelled.
   */
  set_iommu_dte(iommu: AmdIommu): void {
    this.k.call(F.set_iommu_dte, () => {
      const pdom = this.k.deref(iommu.viommu_pdom, { field: 'protection_domain.amdv1' });
      const info = pt_iommu_amdv1_hw_info(pdom.amdv1!.top());
      this.pr.pr_debug('%s: host_pt_root=%#llx, mode=%#x\n', 'set_iommu_dte', info.host_pt_root, info.mode);
      const devData: DevData = { devid: iommu.devid, iommu, ats_enabled: false, ats_qdep: 0 };
      const dte = amd_iommu_make_clear_dte(iommu, iommu.devid);
      amd_iommu_set_dte_v1(devData, pdom.id, info, dte); // set_dte_ipa
      amd_iommu_update_dte(this.k, iommu, devData, dte);
    });
  }
}
