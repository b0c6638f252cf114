import * as R from '../../../hw/regs.js';
import { virt_to_phys } from '../../../mem/direct-map.js';
import { pt_iommu_amdv1_hw_info } from '../../../pt/fmt/amdv1.js';
import { Errno } from '../../errno.js';
import { GFP_KERNEL, __GFP_ZERO } from '../../gfp.js';
import { __get_free_pages, free_pages } from '../../page-alloc.js';
import { AMDESE_S, portedFrom } from '../../ported.js';
import {
  FEATURE_VIOMMU,
  VIOMMU_DEVID_MAPPING_BASE,
  VIOMMU_DEVID_MAPPING_ENTRY_SIZE,
  VIOMMU_DOMID_MAPPING_BASE,
  VIOMMU_DOMID_MAPPING_ENTRY_SIZE,
  type AmdIommu,
} from '../amd-iommu.js';
import type { AttachedDevData } from '../attach.js';
import { amd_iommu_alloc_dev_data, amd_iommu_free_dev_data } from '../dev-data.js';
import {
  amd_iommu_make_clear_dte,
  amd_iommu_set_dte_v1,
  amd_iommu_update_dte,
  amd_iommu_update_dte_ir,
  DTE_EXT_INTTABLEN_L1,
} from '../dte.js';
import type { NestedFixes } from '../nested.js';
import { ViommuPatchV3 } from '../viommu.js';
import type { AmdIommuViommu, GuestTableOps, HwQueue } from '../viommu-guest.js';

const F = {
  ...portedFrom(AMDESE_S, 'drivers/iommu/amd/viommu.c', [
    'amd_viommu_init',
    'amd_viommu_uninit',
    'viommu_free_self_dev_data',
    'alloc_ext_int_remap_tbl_entry',
    'free_ext_int_remap_tbl',
    'viommu_enable',
    'alloc_private_vm_region',
    'free_private_vm_region',
    'amd_viommu_set_device_mapping',
    'clear_device_mapping',
    'viommu_clear_mapping',
    'amd_viommu_uninit_one',
    'amd_viommu_init_one',
    'amd_viommu_domain_id_update',
  ]),
  ...portedFrom(AMDESE_S, 'drivers/iommu/amd/iommu.c', ['amd_iommu_update_vfctrl_mmio_translate_devid']),
  // Absent at the base tree: from the newest viommu.c (copy id 66495181568), which iommufd.c calls.
  ...portedFrom(AMDESE_S, 'drivers/iommu/amd/viommu.c', [
    'amd_viommu_set_cmdbuf_flags',
    'amd_viommu_set_evtbuf_flags',
    'amd_viommu_set_pprbuf_flags',
  ]),
  ...portedFrom(AMDESE_S, 'drivers/iommu/amd/init.c', ['iommu_feature_enable_and_check']),
};

/** Per-guest tables in the private space (viommu.c VIOMMU_*_MAPPING_*), and the VF_CNTL map ports. */
const VIOMMU_MAX_GDEVID = 0xffff;
const VIOMMU_MAX_GDOMID = 0xffff;
const VIOMMU_VFCTRL_MMIO_ENTRY_SIZE = 64;
const VIOMMU_VFCTRL_GUEST_DID_MAP_CONTROL0_OFFSET = 0x00;
const VIOMMU_VFCTRL_GUEST_DID_MAP_CONTROL1_OFFSET = 0x08;
const VIOMMU_VFCTRL_GUEST_MISC_CONTROL_OFFSET = 0x10;
const VIOMMU_VFCTRL_MMIO_GUEST_COMMAND_CONTROL_OFFSET = 0x20;
const VIOMMU_VFCTRL_MMIO_GUEST_EVENT_CONTROL_OFFSET = 0x28;
const VIOMMU_VFCTRL_MMIO_GUEST_PPR_CONTROL_OFFSET = 0x30;
const genmask = (hi: number, lo: number): bigint => ((1n << BigInt(hi - lo + 1)) - 1n) << BigInt(lo);
const bit = (n: number, on: boolean): bigint => (on ? 1n << BigInt(n) : 0n);

/**
 * DEVID_ENTRY_* and DOMID_ENTRY_*: guest ID 61:46, host ID 29:14, write 63, valid 0. Built as two 32-bit
 * halves read back as one u64 (the clear loop makes 131072 of them per vIOMMU): high half guest ID at 29:14
 * and write at 31, low half host ID at 29:14 and valid at 0.
 */
