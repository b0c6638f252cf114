import type { Meter } from '../../base/budget.js';
import { invariant, ModelBugError } from '../../base/model-bug.js';
import type { FaultRegistry, InjectionPlan } from '../../fault/inject.js';
import type { AttachedDevData } from '../../linux/amd/attach.js';
import type { AmdIommu } from '../../linux/amd/amd-iommu.js';
import type { AmdDriver } from '../../linux/amd/driver.js';
import type { ProtectionDomain } from '../../linux/amd/domain.js';
import type { NestedDomain } from '../../linux/amd/nested.js';
import { newDriverGlobals } from '../../linux/amd/globals.js';
import { amd_iommu_boot } from '../../linux/amd/init.js';
import type { HwHooks } from '../../hw/iommu.js';
import { CONTROL_GSTBUFFERTRPMODE, EFR_VIOMMU } from '../../hw/regs.js';
import { VF_CMD_TAIL, VF_GUEST_STRIDE } from '../../hw/viommu/vf.js';
import { GUEST_COMMAND_CONTROL, GUEST_MISC_CONTROL, VFCTRL_GUEST_STRIDE } from '../../hw/viommu/vfcntl.js';
import { amd_iommu_pdom_id_alloc } from '../../linux/amd/pdom.js';
import { DRIVER_VARIANTS } from '../../linux/amd/variants/index.js';
import { newViommu, type AmdIommuViommu } from '../../linux/amd/viommu-guest.js';
import type { ViommuPatchV3 } from '../../linux/amd/viommu.js';
import { GFP_KERNEL, NUMA_NO_NODE } from '../../linux/gfp.js';
import { iommu_alloc_pages_node_sz } from '../../linux/iommu-pages.js';
import { Kernel } from '../../linux/kernel.js';
import { HARNESS, portedFrom } from '../../linux/ported.js';
import type { NumaNodeConfig } from '../../mem/phys-memory.js';
import type { Access, AccessResult, CallArgs, CallReturn, VendorMachine } from '../vendor.js';
import type { AmdConfig, AmdIommuConfig } from './config.js';
import { AMD_ENTRY_POINTS } from './entry-points.js';
import { AmdView } from './view.js';
import { amdSelfCheck } from './self-check.js';

const F = portedFrom(HARNESS, 'runtime/vendor/amd/machine.ts', ['alloc_dev_table']);

const DEV_TABLE_SIZE = 0x10000n * 32n;

function extendedFeatures(c: AmdIommuConfig): bigint {
  const hats = c.hats === 'hatdis' ? 3n : BigInt(c.hats - 4);
  return (hats << 10n) | (c.viommu ? EFR_VIOMMU : 0n);
}

const ENTRY_POINTS = new Map(AMD_ENTRY_POINTS.map((e) => [e.name, e]));

/** A booted AMD machine: kernel, IOMMUs and the driver revision under test, ready for the spec's steps. */
export class AmdMachine implements VendorMachine {
  readonly k: Kernel;
  readonly driver: AmdDriver;
  readonly patch: ViommuPatchV3;
  /** Domain IDs taken at boot; anything beyond them at the end of a scenario was not given back. */
  readonly bootDomainIds: readonly number[];
  readonly view: AmdView;
  private readonly guests = new Map<string, AmdIommuViommu>();
  /** Paging domains the steps allocated (what iommufd's HWPT objects would hold), by domain ID. */
  readonly pagingDomains = new Map<number, ProtectionDomain>();
  /** vIOMMUs iommufd made, by the object ID the spec gave them. */
  readonly viommus = new Map<number, { iommu: AmdIommu; viommu: AmdIommuViommu }>();
  /** Paging domains that were ever a vIOMMU's nest parent, by domain ID. */
  readonly nestParentIds = new Set<number>();
  /** vDEVICEs iommufd holds, per vIOMMU object ID, by virt_id (viommu->vdevs): the device behind each. */
  readonly vdevices = new Map<number, Map<bigint, { readonly iommu: AmdIommu; readonly devid: number }>>();
  /** HW queues iommufd holds, per vIOMMU object ID: their types, in the order made. */
  readonly hwQueues = new Map<number, string[]>();
  /** Nested domains iommufd's HWPT objects hold, by the object ID the spec gave them, with their vIOMMU's. */
  readonly nestedDomains = new Map<number, { ndom: NestedDomain; viommuId: number }>();

