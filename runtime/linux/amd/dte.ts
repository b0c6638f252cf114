import { pt_iommu_amdv1_hw_info } from '../../pt/fmt/amdv1.js';
import type { Kernel } from '../kernel.js';
import { AMDESE_S, portedFrom } from '../ported.js';
import { CMD_INV_IOMMU_ALL_PAGES_ADDRESS, type AmdIommu } from './amd-iommu.js';
import {
  amd_iommu_completion_wait,
  build_inv_iommu_pages,
  build_inv_iotlb_pages,
  iommu_flush_dte,
  iommu_queue_command,
} from './cmd.js';
import { DTE_DOMID_MASK, DTE_FLAG_V, dteAddress, dteV1Words } from './dev-table.js';
import type { DevData, ProtectionDomain } from './domain.js';

/**
 * Device table entry programming as the base tree does it (AMDESE/linux-iommu @ 06c926bd, iommu.c and
 * amd_iommu.h): every update starts from the clear DTE, is written as two 128-bit halves in the order that
 * keeps the entry consistent for a hardware reading all 256 bits at once, and is followed by the DTE
 * invalidations for the device, a completion wait and, on set_dte_entry, a flush of the old domain ID.
 *
 * Not modelled: IVHD persistent DTE bits (no IVHD device entries are declared, so
 * amd_iommu_get_ivhd_dte_flags finds none), IVRS and PCI DMA aliases (every device is its own only alias,
 * as for a function directly on the root complex), GCR3/v2 and identity domains, and SME (__sme_set is the
 * identity without memory encryption).
 */

const F = portedFrom(AMDESE_S, 'drivers/iommu/amd/iommu.c', [
  'update_dte256',
  'amd_iommu_update_dte',
  'set_dte_entry',
  'clear_dte_entry',
  'device_flush_dte',
  'amd_iommu_flush_tlb_domid',
  'amd_iommu_update_dte_ir',
]);

/** struct dev_table_entry: data[0..3]. */
export type Dte = [bigint, bigint, bigint, bigint];

const IOMMU_NO_PASID = 0;
const DTE_FLAG_GV = 1n << 55n;
/** DTE_DATA2_INTR_MASK = ~GENMASK_ULL(55, 52): what write_dte_upper128 keeps from the live entry. */
const DTE_DATA2_INTR_MASK = BigInt.asUintN(64, ~(0xfn << 52n));
const DTE_GPT_LEVEL_MASK = 0x3n << 54n;

/** amd_iommu_make_clear_dte (amd_iommu.h): V only ("All existing DTE must have V bit set"). */
export function amd_iommu_make_clear_dte(_iommu: AmdIommu, _devid: number): Dte {
  return [DTE_FLAG_V, 0n, 0n, 0n];
}

/** amd_iommu_set_dte_v1: TV, mode, root, IR, IW in data[0]; the domain ID (and IOTLB with ATS) in data[1]. */
export function amd_iommu_set_dte_v1(
  dev: DevData,
  domid: number,
  info: { host_pt_root: bigint; mode: number },
  dte: Dte,
): void {
  const [data0, data1] = dteV1Words(info.host_pt_root, info.mode, domid, dev.ats_enabled);
  dte[0] |= data0;
  dte[1] |= data1;
}

function readDte(k: Kernel, iommu: AmdIommu, devid: number): Dte {
  const at = dteAddress(iommu, devid);
  return [k.mem.read64(at), k.mem.read64(at + 8n), k.mem.read64(at + 16n), k.mem.read64(at + 24n)];
}

/** write_dte_upper128: data[2] keeps the live interrupt-remapping fields; data[3] is the new value. */
function write_dte_upper128(k: Kernel, at: bigint, dte: Dte): void {
  dte[2] = (dte[2] & ~DTE_DATA2_INTR_MASK) | (k.mem.read64(at + 16n) & DTE_DATA2_INTR_MASK);
  k.mem.write64(at + 16n, dte[2]);
  k.mem.write64(at + 24n, dte[3]);
}

function write_dte_lower128(k: Kernel, at: bigint, dte: Dte): void {
  k.mem.write64(at, dte[0]);
  k.mem.write64(at + 8n, dte[1]);
}

/** iommu_flush_dte_sync: INVALIDATE_DEVTAB_ENTRY, and a completion wait if it was queued. */
function iommu_flush_dte_sync(k: Kernel, iommu: AmdIommu, devid: number): void {
  if (!iommu_flush_dte(k, iommu, devid)) amd_iommu_completion_wait(k, iommu);
}

/**
 * update_dte256: the IOMMU reads all 256 bits in one transaction while the driver writes two 128-bit halves,
 * so V (and GV) go last when setting and first when clearing.
 */
export function update_dte256(k: Kernel, iommu: AmdIommu, dev: DevData, dte: Dte): void {
  k.call(F.update_dte256, () => {
    const at = dteAddress(iommu, dev.devid);
    const old = readDte(k, iommu, dev.devid);
    if (!(old[0] & DTE_FLAG_V) || ((dte[0] & DTE_FLAG_V) !== 0n && !(old[0] & DTE_FLAG_GV))) {
      // Existing DTE not valid, or both valid and the existing one has no guest page table.
      write_dte_upper128(k, at, dte);
      write_dte_lower128(k, at, dte);
      iommu_flush_dte_sync(k, iommu, dev.devid);
    } else if (!(dte[0] & DTE_FLAG_V) || !(dte[0] & DTE_FLAG_GV)) {
      // The new DTE is not valid, or drops the guest page table: lower half first.
      write_dte_lower128(k, at, dte);
      write_dte_upper128(k, at, dte);
      iommu_flush_dte_sync(k, iommu, dev.devid);
    } else if ((old[2] & DTE_GPT_LEVEL_MASK) !== (dte[2] & DTE_GPT_LEVEL_MASK)) {
      // Both have guest page tables of different depths: disable, flush, then write both halves.
      write_dte_lower128(k, at, [0n, 0n, 0n, 0n]);
      iommu_flush_dte_sync(k, iommu, dev.devid);
      write_dte_upper128(k, at, dte);
      write_dte_lower128(k, at, dte);
      iommu_flush_dte_sync(k, iommu, dev.devid);
    } else {
      write_dte_lower128(k, at, dte);
    }
  });
}

