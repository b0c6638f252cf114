import { AMD_V1_FEATURES as FEATURES } from '../pt/helpers.js';
import { amdv1, pt_iommu_amdv1_hw_info } from '../../runtime/pt/fmt/amdv1.js';
import { describe, expect, it } from 'vitest';
import { build_inv_iommu_pages, iommu_queue_command } from '../../runtime/linux/amd/cmd.js';
import { GFP_KERNEL } from '../../runtime/linux/gfp.js';
import { iommu_iotlb_gather_init } from '../../runtime/linux/iommu-gather.js';
import { iommu_alloc_pages_node_sz, iommu_free_pages } from '../../runtime/linux/iommu-pages.js';
import { IOMMU_READ, IOMMU_WRITE } from '../../runtime/pt/defs.js';
import { PtIommu } from '../../runtime/pt/iommu-pt.js';
import { virt_to_phys } from '../../runtime/mem/direct-map.js';
import type { TranslationContext } from '../../runtime/hw/iommu.js';
import type { Kernel } from '../../runtime/linux/kernel.js';
import { bootOne } from './machine.js';

const RW = IOMMU_READ | IOMMU_WRITE;
const DOMID = 5;

function table(k: Kernel): PtIommu {
  const pt = PtIommu.init(
    k,
    {
      fmt: amdv1,
      hwMaxVaszLg2: 48,
      hwMaxOaszLg2: 52,
      startingLevel: 2,
      features: FEATURES,
      nid: 0,
      driverOps: { changeTop: () => {}, iotlbSync: () => {} },
    },
    GFP_KERNEL,
  );
  if (typeof pt === 'number') throw new Error('init');
  return pt;
}

function ctx(pt: PtIommu): TranslationContext {
  const { host_pt_root, mode } = pt_iommu_amdv1_hw_info(pt.top());
  return { domainId: DOMID, rootPa: host_pt_root, mode, deviceId: 0x100, read: true, write: true };
}