const entryWords = new BigUint64Array(1);
const entryHalves = new Uint32Array(entryWords.buffer);
const mapEntry = (guestId: number, hostId: number): bigint => {
  entryHalves[0] = (((hostId & 0xffff) << 14) | 1) >>> 0;
  entryHalves[1] = (0x8000_0000 | ((guestId & 0xffff) << 14)) >>> 0;
  return entryWords[0]!;
};

/** EXT_INT_REMAP_TBL_L1_SIZE = 2 pages: __get_free_pages order 1. */
const EXT_INT_REMAP_TBL_L1_ORDER = 1;

/**
 * The vIOMMU boot of the base tree (AMDESE/linux-iommu @ 06c926bd, viommu.c): v3's private region plus the
 * IOMMU's own dev_data and DTE, the extended interrupt-remapping table and viommu_enable, with S's unwind
 * labels. The private-region functions are v3's, which S carries byte for byte (including `if (!dom)`).
 */
export class ViommuSeriesS extends ViommuPatchV3 implements GuestTableOps {
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

  /** Which of bug 15's one-line fixes nested.c has here: none, as at 1e91ed15. */
  nestedFixes(): NestedFixes {
    return {};
  }

  /** Whether iommufd.c's viommu_init tears the guest's tables down when copy_to_user fails: not here (bug 5). */
  uninitOneOnCopyFailure(): boolean {
    return false;
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

  // --- per-guest tables (viommu.c @ 06c926bd) ---------------------------------------------------------

  /** IPA = base + gid × size; NULL entry on any failure. */
  alloc_private_vm_region(
    iommu: AmdIommu,
    base: bigint,
    size: bigint,
    gid: number,
  ): { ret: number; va: bigint | null } {
    return this.d.k.call(F.alloc_private_vm_region, () => {
      const addr = base + BigInt(gid) * size;
      const { ret, out_va: va } = this.viommu_priv_alloc_map_flush(iommu, addr, size, GFP_KERNEL | __GFP_ZERO);
      if (ret) return { ret, va: null };
      this.pr.pr_debug(
        '%s: entry=%#llx(%#llx), addr=%#llx, size=%#lx\n',
        'alloc_private_vm_region',
        va!,
        virt_to_phys(va!),
        addr,
        size,
      );
      return { ret: 0, va };
    });
  }

  /** Unmap, flush (its error dropped: the sheet's bug 4), WB and free. */
  free_private_vm_region(iommu: AmdIommu, va: bigint | null, base: bigint, size: bigint, gid: number): void {
    this.d.k.call(F.free_private_vm_region, () => {
      const addr = base + BigInt(gid) * size;
      if (!iommu.viommu_pdom || !va) return;
      this.pr.pr_debug(
        '%s: entry=%#llx(%#llx), base=%#llx, addr=%#llx, size=%#lx\n',
        'free_private_vm_region',
        va,
        virt_to_phys(va),
        base,
        addr,
        size,
      );
      this.viommu_priv_unmap_flush_free(iommu, addr, size, va);
    });
  }

  /** A 64-bit store to the guest's VF_CNTL block; through a NULL mapping it faults as the CPU would. */
  private vfctrlWriteq(iommu: AmdIommu, gid: number, offset: number, value: bigint): void {
    const at = gid * VIOMMU_VFCTRL_MMIO_ENTRY_SIZE + offset;
    if (!iommu.vfctrl_base) this.d.k.oops(BigInt(at), { field: 'amd_iommu.vfctrl_base', offset: 0n });
    iommu.mmio.vfcntl.write(at, value);
  }

  amd_iommu_update_vfctrl_mmio_translate_devid(iommu: AmdIommu, gid: number, devid: number): void {
    this.d.k.call(F.amd_iommu_update_vfctrl_mmio_translate_devid, () =>
      this.vfctrlWriteq(iommu, gid, VIOMMU_VFCTRL_GUEST_MISC_CONTROL_OFFSET, BigInt(devid & 0xffff) << 16n),
    );
  }

  /** Program one guest DevID → host DevID through the VF_CNTL DevID port. */
  amd_viommu_set_device_mapping(iommu: AmdIommu, hDevId: number, gid: number, gDevId: number): void {
    this.d.k.call(F.amd_viommu_set_device_mapping, () => {
      this.pr.pr_debug(
        '%s: iommu_devid=%#x, gid=%#x, hDevId=%#x, gDevId=%#x\n',
        'amd_viommu_set_device_mapping',
        iommu.devid,
        gid,
        hDevId,
        gDevId,
      );
      this.vfctrlWriteq(iommu, gid, VIOMMU_VFCTRL_GUEST_DID_MAP_CONTROL0_OFFSET, mapEntry(gDevId, hDevId));
    });
  }

  /** "Clears" a guest DevID by mapping it, valid, to host DevID 0 (the sheet's bug 2). */
  private clear_device_mapping(iommu: AmdIommu, gid: number, gDevId: number): void {
    this.vfctrlWriteq(iommu, gid, VIOMMU_VFCTRL_GUEST_DID_MAP_CONTROL0_OFFSET, mapEntry(gDevId, 0));
  }

  amd_viommu_domain_id_update(iommu: AmdIommu, gid: number, hdomId: number, gdomId: number): number {
    this.vfctrlWriteq(iommu, gid, VIOMMU_VFCTRL_GUEST_DID_MAP_CONTROL1_OFFSET, mapEntry(gdomId, hdomId));
    return 0;
  }

  /** Every guest DomID to the parent's domain ID, then every guest DevID "cleared": 131072 port writes. */
  protected viommu_clear_mapping(iommu: AmdIommu, aviommu: AmdIommuViommu): void {
    this.d.k.call(F.viommu_clear_mapping, () => {
      for (let i = 0; i <= VIOMMU_MAX_GDOMID; i++)
        this.amd_viommu_domain_id_update(iommu, aviommu.gid, aviommu.parentId, i);
      for (let i = 0; i <= VIOMMU_MAX_GDEVID; i++) this.clear_device_mapping(iommu, aviommu.gid, i);
    });
  }

  /** Frees both tables first, then writes the map ports that store into them (the sheet's bug 1). */
  amd_viommu_uninit_one(iommu: AmdIommu, aviommu: AmdIommuViommu): void {
    this.d.k.call(F.amd_viommu_uninit_one, () => {
      this.pr.pr_debug('%s: gid=%u\n', 'amd_viommu_uninit_one', aviommu.gid);
      this.free_private_vm_region(
        iommu,
        aviommu.devid_table,
        VIOMMU_DEVID_MAPPING_BASE,
        VIOMMU_DEVID_MAPPING_ENTRY_SIZE,
        aviommu.gid,
      );
      aviommu.devid_table = null;
      this.free_private_vm_region(
        iommu,
        aviommu.domid_table,
        VIOMMU_DOMID_MAPPING_BASE,
        VIOMMU_DOMID_MAPPING_ENTRY_SIZE,
        aviommu.gid,
      );
      aviommu.domid_table = null;
      this.amd_iommu_update_vfctrl_mmio_translate_devid(iommu, aviommu.gid, 0);
      this.viommu_clear_mapping(iommu, aviommu);
    });
  }

  /** Both tables, then the clear mapping; any failure unwinds through uninit_one and is -ENOMEM (bug 3). */
  amd_viommu_init_one(iommu: AmdIommu, aviommu: AmdIommuViommu): number {
    return this.d.k.call(F.amd_viommu_init_one, () => {
      let r = this.alloc_private_vm_region(
        iommu,
        VIOMMU_DEVID_MAPPING_BASE,
        VIOMMU_DEVID_MAPPING_ENTRY_SIZE,
        aviommu.gid,
      );
      aviommu.devid_table = r.va;
      if (!r.ret) {
        r = this.alloc_private_vm_region(
          iommu,
          VIOMMU_DOMID_MAPPING_BASE,
          VIOMMU_DOMID_MAPPING_ENTRY_SIZE,
          aviommu.gid,
        );
        aviommu.domid_table = r.va;
      }
      if (r.ret) {
        this.amd_viommu_uninit_one(iommu, aviommu);
        return -Errno.ENOMEM;
      }
      this.viommu_clear_mapping(iommu, aviommu);
      return 0;
    });
  }

  // --- guest queues (newest viommu.c; the sheet's bug 9: length taken as a 4-bit code, base unchecked) ---

  private vfctrlReadq(iommu: AmdIommu, gid: number, offset: number): bigint {
    const at = gid * VIOMMU_VFCTRL_MMIO_ENTRY_SIZE + offset;
    if (!iommu.vfctrl_base) this.d.k.oops(BigInt(at), { field: 'amd_iommu.vfctrl_base', offset: 0n });
    return iommu.mmio.vfcntl.read(at);
  }

  /** CMD: clear 51:12, 9:8, 3:0; base, length code, CmdBufEn (8), ComWaitIntEn (9). */
  amd_viommu_set_cmdbuf_flags(iommu: AmdIommu, gid: number, q: HwQueue): void {
    this.d.k.call(F.amd_viommu_set_cmdbuf_flags, () => {
      let val = this.vfctrlReadq(iommu, gid, VIOMMU_VFCTRL_MMIO_GUEST_COMMAND_CONTROL_OFFSET);
      val &= ~(genmask(51, 12) | genmask(9, 8) | genmask(3, 0));
      val |= BigInt(q.length & 0xf) | (((q.base_addr >> 12n) << 12n) & genmask(51, 12));
      val |= bit(8, q.flags.has('cmdbuf_en')) | bit(9, q.flags.has('comwait_en'));
      this.vfctrlWriteq(iommu, gid, VIOMMU_VFCTRL_MMIO_GUEST_COMMAND_CONTROL_OFFSET, val);
      this.queueDebug('amd_viommu_set_cmdbuf_flags', iommu, gid, q, val);
    });
  }

  /** EVT: clear 51:0 (EventLenB and the dual-log bits too); base, length code, EventLogEn (8), EventIntEn (9). */
  amd_viommu_set_evtbuf_flags(iommu: AmdIommu, gid: number, q: HwQueue): void {
    this.d.k.call(F.amd_viommu_set_evtbuf_flags, () => {
      let val = this.vfctrlReadq(iommu, gid, VIOMMU_VFCTRL_MMIO_GUEST_EVENT_CONTROL_OFFSET);
      val &= ~genmask(51, 0);
      val |= BigInt(q.length & 0xf) | (((q.base_addr >> 12n) << 12n) & genmask(51, 12));
      val |= bit(8, q.flags.has('evt_log_en')) | bit(9, q.flags.has('evt_int_en'));
      this.vfctrlWriteq(iommu, gid, VIOMMU_VFCTRL_MMIO_GUEST_EVENT_CONTROL_OFFSET, val);
      this.queueDebug('amd_viommu_set_evtbuf_flags', iommu, gid, q, val);
    });
  }

  /** PPR: clear 55:0; length code, base >> 12 at 55:16, and the six PPR enable bits. */
  amd_viommu_set_pprbuf_flags(iommu: AmdIommu, gid: number, q: HwQueue): void {
    this.d.k.call(F.amd_viommu_set_pprbuf_flags, () => {
      let val = this.vfctrlReadq(iommu, gid, VIOMMU_VFCTRL_MMIO_GUEST_PPR_CONTROL_OFFSET);
      val &= ~genmask(55, 0);
      val |= BigInt(q.length & 0xf) | (((q.base_addr >> 12n) << 16n) & genmask(55, 16));
      val |= bit(8, q.flags.has('pprlog_en')) | bit(9, q.flags.has('pprint_en')) | bit(10, q.flags.has('ppr_en'));
      val |= bit(13, q.flags.has('ppr_auto_rsp_en')) | bit(14, q.flags.has('blkstopmrk_en'));
      val |= bit(15, q.flags.has('ppr_auto_rsp_aon'));
      this.vfctrlWriteq(iommu, gid, VIOMMU_VFCTRL_MMIO_GUEST_PPR_CONTROL_OFFSET, val);
      this.queueDebug('amd_viommu_set_pprbuf_flags', iommu, gid, q, val);
    });
  }

  /** The C also prints the queue type and the flag word; their uAPI values are unknown, so flags print by name. */
  private queueDebug(fn: string, iommu: AmdIommu, gid: number, q: HwQueue, val: bigint): void {
    this.pr.pr_debug(
      '%s: iommu_devid=%#x, gid=%#x, addr=%#llx, len=%#lx, flags=%s, val=%#llx\n',
      fn,
      iommu.devid,
      gid,
      q.base_addr,
      q.length,
      [...q.flags].sort().join('|') || '0',
      val,
    );
  }
}
