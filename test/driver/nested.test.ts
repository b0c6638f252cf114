import { describe, expect, it } from 'vitest';
import { validate_gdte_nested } from '../../runtime/linux/amd/nested.js';
import { Errno } from '../../runtime/linux/errno.js';
import { machine } from './machine.js';

/**
 * nested.c @ 1e91ed15 against hand-built guest DTEs. GOOD: V (bit 0), GIOV (54), GV (55), GLX 1 (57:56),
 * GCR3 root 0x123456000: bits 14:12 = 6 at 60:58 of data[0]; bits 30:15 = 0x468a at 31:16 and bits 51:31 = 2
 * at 63:43 of data[1]; guest DomID 5 at data[1] 15:0.
 */
const GOOD0 = 0x19c0_0000_0000_0001n;
const GOOD1 = 0x0000_1000_468a_0005n;

function guest(variant = 'series-s') {
  const m = machine({ variant, iommu: { didMapStores: false } });
  expect(m.call('amd_viommu_init', 0, {})).toBe(0);
  expect(m.call('amd_iommu_domain_alloc_paging', 0, {})).toBe(3);
  expect(m.call('amd_iommufd_viommu_init', 0, { id: 1, parent_domid: 3 })).toBe(0);
  return m;
}

describe('validate_gdte_nested', () => {
  const m = machine({ variant: 'series-s' });
  const check = (d0: bigint, d1 = GOOD1, d2 = 0n) => validate_gdte_nested(m.driver, [d0, d1, d2, 0n]);

  it('accepts a guest-only DTE, also without GIOV (the code does not test the bit its comment requires)', () => {
    expect(check(GOOD0)).toBe(0);
    expect(check(GOOD0 & ~(1n << 54n))).toBe(0);
  });

  it('rejects host fields, missing V/GV/GCR3, GPT level 2 and 3, GLX 3 with -EINVAL', () => {
    expect(check(GOOD0 | (1n << 9n))).toBe(-Errno.EINVAL); // Mode 1
    expect(check(GOOD0 | (1n << 51n))).toBe(-Errno.EINVAL); // host root bit 51
    expect(check(GOOD0 & ~1n)).toBe(-Errno.EINVAL);
    expect(check(GOOD0 & ~(1n << 55n))).toBe(-Errno.EINVAL);
    expect(check(GOOD0 & ~(7n << 58n), 5n)).toBe(-Errno.EINVAL);
    expect(check(GOOD0 & ~(7n << 58n), (1n << 43n) | 5n)).toBe(0); // GCR3 bit 31 alone is a root
    expect(check(GOOD0, GOOD1, 2n << 54n)).toBe(-Errno.EINVAL);
    expect(check(GOOD0, GOOD1, 3n << 54n)).toBe(-Errno.EINVAL);
    expect(check(GOOD0 | (3n << 56n))).toBe(-Errno.EINVAL);
  });

  it('rejects a 5-level guest table on 4-level hosts with -EOPNOTSUPP, accepts it on 5-level ones', () => {
    expect(check(GOOD0, GOOD1, 1n << 54n)).toBe(-Errno.EOPNOTSUPP);
    m.driver.g.amd_iommu_gpt_level = 5;
    expect(check(GOOD0, GOOD1, 1n << 54n)).toBe(0);
  });
});

describe('nested domains on a vIOMMU', () => {
  it('maps each guest DomID to one hDomID per vIOMMU, refcounted', () => {
    const m = guest();
    const alloc = (id: number, gdom: bigint) =>
      m.call('amd_iommu_alloc_domain_nested', 0, { id, viommu: 1, dte0: GOOD0, dte1: (GOOD1 & ~0xffffn) | gdom });
    expect(alloc(20, 5n)).toBe(0);
    expect(alloc(21, 5n)).toBe(0);
    expect(alloc(22, 6n)).toBe(0);
    const gdoms = m.viommus.get(1)!.viommu.gdomid_array;
    expect([...gdoms.entries()].map(([g, i]) => [g, i.hdom_id, i.users])).toEqual([
      [5, 4, 2],
      [6, 5, 1],
    ]);
    expect(m.driver.g.pdom_ids.allocated()).toEqual([1, 2, 3, 4, 5]);
  });

  it('writes the nested DTE through the update path and maps the guest DomID in VF_CNTL', () => {
    const m = guest();
    expect(m.call('amd_iommufd_vdevice_init', 0, { id: 1, devid: 0x10, virt_id: 8n })).toBe(0);
    expect(m.call('amd_iommu_alloc_domain_nested', 0, { id: 20, viommu: 1, dte0: GOOD0, dte1: GOOD1 })).toBe(0);
    expect(m.call('nested_attach_device', 0, { id: 20, devid: 0x10 })).toBe(0);
    // Parent v1 (V, TV, mode 3, root 0x20c000, IR, IW) | guest bits; DomID 4 | GCR3; vImuEn | gDevID 8 | gid 1.
    expect(m.view.iommus()[0]!.deviceEntry(0x10, 4)).toEqual([
      0x79c0_0000_0020_c603n,
      0x0000_1000_468a_0004n,
      0n,
      0x1_0008_8000n,
    ]);
    // VF_CNTL 0x08 of gid 1, written as trigger 63 | guest DomID 5 << 46 | host DomID 4 << 14 | valid 0; the
    // port consumes the trigger and keeps the mapping.
    expect(m.iommu(0).mmio.vfcntl.read(0x40 + 0x08)).toBe((5n << 46n) | (4n << 14n) | 1n);
  });

  it('flushes every hDomID of the parent on unmap, vIOMMUs newest first', () => {
    const m = guest();
    expect(m.call('amd_iommufd_viommu_init', 0, { id: 2, parent_domid: 3 })).toBe(0);
    expect(m.call('amd_iommu_alloc_domain_nested', 0, { id: 20, viommu: 1, dte0: GOOD0, dte1: GOOD1 })).toBe(0);
    expect(m.call('amd_iommu_alloc_domain_nested', 0, { id: 21, viommu: 2, dte0: GOOD0, dte1: GOOD1 })).toBe(0);
    const map = { domid: 3, iova: 0x10_0000n, pa: 0x4000_0000n, size: 0x1000n, prot: 3 };
    expect(m.call('iommu_map', 0, map)).toBe(0);
    const before = m.iommu(0).mmio.executed.length;
    expect(m.call('iommu_unmap', 0, { domid: 3, iova: 0x10_0000n, size: 0x1000n })).toBe(0x1000n);
    // INVALIDATE_IOMMU_PAGES (opcode 3 at 31:28 of word 1): DomID 15:0 of word 1; address 0x100000 | PDE (bit 1)
    expect(
      m
        .iommu(0)
        .mmio.executed.slice(before)
        .map((c) => c.raw),
    ).toEqual([
      [0, 0x3000_0005, 0x0010_0002, 0], // vIOMMU 2's hDomID 5
      [0, 0x3000_0004, 0x0010_0002, 0], // vIOMMU 1's hDomID 4
    ]);
  });
});