  constructor(nodes: readonly NumaNodeConfig[], config: AmdConfig, faults: readonly InjectionPlan[], meter: Meter) {
    const variant = DRIVER_VARIANTS[config.driver.variant];
    invariant(variant !== undefined, `unknown driver variant ${config.driver.variant}`);
    const k = new Kernel({ nodes, faults, meter });
    const g = newDriverGlobals(config.driver.pgsize4k, config.driver.viommu, config.driver.debugGenericPt);
    const hooks = new KernelHwHooks(k, meter);
    // One device table per PCI segment, shared by that segment's IOMMUs (alloc_dev_table).
    const devTables = new Map<number, bigint>();
    const iommus: AmdIommu[] = config.iommus.map((c, index) => {
      const efr = extendedFeatures(c);
      const hats = Number((efr >> 10n) & 3n);
      if (hats === 3) g.amd_iommu_hatdis = true;
      else g.amd_iommu_hpt_level = g.amd_iommu_hpt_level === 0 ? hats + 4 : Math.min(g.amd_iommu_hpt_level, hats + 4);
      if (c.npCache) g.amd_iommu_np_cache = true;
      if (!devTables.has(c.seg)) {
        const table = k.withoutFaults(() =>
          k.call(F.alloc_dev_table, () => iommu_alloc_pages_node_sz(k, NUMA_NO_NODE, GFP_KERNEL, DEV_TABLE_SIZE)),
        );
        invariant(table !== null, 'simulated memory too small for the device table');
        devTables.set(c.seg, table);
      }
      const boot = {
        index,
        seg: c.seg,
        devid: c.devid,
        node: c.node,
        extendedFeatures: efr,
        vm: {
          controlFixedZero: c.gstBufferTrpMode ? 0n : CONTROL_GSTBUFFERTRPMODE,
          selfDevid: c.devid,
          storeMaps: c.didMapStores,
          guests: { resetVmmio: c.resetVmmio, errorEvent: c.guestErrorEvent },
        },
        processor: c.processor,
        cmdBufEntries: c.cmdBufEntries,
        pci: c.pci,
        devTable: devTables.get(c.seg)!,
      };
      return amd_iommu_boot(k, boot, hooks);
    });
    if (g.amd_iommu_hpt_level === 0) g.amd_iommu_hpt_level = 4;
    this.k = k;
    this.driver = { k, g, iommus, devices: new Map() };
    // amd_iommu_init_identity_domain() takes the first domain ID at boot.
    k.withoutFaults(() => amd_iommu_pdom_id_alloc(this.driver));
    this.bootDomainIds = g.pdom_ids.allocated();
    this.patch = variant.create(this.driver, { source: config.driver.source });
    this.view = new AmdView(this);
  }

  call(fn: string, iommu: number, args: CallArgs): CallReturn {
    const entry = ENTRY_POINTS.get(fn);
    if (entry === undefined) throw new ModelBugError(`no entry point ${fn}`);
    return entry.restartable ? this.k.restartable(() => entry.run(this, iommu, args)) : entry.run(this, iommu, args);
  }

  /**
   * An access by the IOMMU hardware to its own private address space: translated through the DTE of the
   * IOMMU's own requester ID (what set_iommu_dte programs), like any DMA.
   */
  iommuAccess(index: number, iova: bigint, access: Access): AccessResult {
    const iommu = this.iommu(index);
    return iommu.mmio.deviceAccess(iommu.devid, iova, access);
  }

  dma(index: number, devid: number, iova: bigint, access: Access): AccessResult {
    return this.iommu(index).mmio.deviceAccess(devid, iova, access);
  }

