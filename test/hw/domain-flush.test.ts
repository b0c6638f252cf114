import { iommu_alloc_pages_node_sz } from '../../runtime/linux/iommu-pages.js';
import { GFP_KERNEL } from '../../runtime/linux/gfp.js';
import { describe, expect, it } from 'vitest';
import { Kernel } from '../../runtime/linux/kernel.js';
import { amd_iommu_boot } from '../../runtime/linux/amd/init.js';
import { amd_iommu_domain_flush_pages } from '../../runtime/linux/amd/domain-flush.js';
import { newDriverGlobals } from '../../runtime/linux/amd/globals.js';
import type { ProtectionDomain } from '../../runtime/linux/amd/domain.js';
import type { AmdIommu } from '../../runtime/linux/amd/amd-iommu.js';

function twoIommus(): { k: Kernel; iommus: AmdIommu[] } {
  const k = new Kernel({ nodes: [{ id: 0, base: 0n, size: 1n << 32n }] });
  const hooks = { step: () => k.step, isFreed: () => false, faults: k.faults };
  const iommus = [0, 1].map((index) =>
    amd_iommu_boot(
      k,
      {
        index,
        seg: 0,
        devid: 0x0002 + index * 0x100,
        node: 0,
        extendedFeatures: 0n,
        vm: {
          controlFixedZero: 0n,
          selfDevid: 2,
          storeMaps: true,
          guests: { resetVmmio: 'guest_mmio', errorEvent: 'viommu_hw_err' },
        },
        processor: { kind: 'immediate' },
        cmdBufEntries: 512,
        pci: { vendorCapability: true, vfBar: 0n, vfCntlBar: 0n },
        devTable: k.withoutFaults(() => iommu_alloc_pages_node_sz(k, 0, GFP_KERNEL, 0x20_0000n)!),
      },
      hooks,
    ),
  );
  return { k, iommus };
}

function domain(attached: AmdIommu[]): ProtectionDomain {
  return {
    va: 0n,
    id: 3,
    nid: 0,
    iommu_array: new Map(attached.map((iommu) => [iommu.index, { iommu, refcnt: 1 }])),
    dev_list: [],
    viommu_list: [],
    amdv1: null,
    ops: null,
  };
}

const ops = (iommu: AmdIommu): string[] =>
  iommu.mmio.executed.map((c) =>
    c.command.op === 'INVALIDATE_IOMMU_PAGES'
      ? `INV ${c.command.range.start.toString(16)}+${c.command.range.size.toString(16)}`
      : c.command.op,
  );

describe('domain flush paths', () => {
  it('queue nothing at all for a domain attached to no IOMMU', () => {
    const { k, iommus } = twoIommus();
    amd_iommu_domain_flush_pages(k, newDriverGlobals(false), domain([]), 0n, 0x20_0000n);
    expect(iommus.map(ops)).toEqual([[], []]);
  });

  it('fan out to every IOMMU in iommu_array, each followed by a completion wait', () => {
    const { k, iommus } = twoIommus();
    amd_iommu_domain_flush_pages(k, newDriverGlobals(false), domain(iommus), 0x20_0000n, 0x20_0000n);
    expect(iommus.map(ops)).toEqual([
      ['INV 200000+200000', 'COMPLETION_WAIT'],
      ['INV 200000+200000', 'COMPLETION_WAIT'],
    ]);
  });

  it('split the range into naturally aligned chunks under NpCache', () => {
    const { k, iommus } = twoIommus();
    const g = newDriverGlobals(false);
    g.amd_iommu_np_cache = true;
    amd_iommu_domain_flush_pages(k, g, domain([iommus[0]!]), 0x1000n, 0x7000n);
    expect(ops(iommus[0]!)).toEqual(['INV 1000+1000', 'INV 2000+2000', 'INV 4000+4000', 'COMPLETION_WAIT']);
  });
});