describe('IOTLB', () => {
  it('a hit re-checks memory only when a table it walked was written, and then sees the change', () => {
    const { k, iommu } = bootOne();
    const pt = table(k);
    // A 2 MiB leaf: one IOTLB entry covers 0x20_0000..0x3f_ffff.
    expect(pt.map(0x20_0000n, 0x4020_0000n, 0x20_0000n, RW, GFP_KERNEL).ret).toBe(0);
    expect(iommu.mmio.translate(ctx(pt), 0x20_1000n, 'read')).toMatchObject({ ok: true, fromIotlb: false });
    // Hits at other offsets of the page: the re-walk of the first is reused, with each hit's own offset.
    expect(iommu.mmio.translate(ctx(pt), 0x20_1000n, 'read')).toMatchObject({ pa: 0x4020_1000n, stale: false });
    expect(iommu.mmio.translate(ctx(pt), 0x3f_f008n, 'read')).toMatchObject({ pa: 0x403f_f008n, stale: false });
    // Unmap without a flush: the tables were written, so the next hit walks again and finds nothing.
    const g = iommu_iotlb_gather_init();
    expect(pt.unmap(0x20_0000n, 0x20_0000n, g)).toBe(0x20_0000n);
    expect(iommu.mmio.translate(ctx(pt), 0x20_2000n, 'read')).toMatchObject({ pa: 0x4020_2000n, stale: true });
    expect(iommu.mmio.staleHits.at(-1)!.current).toEqual({ fault: 'not_present' });
    // Mapped again elsewhere as 4 KiB pages: the 2 MiB hit now differs from memory page by page.
    expect(pt.map(0x20_0000n, 0x5000_0000n, 0x2000n, RW, GFP_KERNEL).ret).toBe(0);
    expect(iommu.mmio.translate(ctx(pt), 0x20_1008n, 'read')).toMatchObject({ pa: 0x4020_1008n, stale: true });
    expect(iommu.mmio.staleHits.at(-1)!.current).toEqual({ pa: 0x5000_1008n });
    expect(iommu.mmio.translate(ctx(pt), 0x20_3000n, 'read')).toMatchObject({ stale: true });
    expect(iommu.mmio.staleHits.at(-1)!.current).toEqual({ fault: 'not_present' });
  });

  it('a flush of [2M, 4M) drops exactly that entry and leaves [0, 2M) cached', () => {
    const { k, iommu } = bootOne();
    const pt = table(k);
    expect(pt.map(0n, 0x4000_0000n, 0x40_0000n - 0x20_0000n, RW, GFP_KERNEL).ret).toBe(0);
    expect(pt.map(0x20_0000n, 0x4020_0000n, 0x20_0000n, RW, GFP_KERNEL).ret).toBe(0);
    expect(iommu.mmio.translate(ctx(pt), 0x1000n, 'read')).toMatchObject({
      ok: true,
      pa: 0x4000_1000n,
      fromIotlb: false,
    });
    expect(iommu.mmio.translate(ctx(pt), 0x20_1000n, 'read')).toMatchObject({ ok: true, pa: 0x4020_1000n });
    expect(iommu.mmio.translate(ctx(pt), 0x2000n, 'write')).toMatchObject({
      ok: true,
      pa: 0x4000_2000n,
      fromIotlb: true,
    });
    iommu_queue_command(k, iommu, build_inv_iommu_pages(0x20_0000n, 0x20_0000n, DOMID, 0, false));
    expect(iommu.mmio.executed[0]!.dropped.map((e) => e.pageIova)).toEqual([0x20_0000n]);
    expect(iommu.mmio.iotlb.snapshot().map((e) => [e.domainId, e.pageIova, e.pageLg2])).toEqual([[DOMID, 0n, 21]]);
    // Another domain's flush of the same range touches nothing of this one.
    iommu_queue_command(k, iommu, build_inv_iommu_pages(0n, 0x20_0000n, DOMID + 1, 0, false));
    expect(iommu.mmio.iotlb.snapshot()).toHaveLength(1);
  });

  it('serves a stale hit after an unmap without a flush, and records it as a use-after-free', () => {
    const { k, iommu } = bootOne();
    const pt = table(k);
    const target = iommu_alloc_pages_node_sz(k, 0, GFP_KERNEL, 0x1000n)!;
    const pa = virt_to_phys(target);
    pt.map(0x1000n, pa, 0x1000n, RW, GFP_KERNEL);
    expect(iommu.mmio.translate(ctx(pt), 0x1008n, 'write')).toMatchObject({ ok: true, stale: false });
    expect(pt.unmap(0x1000n, 0x1000n, iommu_iotlb_gather_init())).toBe(0x1000n);
    iommu_free_pages(k, target);
    expect(iommu.mmio.translate(ctx(pt), 0x1008n, 'write')).toEqual({
      ok: true,
      pa: pa + 8n,
      fromIotlb: true,
      stale: true,
    });
    expect(iommu.mmio.staleHits).toEqual([
      {
        step: -1,
        domainId: DOMID,
        iova: 0x1008n,
        cachedPa: pa + 8n,
        current: { fault: 'not_present' },
        targetFreed: true,
      },
    ]);
    // After a flush of the page the access faults instead.
    iommu_queue_command(k, iommu, build_inv_iommu_pages(0x1000n, 0x1000n, DOMID, 0, false));
    expect(iommu.mmio.translate(ctx(pt), 0x1008n, 'write')).toEqual({ ok: false, fault: 'not_present' });
    expect(iommu.mmio.events.at(-1)!.event).toMatchObject({
      code: 'IO_PAGE_FAULT',
      domainId: DOMID,
      address: 0x1008n,
      flags: 0x20,
    });
  });

  it.each([
    [true, { ok: true, pa: 0x9000_1000n }],
    [false, { ok: false, fault: 'not_present' }],
  ] as const)('PDE=%s: cached page-directory entries dropped only with PDE set', (pde, expected) => {
    const { k, iommu } = bootOne();
    const pt = table(k);
    pt.map(0x1000n, 0x8000_1000n, 0x1000n, RW, GFP_KERNEL);
    iommu.mmio.translate(ctx(pt), 0x1000n, 'read'); // caches the PDEs down to the level-0 table
    const g = iommu_iotlb_gather_init();
    pt.map(0x0n, 0x8000_0000n, 0x1000n, RW, GFP_KERNEL);
    pt.map(0x2000n, 0x8000_2000n, 0x20_0000n - 0x2000n, RW, GFP_KERNEL);
    expect(pt.unmap(0n, 0x20_0000n, g)).toBe(0x20_0000n); // the level-0 table goes on the gather
    for (const va of g.freelist) iommu_free_pages(k, va);
    const squatter = iommu_alloc_pages_node_sz(k, 0, GFP_KERNEL, 0x1000n); // takes the freed table's page
    expect(squatter).toBe(g.freelist[0]);
    pt.map(0x1000n, 0x9000_1000n, 0x1000n, RW, GFP_KERNEL); // a new level-0 table elsewhere
    const cmd = build_inv_iommu_pages(0n, 0x20_0000n, DOMID, 0, false);
    if (!pde) cmd[2] &= ~2;
    iommu_queue_command(k, iommu, cmd);
    expect(iommu.mmio.executed[0]!.droppedPdes > 0).toBe(pde);
    expect(iommu.mmio.translate(ctx(pt), 0x1000n, 'read')).toMatchObject(expected);
  });
});
