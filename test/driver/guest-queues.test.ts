import { describe, expect, it } from 'vitest';
import { virt_to_phys } from '../../runtime/mem/direct-map.js';
import { machine } from './machine.js';

/** Boots series-s, a nest parent (domain 3) and vIOMMU object 1 (gid 1). */
function guest() {
  const m = machine({ variant: 'series-s' });
  expect(m.call('amd_viommu_init', 0, {})).toBe(0);
  expect(m.call('amd_iommu_domain_alloc_paging', 0, {})).toBe(3);
  expect(m.call('amd_iommufd_viommu_init', 0, { id: 1, parent_domid: 3 })).toBe(0);
  const vfcntl = m.iommu(0).mmio.vfcntl;
  return { m, reg: (gid: number, off: number) => vfcntl.read(gid * 0x40 + off), vfcntl };
}

describe('guest queues and vDEVICEs through VF_CNTL (newest viommu.c / iommufd.c)', () => {
  // Vectors from the fact sheet §3.9: base 0x1_2345_6000, length code 9.
  it('CMD: base 51:12, length 3:0, CmdBufEn 8, ComWaitIntEn 9 -> 0x123456309', () => {
    const { m, reg } = guest();
    const q = { id: 1, type: 'cmd', base: 0x1_2345_6000n, length: 9, flags: 'cmdbuf_en,comwait_en' };
    expect(m.call('amd_iommufd_hw_queue_init', 0, q)).toBe(0);
    expect(reg(1, 0x20)).toBe(0x1_2345_6309n);
  });

  it('PPR: base >> 12 at 55:16, PPRLog/PPRInt/PPR enables 8-10 -> 0x1234560709', () => {
    const { m, reg } = guest();
    const q = { id: 1, type: 'ppr', base: 0x1_2345_6000n, length: 9, flags: 'ppr_en,pprint_en,pprlog_en' };
    expect(m.call('amd_iommufd_hw_queue_init', 0, q)).toBe(0);
    expect(reg(1, 0x30)).toBe(0x12_3456_0709n);
  });

  it('EVT wipes 51:0, EventLenB and the dual-log bits included; CMD keeps what it does not own', () => {
    const { m, reg, vfcntl } = guest();
    vfcntl.write(1 * 0x40 + 0x28, 0xcf0n); // EventLenB 7:4, DualEventLogEn 11:10
    vfcntl.write(1 * 0x40 + 0x20, 0x4f0n); // bit 10 and 7:4 are not CMD fields
    expect(
      m.call('amd_iommufd_hw_queue_init', 0, {
        id: 1,
        type: 'evt',
        base: 0x1_2345_6000n,
        length: 9,
        flags: 'evt_log_en',
      }),
    ).toBe(0);
    expect(reg(1, 0x28)).toBe(0x1_2345_6109n);
    expect(m.call('amd_iommufd_hw_queue_init', 0, { id: 1, type: 'cmd', base: 0x1000n, length: 8, flags: '' })).toBe(0);
    expect(reg(1, 0x20)).toBe(0x14f8n);
  });

  it('a vDEVICE maps its truncated virt_id: DevID port value and the table entry the hardware stores', () => {
    const { m, reg } = guest();
    // virt_id 0x10008 is cut to 16 bits (the sheet's bug 8): guest DevID 8, host DevID 0x10.
    expect(m.call('amd_iommufd_vdevice_init', 0, { id: 1, devid: 0x10, virt_id: 0x1_0008n })).toBe(0);
    // The port keeps the mapping without the write trigger: guest 61:46, host 29:14, valid.
    expect(reg(1, 0x00)).toBe((8n << 46n) | (0x10n << 14n) | 1n);
    // The DevID table entry for guest DevID 8: 16 bytes each, host DevID at 39:24, valid (assumption).
    const table = m.viommus.get(1)!.viommu.devid_table!;
    expect(m.k.mem.read64(virt_to_phys(table) + 8n * 16n)).toBe((0x10n << 24n) | 1n);
    expect(m.call('amd_iommufd_vdevice_init', 0, { id: 2, devid: 0x10, virt_id: 1n })).toBe(-2); // no object 2
  });

  it('every map store lands while the tables are mapped, and every one after they are freed faults with an event', () => {
    const { m } = guest();
    const hw = m.iommu(0).mmio;
    const { devid_table: devids, domid_table: domids } = m.viommus.get(1)!.viommu;
    // viommu_clear_mapping: every DomID to the parent (3), every DevID "cleared" to host 0, all valid.
    for (const g of [0, 255, 256, 511, 65535]) {
      expect(m.k.mem.read64(virt_to_phys(domids!) + BigInt(g) * 8n)).toBe((3n << 24n) | 1n);
      expect(m.k.mem.read64(virt_to_phys(devids!) + BigInt(g) * 16n)).toBe(1n);
    }
    const before = hw.events.length + hw.lostEvents;
    expect(m.call('amd_iommufd_viommu_destroy', 0, { id: 1 })).toBe(0);
    // 65536 DomID + 65536 DevID stores, each an IO_PAGE_FAULT logged or lost to the full log.
    expect(hw.events.length + hw.lostEvents - before).toBe(131072);
    expect(hw.vfcntl.faultedStores.get('devid:1')?.count).toBe(65536);
    expect(hw.events.at(-1)?.event).toMatchObject({ code: 'IO_PAGE_FAULT', deviceId: 2 });
  });
});