  /**
   * A guest's command submission: the commands go into its command buffer (VF_CNTL 0x20's base GPA, at the
   * VF page's tail, wrapping at the buffer's length), each slot's GPA translated through the translate DTE
   * VF_CNTL 0x10 names, as the hardware will read them; then the guest writes its tail, the doorbell. When a
   * slot does not translate, nothing is written and the tail is not rung.
   */
  guestCommands(
    index: number,
    gid: number,
    commands: readonly (readonly [number, number, number, number])[],
    tail?: number,
  ): AccessResult {
    const hw = this.iommu(index).mmio;
    const block = gid * VFCTRL_GUEST_STRIDE;
    const control = hw.vfcntl.read(block + GUEST_COMMAND_CONTROL);
    const base = control & 0x000f_ffff_ffff_f000n;
    const size = 16n << (control & 0xfn);
    const transDevid = Number((hw.vfcntl.read(block + GUEST_MISC_CONTROL) >> 16n) & 0xffffn);
    const tailAt = gid * VF_GUEST_STRIDE + VF_CMD_TAIL;
    const start = hw.vfReadq(tailAt) % size;
    const slots = Array.from({ length: Math.max(commands.length, 1) }, (_, i) =>
      hw.peekTranslate(transDevid, base + ((start + 16n * BigInt(i)) % size)),
    );
    const failed = slots.find((t) => !t.ok);
    if (failed) return failed;
    if (slots.some((t) => t.ok && !this.k.mem.contains(t.pa))) return { ok: false, fault: 'outside_memory' };
    commands.forEach((words, i) => {
      const slot = slots[i]!;
      if (slot.ok) words.forEach((w, j) => this.k.mem.write32(slot.pa + BigInt(4 * j), w));
    });
    hw.vfWriteq(tailAt, tail === undefined ? (start + 16n * BigInt(commands.length)) % size : BigInt(tail));
    return slots[0]!;
  }

  /**
   * struct amd_iommu_viommu of guest `gid` behind `iommu`, as iommufd would hold it: made zeroed on first use,
   * or anew when a different nest parent is named.
   */
  guest(iommu: AmdIommu, gid: number, parentId?: number): AmdIommuViommu {
    const key = `${iommu.index}:${gid}`;
    let guest = this.guests.get(key);
    if (!guest || (parentId !== undefined && guest.parentId !== parentId)) {
      guest = newViommu(gid, null, parentId ?? 0);
      this.guests.set(key, guest);
    }
    return guest;
  }

  /** The nest parent's domain ID a guest made through the table entry points was given, if any. */
  guestParentId(iommu: AmdIommu, gid: number): number | undefined {
    return this.guests.get(`${iommu.index}:${gid}`)?.parentId;
  }

  /**
   * Kernel addresses the guests' structs hold (their DevID and DomID tables and gDomID mappings), and the
   * nested domains iommufd holds.
   */
  guestReferences(): bigint[] {
    const guests = [...this.guests.values(), ...[...this.viommus.values()].map((v) => v.viommu)];
    return [
      ...guests.flatMap((g) => [g.devid_table, g.domid_table]).filter((va) => va !== null),
      ...guests.flatMap((g) => [...g.gdomid_array.values()].map((i) => i.va)),
      ...[...this.nestedDomains.values()].map((n) => n.ndom.va),
    ];
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

  selfCheck(): void {
    amdSelfCheck(this);
  }
}

/**
 * What the IOMMUs ask of the kernel they sit in: the step, the shared timeline, whether memory was freed,
 * the budget, the failure points. An object holding the kernel rather than closures over it, so the IOMMUs
 * of a forked machine ask the fork (runtime/base/fork.ts).
 */
class KernelHwHooks implements HwHooks {
  constructor(
    private readonly k: Kernel,
    readonly meter: Meter,
  ) {}

  get faults(): FaultRegistry {
    return this.k.faults;
  }

  step(): number {
    return this.k.step;
  }

  tick(): number {
    return this.k.nextSeq();
  }

  epoch(): number {
    return this.k.epoch();
  }

  isFreed(pa: bigint): boolean {
    return this.k.ledger.isFreedPa(pa);
  }
}