/** device_flush_iotlb: INVALIDATE_IOTLB_PAGES to the device's ATS cache. */
function device_flush_iotlb(k: Kernel, dev: DevData, address: bigint, size: bigint): number {
  return iommu_queue_command(
    k,
    dev.iommu,
    build_inv_iotlb_pages(dev.devid, dev.ats_qdep, address, size, IOMMU_NO_PASID, false),
  );
}

/**
 * device_flush_dte: INVALIDATE_DEVTAB_ENTRY for each PCI DMA alias of the device (itself only here) and the
 * IVRS alias if different (none here), then its whole IOTLB if ATS is on. No completion wait.
 */
export function device_flush_dte(k: Kernel, iommu: AmdIommu, dev: DevData): number {
  return k.call(F.device_flush_dte, () => {
    const ret = iommu_flush_dte(k, iommu, dev.devid);
    if (ret) return ret;
    if (dev.ats_enabled) return device_flush_iotlb(k, dev, 0n, BigInt.asUintN(64, ~0n));
    return 0;
  });
}

/** amd_iommu_update_dte: update_dte256, [clone_aliases: no aliases], device_flush_dte, completion wait. */
export function amd_iommu_update_dte(k: Kernel, iommu: AmdIommu, dev: DevData, dte: Dte): void {
  k.call(F.amd_iommu_update_dte, () => {
    update_dte256(k, iommu, dev, dte);
    device_flush_dte(k, iommu, dev);
    amd_iommu_completion_wait(k, iommu);
  });
}

/** amd_iommu_flush_tlb_domid: INVALIDATE_IOMMU_PAGES of everything for one domain ID, then wait. */
export function amd_iommu_flush_tlb_domid(k: Kernel, iommu: AmdIommu, domid: number): void {
  k.call(F.amd_iommu_flush_tlb_domid, () => {
    iommu_queue_command(
      k,
      iommu,
      build_inv_iommu_pages(0n, CMD_INV_IOMMU_ALL_PAGES_ADDRESS, domid, IOMMU_NO_PASID, false),
    );
    amd_iommu_completion_wait(k, iommu);
  });
}

/**
 * set_dte_entry for a v1 paging domain: the DTE from scratch, written and flushed; then the old domain ID
 * read before the update is flushed if it was non-zero, even when it is the same domain (a top change).
 * `top` is given by change_top; otherwise the table's current top is used (set_dte_v1).
 */
export function set_dte_entry(
  k: Kernel,
  iommu: AmdIommu,
  dev: DevData,
  domain: ProtectionDomain,
  top?: { pa: bigint; level: number },
): void {
  k.call(F.set_dte_entry, () => {
    const dte = amd_iommu_make_clear_dte(iommu, dev.devid);
    const oldDomid = Number(readDte(k, iommu, dev.devid)[1] & DTE_DOMID_MASK);
    const info = top ? { host_pt_root: top.pa, mode: top.level + 1 } : pt_iommu_amdv1_hw_info(domain.amdv1!.top());
    amd_iommu_set_dte_v1(dev, domain.id, info, dte);
    amd_iommu_update_dte(k, iommu, dev, dte);
    // A kdump kernel might be replacing a domain ID copied from the previous kernel: flush it.
    if (oldDomid) amd_iommu_flush_tlb_domid(k, iommu, oldDomid);
  });
}

/** clear_dte_entry: the clear DTE (V only) blocks all DMA from the device. */
export function clear_dte_entry(k: Kernel, iommu: AmdIommu, dev: DevData): void {
  k.call(F.clear_dte_entry, () => amd_iommu_update_dte(k, iommu, dev, amd_iommu_make_clear_dte(iommu, dev.devid)));
}

/** DTE data[2] interrupt-remapping fields (amd_iommu_types.h). */
const DTE_IRQ_PHYS_ADDR_MASK = ((1n << 46n) - 1n) << 6n; // GENMASK_ULL(51, 6)
const DTE_IRQ_REMAP_INTCTL = 2n << 60n;
const DTE_IRQ_REMAP_ENABLE = 1n;
/** DTE_EXT_INTTABLEN_L1: IntTabLen 10 in bits 4:1. */
export const DTE_EXT_INTTABLEN_L1 = 10n << 1n;

/**
 * amd_iommu_update_dte_ir (set_dte_irq_entry + iommu_flush_dte_sync): one 64-bit store of data[2] with the
 * table address, IntCtl = remapped, the table length and IV; then INVALIDATE_DEVTAB_ENTRY and a wait.
 */
export function amd_iommu_update_dte_ir(
  k: Kernel,
  iommu: AmdIommu,
  dev: DevData,
  irtePa: bigint,
  intTablen: bigint,
): void {
  k.call(F.amd_iommu_update_dte_ir, () => {
    const at = dteAddress(iommu, dev.devid) + 16n;
    let data2 = k.mem.read64(at) & ~DTE_IRQ_PHYS_ADDR_MASK;
    data2 |= irtePa | DTE_IRQ_REMAP_INTCTL | intTablen | DTE_IRQ_REMAP_ENABLE;
    k.mem.write64(at, data2);
    iommu_flush_dte_sync(k, iommu, dev.devid);
  });
}
