import { describe, expect, it } from 'vitest';
import { amd_iommu_set_translate_dte } from '../../runtime/linux/amd/translate-dte.js';
import { amd_iommu_trans_devid_alloc, transDevidPool } from '../../runtime/linux/amd/trans-devid.js';
import { machine } from './machine.js';

/** series-s booted, nest parent 3, vIOMMU object 1 (gid 1, trans_devid 0xffff), vDEVICE 0x10 as guest DevID 8. */
function oneGuest() {
  const m = machine({ variant: 'series-s' });
  expect(m.call('amd_viommu_init', 0, {})).toBe(0);
  expect(m.call('amd_iommu_domain_alloc_paging', 0, {})).toBe(3);
  expect(m.call('amd_iommufd_viommu_init', 0, { id: 1, parent_domid: 3 })).toBe(0);
  expect(m.call('amd_iommufd_vdevice_init', 0, { id: 1, devid: 0x10, virt_id: 8n })).toBe(0);
  const view = m.view.iommus()[0]!;
  return { m, view };
}

describe('a guest as the hardware holds it (IommuView.guests)', () => {
  it('reads the registers by name, the tables through the private space and the queues decoded', () => {
    const { m, view } = oneGuest();
    expect(
      m.call('amd_iommufd_hw_queue_init', 0, { id: 1, type: 'cmd', base: 0x1000n, length: 8, flags: 'cmdbuf_en' }),
    ).toBe(0);
    const [g, ...rest] = view.guests();
    expect(rest).toEqual([]);
    expect(g!.gid).toBe(1);
    expect(g!.allocated).toBe(true);
    expect(g!.transDevid).toBe(0xffff);
    // misc: translate devid << 16; cmd: base 0x1000 | CmdBufEn (bit 8) | length code 8;
    // did_map0: gDevID 8 << 46 | hDevID 0x10 << 14 | valid; did_map1: the last clear, gDomID 0xFFFF → parent 3.
    expect(Object.fromEntries(g!.vfCntl)).toEqual({
      did_map0: 0x0002_0000_0004_0001n,
      did_map1: 0x3fff_c000_0000_c001n,
      misc: 0xffff_0000n,
      cmd: 0x1108n,
    });
    expect([...g!.devidMap]).toEqual([[8, 0x10]]);
    expect([...g!.domidMap]).toEqual([]);
    expect(Object.fromEntries(g!.queues)).toEqual({
      cmd: { base: 0x1000n, length: 8, flags: ['cmdbuf_en'], head: 0n, tail: 0n, halted: false },
    });
    expect(g!.devidTable).not.toBeNull();
  });

  it('a destroyed guest with nothing left is no guest; its device still naming the gid is residue (bug 8)', () => {
    const { m, view } = oneGuest();
    expect(m.call('amd_iommufd_viommu_destroy', 0, { id: 1 })).toBe(-16); // the vDEVICE holds it
    expect(m.call('iommufd_vdevice_destroy', 0, { id: 1, virt_id: 8n })).toBe(0);
    expect(m.call('amd_iommufd_viommu_destroy', 0, { id: 1 })).toBe(0);
    expect(view.guests()).toEqual([]);
    expect(view.guestResidue()).toContain('iommu0: gid 1 is free but device 0x10 still carries it (guest DevID 0x8)');
  });

  it('balances gids and trans_devids against live vIOMMUs', () => {
    const { m, view } = oneGuest();
    expect(view.guestIdImbalance()).toEqual([]);
    expect(m.call('amd_iommu_gid_alloc', 0, {})).toBe(2);
    expect(amd_iommu_trans_devid_alloc(m.k, transDevidPool(m.driver, m.iommu(0)), 0)).toBe(0xfffe);
    expect(view.guestIdImbalance()).toEqual([
      'iommu0: gid 2 is allocated but no vIOMMU object holds it',
      'seg 0: trans_devid 0xfffe is allocated but no vIOMMU object holds it',
    ]);
  });

  it('a translating DTE through a nest parent that nothing owns is a translate DTE left behind', () => {
    const { m, view } = oneGuest();
    expect(amd_iommu_set_translate_dte(m.driver, m.iommu(0), m.pagingDomains.get(3)!, 1, 0x1234)).toBe(0);
    expect(view.guestResidue()).toEqual([
      'iommu0: the DTE of 0x1234 still translates through nest parent 3 but no attached device or live vIOMMU owns it',
    ]);
  });

  it('compares the DevID table with the live vDEVICEs: a virt_id beyond 16 bits overwrites guest DevID 8', () => {
    const { m, view } = oneGuest();
    expect(view.vdeviceMismatches()).toEqual([]);
    expect(m.call('amd_iommufd_vdevice_init', 0, { id: 1, devid: 0x18, virt_id: 0x1_0008n })).toBe(0);
    expect(view.vdeviceMismatches()).toEqual([
      'vIOMMU 1 (gid 1): vDEVICE 0x8 of device 0x10 maps to host DevID 0x18',
      'vIOMMU 1 (gid 1): vDEVICE 0x10008 of device 0x18 has no DevID entry: a guest DevID has 16 bits',
    ]);
  });
});
