import { pt_iommu_amdv1_hw_info } from '../../runtime/pt/fmt/amdv1.js';
import type { ProtectionDomain } from '../../runtime/linux/amd/domain.js';
import { describe, expect, it } from 'vitest';
import { hwWalk } from '../../runtime/hw/walk.js';
import { BOOT_LIVE, machine, view } from './machine.js';

const SUB = 'amd_viommu_init/viommu_private_space_init/alloc_private_subregion';

describe('amd_viommu_init: happy path (fact sheet §6)', () => {
  it('allocates in order, maps four 2 MiB leaves in one level-1 table, sets UC, queues no command', () => {
    const m = machine();
    const iommu = m.iommu(0);
    expect(m.patch.amd_viommu_init(iommu)).toBe(0);
    const v = view(m);
    expect(v.live).toEqual([
      ...BOOT_LIVE,
      'amd_viommu_init/viommu_private_space_init/amd_iommu_domain_alloc_paging_v1/protection_domain_alloc/kzalloc@205000',
      'amd_viommu_init/viommu_private_space_init/amd_iommu_domain_alloc_paging_v1/pt_iommu_amdv1_init/iommu_alloc_pages_node_sz@206000',
      `${SUB}[0]/viommu_priv_alloc_map_flush/iommu_alloc_pages_node_sz@400000`,
      `${SUB}[0]/viommu_priv_alloc_map_flush/iommu_map/iommu_map_nosync/iommu_alloc_pages_node_sz@207000`,
      `${SUB}[1]/viommu_priv_alloc_map_flush/iommu_alloc_pages_node_sz@600000`,
      `${SUB}[2]/viommu_priv_alloc_map_flush/iommu_alloc_pages_node_sz@800000`,
      `${SUB}[3]/viommu_priv_alloc_map_flush/iommu_alloc_pages_node_sz@a00000`,
    ]);
    expect(m.k.ledger.liveAllocations().find((a) => a.pa === 0x40_0000n)!.order).toBe(9);
    const pdom = iommu.viommu_pdom as ProtectionDomain;
    expect(pdom.id).toBe(2); // the identity domain took 1 at boot
    expect(pt_iommu_amdv1_hw_info(pdom.amdv1!.top())).toEqual({ host_pt_root: 0x20_6000n, mode: 3 });
    expect(pdom.amdv1!.tablePages()).toHaveLength(2);
    // Top entry 0: PDE NL=2 to the level-1 table; level-1 entries 0..3: PR|FC|IR|IW|pa, NL=0.
    expect(m.k.mem.read64(0x20_6000n)).toBe(0x6000_0000_0020_7401n);
    expect([0, 1, 2, 3, 4].map((i) => m.k.mem.read64(0x20_7000n + BigInt(i) * 8n))).toEqual([
      0x7000_0000_0040_0001n,
      0x7000_0000_0060_0001n,
      0x7000_0000_0080_0001n,
      0x7000_0000_00a0_0001n,
      0n,
    ]);
    expect(hwWalk(m.k.mem, 0x20_6000n, 3, 0x61_2345n)).toMatchObject({ pa: 0xa1_2345n, read: true, write: true });
    expect(v.uc).toEqual(Array.from({ length: 2048 }, (_, i) => [0x400 + i, 2]));
    expect(v.commands).toEqual([]);
    expect(v.log).toEqual([
      'debug: AMD-Vi: viommu_vf_vfcntl_init: IOMMU device:0000:00:00.2, vf_base:0xf00000000000, vfctrl_base:0xf10000000000',
      'debug: AMD-Vi: alloc_private_subregion: base=0x0, size=0x200000, subregion=0xffff888000400000(0x400000)',
      'debug: AMD-Vi: alloc_private_subregion: base=0x200000, size=0x200000, subregion=0xffff888000600000(0x600000)',
      'debug: AMD-Vi: alloc_private_subregion: base=0x400000, size=0x200000, subregion=0xffff888000800000(0x800000)',
      'debug: AMD-Vi: alloc_private_subregion: base=0x600000, size=0x200000, subregion=0xffff888000a00000(0xa00000)',
      'debug: AMD-Vi: viommu_private_space_init: devid=0x2, pte_root=0x206000',
    ]);
    expect(iommu.gid_ida_inited).toBe(true);
  });

  it('uninit executes 8 commands with the exact ranges, restores WB, frees everything and the domain ID', () => {
    const m = machine();
    const iommu = m.iommu(0);
    m.patch.amd_viommu_init(iommu);
    m.patch.viommu_private_space_uninit(iommu);
    const v = view(m);
    expect(v.commands).toEqual([
      '00000000 30000002 000ff003 00000000',
      '00204001 10000000 00000001 00000000',
      '00000000 30000002 002ff003 00000000',
      '00204001 10000000 00000002 00000000',
      '00000000 30000002 004ff003 00000000',
      '00204001 10000000 00000003 00000000',
      '00000000 30000002 006ff003 00000000',
      '00204001 10000000 00000004 00000000',
    ]);
    expect(iommu.cmd_buf_tail).toBe(0x80);
    expect(v.uc).toEqual([]);
    expect(v.live).toEqual(BOOT_LIVE);
    expect(m.driver.g.pdom_ids.allocated()).toEqual([1]);
    expect(v.events).toEqual([]);
    expect(iommu.viommu_pdom).toBeNull();
    expect(iommu.viommu_priv_region).toEqual([null, null, null, null]);
    // A second uninit is a no-op.
    m.patch.viommu_private_space_uninit(iommu);
    expect(view(m).commands).toHaveLength(8);
  });

  it('returns 0 without doing anything when the IOMMU lacks FEATURE_VIOMMU', () => {
    const m = machine({ iommu: { viommu: false } });
    expect(m.patch.amd_viommu_init(m.iommu(0))).toBe(0);
    expect(view(m).live).toEqual(BOOT_LIVE);
  });
});
