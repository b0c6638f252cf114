import { describe, expect, it } from 'vitest';
import { machine, view } from './machine.js';

describe('vIOMMU private-space accesses go through the translation path', () => {
  it('translate through the IOMMU DTE once set_iommu_dte has pointed it at the private domain', () => {
    const m = machine();
    const iommu = m.iommu(0);
    m.patch.amd_viommu_init(iommu);
    expect(m.iommuAccess(0, 0x1000n, 'read')).toEqual({ ok: true, pa: 0x1000n, fromIotlb: false, stale: false }); // DTE not valid yet: untranslated
    m.patch.set_iommu_dte(iommu);
    expect(m.iommuAccess(0, 0x1000n, 'read')).toEqual({ ok: true, pa: 0x40_1000n, fromIotlb: false, stale: false });
    expect(m.iommuAccess(0, 0x1008n, 'write')).toEqual({ ok: true, pa: 0x40_1008n, fromIotlb: true, stale: false });
    expect(m.iommuAccess(0, 0x80_0000n, 'read')).toEqual({ ok: false, fault: 'not_present' });
  });

  it('show a stale IOTLB hit on freed memory after a teardown whose invalidation never ran', () => {
    // The command processor hangs when the first invalidation of the teardown rings the doorbell.
    const m = machine({
      faults: [
        {
          site: 'viommu_private_space_uninit/viommu_priv_unmap_flush_free[0]/**/hw_cmd_processor_hang',
          schedule: { mode: 'nth', n: 1 },
        },
      ],
    });
    const iommu = m.iommu(0);
    m.patch.amd_viommu_init(iommu);
    m.patch.set_iommu_dte(iommu);
    m.iommuAccess(0, 0x1000n, 'write');
    m.patch.viommu_private_space_uninit(iommu);
    expect(view(m).log.filter((l) => l.startsWith('alert'))).toHaveLength(4); // completion waits time out, ignored
    expect(m.iommuAccess(0, 0x1040n, 'write')).toEqual({ ok: true, pa: 0x40_1040n, fromIotlb: true, stale: true });
    expect(iommu.mmio.staleHits).toMatchObject([
      { domainId: 2, iova: 0x1040n, cachedPa: 0x40_1040n, targetFreed: true },
    ]);
  });

  it('with a working processor the same teardown leaves nothing stale: the access faults', () => {
    const m = machine();
    const iommu = m.iommu(0);
    m.patch.amd_viommu_init(iommu);
    m.patch.set_iommu_dte(iommu);
    m.iommuAccess(0, 0x1000n, 'write');
    m.patch.viommu_private_space_uninit(iommu);
    expect(m.iommuAccess(0, 0x1040n, 'write').ok).toBe(false);
    expect(iommu.mmio.staleHits).toEqual([]);
  });
});
