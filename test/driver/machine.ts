import { DEFAULT_BUDGET, Meter } from '../../runtime/base/budget.js';
import { AmdMachine } from '../../runtime/vendor/amd/machine.js';
import type { AmdIommuConfig } from '../../runtime/vendor/amd/config.js';
import type { InjectionPlan } from '../../runtime/fault/inject.js';
import type { NumaNodeConfig } from '../../runtime/mem/phys-memory.js';
import { virt_to_phys } from '../../runtime/mem/direct-map.js';

export const IOMMU0: AmdIommuConfig = {
  seg: 0,
  devid: 0x0002,
  node: 0,
  hats: 4,
  npCache: false,
  gstBufferTrpMode: true,
  didMapStores: true,
  resetVmmio: 'guest_mmio',
  guestErrorEvent: 'viommu_hw_err',
  viommu: true,
  processor: { kind: 'immediate' },
  cmdBufEntries: 512,
  pci: { vendorCapability: true, vfBar: 0xf000_0000_0001n, vfCntlBar: 0xf100_0000_0001n },
};

export function machine(
  opts: {
    iommu?: Partial<AmdIommuConfig>;
    variant?: string;
    pgsize4k?: boolean;
    faults?: InjectionPlan[];
    nodes?: NumaNodeConfig[];
  } = {},
): AmdMachine {
  const config = {
    kind: 'amd',
    iommus: [{ ...IOMMU0, ...opts.iommu }],
    driver: { variant: opts.variant ?? 'v3', pgsize4k: opts.pgsize4k ?? false, viommu: true },
  } as const;
  return new AmdMachine(
    opts.nodes ?? [{ id: 0, base: 0n, size: 64n << 30n }],
    config,
    opts.faults ?? [],
    new Meter(DEFAULT_BUDGET),
  );
}

/** What a spec looks at, condensed: log lines, executed commands, non-WB ranges, live allocations by site. */
export function view(m: AmdMachine) {
  const iommu = m.iommu(0);
  return {
    log: m.k.log.lines.map((l) => `${l.level}: ${l.text}`),
    commands: iommu.mmio.executed.map((c) => c.raw.map((w) => w.toString(16).padStart(8, '0')).join(' ')),
    uc: m.k.memtypes.nonWb().map(([pfn, mode]) => [pfn, mode]),
    live: m.k.ledger.liveAllocations().map((a) => `${a.site}@${a.pa.toString(16)}`),
    events: m.k.events.map((e) => e.kind),
    pa: (va: bigint | null) => (va === null ? null : virt_to_phys(va)),
  };
}

export const BOOT_LIVE = [
  'alloc_dev_table/iommu_alloc_pages_node_sz@0',
  'amd_iommu_init/iommu_alloc_pages_node_sz@200000',
  'amd_iommu_init/iommu_alloc_pages_node_sz@202000',
  'amd_iommu_init/iommu_alloc_pages_node_sz@204000',
];
