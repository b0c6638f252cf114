import type { InjectionPlan } from '../fault/inject.js';
import type { Access, ProcessorBehaviour, TranslateResult } from '../hw/iommu.js';
import type { AttachedDevData } from '../linux/amd/attach.js';
import { virt_to_phys } from '../mem/direct-map.js';
import type { NumaNodeConfig } from '../mem/phys-memory.js';
import { invariant } from '../model-bug.js';
import { GFP_KERNEL, NUMA_NO_NODE } from '../linux/gfp.js';
import { iommu_alloc_pages_node_sz } from '../linux/iommu-pages.js';
import { Kernel } from '../linux/kernel.js';
import type { AmdIommu, IommuPciConfig } from '../linux/amd/amd-iommu.js';
import type { AmdDriver } from '../linux/amd/driver.js';
import { newDriverGlobals } from '../linux/amd/globals.js';
import { amd_iommu_boot } from '../linux/amd/init.js';
import { amd_iommu_pdom_id_alloc } from '../linux/amd/pdom.js';
import { DRIVER_VARIANTS } from '../linux/amd/variants/index.js';
import { DEFAULT_BUDGET, type Budget } from './budget.js';
import type { ViommuPatchV3 } from '../linux/amd/viommu.js';

export interface IommuConfig {
  readonly seg: number;
  /** bus << 8 | dev << 3 | fn */
  readonly devid: number;
  readonly node: number;
  /** Host page-table levels from EFR.HATS (4, 5 or 6), or 'hatdis' (HATS = 3). */
  readonly hats: 4 | 5 | 6 | 'hatdis';
  /** The NpCache capability bit: the IOMMU caches non-present entries (we are a guest). */
  readonly npCache: boolean;
  /** EFR bit 55, FEATURE_VIOMMU. */
  readonly viommu: boolean;
  readonly processor: ProcessorBehaviour;
  readonly cmdBufEntries: number;
  readonly pci: IommuPciConfig;
}

export interface DriverConfig {
  readonly variant: string;
  /** amd_iommu=pgsize_4k */
  readonly pgsize4k: boolean;
  /** The vIOMMU tree's amd_iommu_viommu switch. */
  readonly viommu: boolean;
}

export interface MachineConfig {
  readonly nodes: readonly NumaNodeConfig[];
  readonly iommus: readonly IommuConfig[];
  readonly driver: DriverConfig;
  readonly faults: readonly InjectionPlan[];
}

const FEATURE_VIOMMU = 1n << 55n;
const DEV_TABLE_SIZE = 0x10000n * 32n;

function extendedFeatures(c: IommuConfig): bigint {
  const hats = c.hats === 'hatdis' ? 3n : BigInt(c.hats - 4);
  return (hats << 10n) | (c.viommu ? FEATURE_VIOMMU : 0n);
}

/** A booted machine: kernel, IOMMUs and the driver revision under test, ready for the spec's steps. */
export class Machine {
  readonly k: Kernel;
  readonly driver: AmdDriver;
  readonly patch: ViommuPatchV3;
  /** Domain IDs taken at boot; anything beyond them at the end of a scenario was not given back. */
  readonly bootDomainIds: readonly number[];

  constructor(
    readonly config: MachineConfig,
    readonly budget: Budget = DEFAULT_BUDGET,
  ) {
    const variant = DRIVER_VARIANTS[config.driver.variant];
    invariant(variant !== undefined, `unknown driver variant ${config.driver.variant}`);
    const k = new Kernel({ nodes: config.nodes, faults: config.faults, maxPages: budget.pages });
    const g = newDriverGlobals(config.driver.pgsize4k, config.driver.viommu);
    const hooks = { step: () => k.step, tick: k.nextSeq, isFreed: (pa: bigint) => k.ledger.isFreedPa(pa), maxCommands: budget.commands };
    // One device table per PCI segment, shared by that segment's IOMMUs (alloc_dev_table).
    const devTables = new Map<number, bigint>();
    const iommus: AmdIommu[] = config.iommus.map((c, index) => {
      const efr = extendedFeatures(c);
      const hats = Number((efr >> 10n) & 3n);
      if (hats === 3) g.amd_iommu_hatdis = true;
      else g.amd_iommu_hpt_level = g.amd_iommu_hpt_level === 0 ? hats + 4 : Math.min(g.amd_iommu_hpt_level, hats + 4);
      if (c.npCache) g.amd_iommu_np_cache = true;
      if (!devTables.has(c.seg)) {
        const table = k.withoutFaults(() => k.call('alloc_dev_table', () => iommu_alloc_pages_node_sz(k, NUMA_NO_NODE, GFP_KERNEL, DEV_TABLE_SIZE)));
        invariant(table !== null, 'simulated memory too small for the device table');
        devTables.set(c.seg, table);
      }
      return amd_iommu_boot(k, { index, seg: c.seg, devid: c.devid, node: c.node, extendedFeatures: efr, processor: c.processor, cmdBufEntries: c.cmdBufEntries, pci: c.pci, devTable: devTables.get(c.seg)! }, hooks);
    });
    if (g.amd_iommu_hpt_level === 0) g.amd_iommu_hpt_level = 4;
    this.k = k;
    this.driver = { k, g, iommus, devices: new Map() };
    // amd_iommu_init_identity_domain() takes the first domain ID at boot.
    k.withoutFaults(() => amd_iommu_pdom_id_alloc(this.driver));
    this.bootDomainIds = g.pdom_ids.allocated();
    this.patch = variant.create(this.driver);
    invariant(iommus.every((i) => virt_to_phys(i.dev_table) === virt_to_phys(devTables.get(i.seg)!)), 'device table shared per segment');
  }

  /**
   * An access by the IOMMU hardware to its own private address space: translated through the DTE of the
   * IOMMU's own requester ID (what set_iommu_dte programs), like any DMA.
   */
  viommuAccess(index: number, iova: bigint, access: Access): TranslateResult {
    const iommu = this.iommu(index);
    return iommu.mmio.deviceAccess(iommu.devid, iova, access);
  }

  /** A DMA by PCI function `devid` behind IOMMU `index`. */
  dma(index: number, devid: number, iova: bigint, access: Access): TranslateResult {
    return this.iommu(index).mmio.deviceAccess(devid, iova, access);
  }

  /** The iommu_dev_data of PCI function `devid` behind `iommu`, probed on first use with no domain. */
  device(iommu: AmdIommu, devid: number): AttachedDevData {
    const key = `${iommu.index}:${devid}`;
    let dev = this.driver.devices.get(key);
    if (!dev) {
      dev = { devid, iommu, ats_enabled: false, ats_qdep: 0, domain: null };
      this.driver.devices.set(key, dev);
    }
    return dev;
  }

  iommu(index: number): AmdIommu {
    const iommu = this.driver.iommus[index];
    invariant(iommu !== undefined, `no IOMMU ${index}`);
    return iommu;
  }
}
