import { AmdIommuHw, type HwHooks, type ProcessorBehaviour, type VirtualizationConfig } from '../../hw/iommu.js';
import * as R from '../../hw/regs.js';
import { virt_to_phys } from '../../mem/direct-map.js';
import { invariant } from '../../base/model-bug.js';
import { GFP_KERNEL, NUMA_NO_NODE } from '../gfp.js';
import { iommu_alloc_pages_node_sz } from '../iommu-pages.js';
import type { Kernel } from '../kernel.js';
import { EVT_BUFFER_SIZE, VIOMMU_PRIV_SUBREGION_CNT, type AmdIommu, type IommuPciConfig } from './amd-iommu.js';
import { AMDESE_S, portedFrom } from '../ported.js';

const F = portedFrom(AMDESE_S, 'drivers/iommu/amd/init.c', ['amd_iommu_init']);

export interface IommuBootConfig {
  readonly index: number;
  readonly seg: number;
  readonly devid: number;
  readonly node: number;
  readonly extendedFeatures: bigint;
  /** The vIOMMU hardware's assumptions (runtime/hw/viommu/ASSUMPTIONS.md). */
  readonly vm: VirtualizationConfig;
  readonly processor: ProcessorBehaviour;
  /** Ring entries (a power of two, 256 .. 32768); the kernel's CMD_BUFFER_SIZE is 16 bytes each. */
  readonly cmdBufEntries: number;
  readonly pci: IommuPciConfig;
  /** The device table of the IOMMU's PCI segment (MAX_DEV_TABLE_ENTRIES DTEs of 32 bytes = 2 MiB). */
  readonly devTable: bigint;
}

const DEV_TABLE_SIZE = 0x10000n * 32n;

/**
 * What amd_iommu_init does before any driver path under test runs: the command buffer, event log and
 * completion-wait semaphore are allocated (node 0, as iommu_alloc_4k_pages does), and with the segment's
 * device table
 * programmed, and the command buffer and event log enabled. Boot issues no commands in the model, so the
 * ring starts empty with need_sync false; boot allocations are not failure points.
 */
export function amd_iommu_boot(k: Kernel, cfg: IommuBootConfig, hooks: HwHooks): AmdIommu {
  invariant(
    Number.isInteger(Math.log2(cfg.cmdBufEntries)) && cfg.cmdBufEntries >= 256 && cfg.cmdBufEntries <= 32768,
    `ring of ${cfg.cmdBufEntries} entries`,
  );
  const mmio = new AmdIommuHw(`iommu${cfg.index}`, k.mem, cfg.processor, cfg.extendedFeatures, hooks, cfg.vm);
  return k.withoutFaults(() =>
    k.call(F.amd_iommu_init, () => {
      const alloc = (size: bigint): bigint => {
        const va = iommu_alloc_pages_node_sz(k, NUMA_NO_NODE, GFP_KERNEL, size);
        invariant(va !== null, 'simulated memory too small for the IOMMU boot structures');
        return va;
      };
      const cmdBufSize = cfg.cmdBufEntries * 16;
      const iommu: AmdIommu = {
        index: cfg.index,
        seg: cfg.seg,
        devid: cfg.devid,
        node: cfg.node,
        mmio,
        cmdBufSize,
        dev_table: cfg.devTable,
        cmd_buf: alloc(BigInt(cmdBufSize)),
        evt_buf: alloc(BigInt(EVT_BUFFER_SIZE)),
        cmd_sem: alloc(4096n),
        cmd_buf_head: 0,
        cmd_buf_tail: 0,
        need_sync: false,
        cmd_sem_val: 0n,
        features: cfg.extendedFeatures,
        pci: cfg.pci,
        vsc_offset: 0,
        vf_base: null,
        vfctrl_base: null,
        vf_base_phys: 0n,
        vf_cntl_phys: 0n,
        gid_ida: null,
        gid_ida_inited: false,
        viommu_pdom: null,
        viommu_dev_data: null,
        ext_ir_table: null,
        viommu_priv_region: new Array<bigint | null>(VIOMMU_PRIV_SUBREGION_CNT).fill(null),
      };
      const lenCode = (entries: number): bigint => BigInt(Math.log2(entries)) << 56n;
      mmio.writeq(R.MMIO_DEV_TABLE_OFFSET, virt_to_phys(iommu.dev_table) | (DEV_TABLE_SIZE / 4096n - 1n));
      mmio.writeq(R.MMIO_CMD_BUF_OFFSET, virt_to_phys(iommu.cmd_buf) | lenCode(cfg.cmdBufEntries));
      mmio.writeq(R.MMIO_EVT_BUF_OFFSET, virt_to_phys(iommu.evt_buf) | lenCode(EVT_BUFFER_SIZE / 16));
      mmio.writel(R.MMIO_CMD_HEAD_OFFSET, 0);
      mmio.writel(R.MMIO_CMD_TAIL_OFFSET, 0);
      mmio.writeq(
        R.MMIO_CONTROL_OFFSET,
        R.CONTROL_CMDBUF_EN | R.CONTROL_EVT_LOG_EN | R.CONTROL_COMWAIT_EN | R.CONTROL_IOMMU_EN,
      );
      return iommu;
    }),
  );
}
