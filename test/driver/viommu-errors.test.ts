import { describe, expect, it } from 'vitest';
import { Errno } from '../../runtime/linux/errno.js';
import { oopsOf } from '../helpers.js';
import { iommu_unmap } from '../../runtime/linux/amd/iommu-core.js';
import { iommu_flush_dte } from '../../runtime/linux/amd/cmd.js';
import { BOOT_LIVE, machine, view } from './machine.js';
import type { AmdMachine as Machine } from '../../runtime/vendor/amd/machine.js';

const SUB = 'amd_viommu_init/viommu_private_space_init/alloc_private_subregion';
const fail = (site: string, n = 1) => [{ site, schedule: { mode: 'nth' as const, n } }];

/** Commands of a teardown of subregions [0, k): an invalidation and a completion wait each. */
function teardownCommands(k: number): string[] {
  return Array.from({ length: k }, (_, i) => [
    `00000000 30000002 00${(i * 2).toString(16)}ff003 00000000`,
    `00204001 10000000 0000000${i + 1} 00000000`,
  ]).flat();
}

function init(m: Machine): number {
  return m.patch.amd_viommu_init(m.iommu(0));
}

describe('1. ERR_PTR from the domain allocator is not checked', () => {
  it('stores the ERR_PTR, allocates subregion 0 and sets it UC, then oopses in iommu_map', () => {
    const m = machine({ faults: fail('**/protection_domain_alloc/kzalloc') });
    const report = oopsOf(() => init(m));
    expect(report).toMatchObject({
      message: 'BUG: unable to handle page fault for address: fffffffffffffffc',
      function: 'iommu_map_nosync',
      field: 'iommu_domain.ops',
    });
    const v = view(m);
    expect(v.log.filter((l) => l.startsWith('err'))).toEqual([]); // the "-ENOMEM + pr_err" branch is dead code
    expect(v.live).toEqual([...BOOT_LIVE, `${SUB}[0]/viommu_priv_alloc_map_flush/iommu_alloc_pages_node_sz@400000`]);
    expect(v.uc).toHaveLength(512);
    expect(m.iommu(0).viommu_pdom).toMatchObject({ errno: -Errno.ENOMEM });
  });

  it('a later uninit oopses too, in amd_iommu_domain_free', () => {
    const m = machine({ faults: fail('**/protection_domain_alloc/kzalloc') });
    oopsOf(() => init(m));
    expect(oopsOf(() => m.patch.viommu_private_space_uninit(m.iommu(0)))).toMatchObject({
      function: 'amd_iommu_domain_free',
      field: 'protection_domain.dev_list',
    });
  });

  it('hatdis gives ERR_PTR(-EOPNOTSUPP) with the same oops; a failed top table gives ERR_PTR(-ENOMEM)', () => {
    expect(oopsOf(() => init(machine({ iommu: { hats: 'hatdis' } }))).function).toBe('iommu_map_nosync');
    const m = machine({ faults: fail('**/pt_iommu_amdv1_init/iommu_alloc_pages_node_sz') });
    oopsOf(() => init(m));
    expect(m.driver.g.pdom_ids.allocated()).toEqual([1]); // the domain was freed inside the allocator
  });

  it('the fixed variant returns the errno cleanly and leaks nothing', () => {
    const m = machine({ variant: 'v3-err-ptr-fix', faults: fail('**/protection_domain_alloc/kzalloc') });
    expect(init(m)).toBe(-Errno.ENOMEM);
    const v = view(m);
    expect(v.log.filter((l) => !l.startsWith('debug'))).toEqual([
      'err: AMD-Vi: viommu_private_space_init: Failed to initialize private space',
    ]);
    expect([v.live, v.uc, v.events]).toEqual([BOOT_LIVE, [], []]);
    expect(init(machine({ variant: 'v3-err-ptr-fix', iommu: { hats: 'hatdis' } }))).toBe(-Errno.EOPNOTSUPP);
  });
});

describe('2. every subregion failure becomes -ENOMEM after a full unwind', () => {
  it.each([0, 1, 2, 3])('allocation failure at subregion %i: k x 2 commands, all WB, no leak', (k) => {
    const m = machine({ faults: fail(`${SUB}[${k}]/viommu_priv_alloc_map_flush/iommu_alloc_pages_node_sz`) });
    expect(init(m)).toBe(-Errno.ENOMEM);
    const v = view(m);
    expect(v.log.filter((l) => !l.startsWith('debug'))).toEqual([
      `err: AMD-Vi: viommu_private_space_init: Failed to allocate vIOMMU private subregion ${k}`,
    ]);
    expect(v.commands).toEqual(teardownCommands(k));
    expect([v.live, v.uc, v.events]).toEqual([BOOT_LIVE, [], []]);
    expect(m.iommu(0).viommu_pdom).toBeNull();
    expect(m.driver.g.pdom_ids.allocated()).toEqual([1]);
  });

  it('set_memory_uc failing (CPA -ENOMEM) frees the block without touching memory types', () => {
    const m = machine({ faults: fail(`${SUB}[2]/**/_set_memory_uc`) });
    expect(init(m)).toBe(-Errno.ENOMEM);
    expect(view(m).commands).toEqual(teardownCommands(2));
    expect([view(m).live, view(m).uc]).toEqual([BOOT_LIVE, []]);
  });

  it('iommu_map failing on its table page resets WB before freeing; the cause is collapsed to -ENOMEM', () => {
    const m = machine({ faults: fail(`${SUB}[0]/**/iommu_map_nosync/iommu_alloc_pages_node_sz`) });
    expect(init(m)).toBe(-Errno.ENOMEM);
    const v = view(m);
    expect(v.log.filter((l) => !l.startsWith('debug'))).toEqual([
      'err: AMD-Vi: viommu_private_space_init: Failed to allocate vIOMMU private subregion 0',
    ]);
    expect([v.commands, v.live, v.uc, v.events]).toEqual([[], BOOT_LIVE, [], []]);
  });
});

describe('3. after uninit', () => {
  it('leaves the GID IDA initialised and a second uninit does nothing', () => {
    const m = machine();
    init(m);
    m.patch.viommu_private_space_uninit(m.iommu(0));
    m.patch.viommu_private_space_uninit(m.iommu(0));
    expect(m.iommu(0).gid_ida_inited).toBe(true);
    expect(view(m).commands).toHaveLength(8);
  });
});

describe('4. flush failures in teardown', () => {
  it('a completion-wait timeout is ignored: the flush returns 0 and the teardown reports nothing', () => {
    const m = machine({ iommu: { processor: { kind: 'stalled', after: 1 } } });
    init(m);
    m.patch.viommu_private_space_uninit(m.iommu(0));
    const v = view(m);
    expect(v.log.filter((l) => !l.startsWith('debug'))).toEqual(
      Array(4).fill('alert: AMD-Vi: IOMMU 0000:00:00.2: Completion-Wait loop timed out'),
    );
    expect(v.commands).toEqual(['00000000 30000002 000ff003 00000000']); // only the first invalidation ran
    expect([v.live, v.uc]).toEqual([BOOT_LIVE, []]); // pages freed although their flush never completed
  });

  it('an enqueue failure propagates: each slot warns, memory is still reset and freed, the first error is reported', () => {
    const m = machine({ iommu: { processor: { kind: 'stalled', after: 0 } } });
    const iommu = m.iommu(0);
    init(m);
    for (let i = 0; i < 509; i++) iommu_flush_dte(m.k, iommu, i); // other traffic fills the ring
    m.patch.viommu_private_space_uninit(iommu);
    const v = view(m);
    expect(v.log.filter((l) => !l.startsWith('debug'))).toEqual([
      ...[0, 1, 2, 3].flatMap((i) => [
        'err: AMD-Vi: Command buffer timeout',
        `warn: AMD-Vi: viommu_priv_unmap_flush_free: IOTLB flush failed (-5) for 0x200000 at 0x${(i * 0x200000).toString(16)}`,
      ]),
      'err: AMD-Vi: viommu_private_space_uninit: private subregion teardown failed (-5)',
    ]);
    expect([v.live, v.uc]).toEqual([BOOT_LIVE, []]);
  });
});

describe('5. unmap size mismatch', () => {
  it('warns with the unmapped size, skips the flush for a 0-byte unmap, still resets WB and frees', () => {
    const m = machine();
    const iommu = m.iommu(0);
    init(m);
    // Someone else unmapped slot 1.
    expect(iommu_unmap(m.k, iommu.viommu_pdom, 0x20_0000n, 0x20_0000n)).toBe(0x20_0000n);
    m.patch.viommu_private_space_uninit(iommu);
    const v = view(m);
    expect(v.log.filter((l) => !l.startsWith('debug'))).toEqual([
      'warn: AMD-Vi: viommu_priv_unmap_flush_free: unmapped 0x0 of 0x200000 at 0x200000',
    ]);
    expect(v.commands).toHaveLength(6);
    expect([v.live, v.uc]).toEqual([BOOT_LIVE, []]);
  });
});

describe('6. set_memory_wb failure is ignored', () => {
  it('frees a UC- page (recorded), and the next set_memory_uc on it fails with -EBUSY', () => {
    const m = machine({
      faults: fail('**/viommu_private_space_uninit/viommu_priv_unmap_flush_free[0]/**/_set_memory_wb'),
    });
    const iommu = m.iommu(0);
    init(m);
    m.patch.viommu_private_space_uninit(iommu);
    expect(m.k.events).toMatchObject([{ kind: 'freed_not_wb', pa: 0x40_0000n, pages: 512, mode: 'UC_MINUS' }]);
    // Re-init: subregion 0 gets the same block back and PAT refuses it.
    expect(m.patch.viommu_private_space_init(iommu)).toBe(-Errno.ENOMEM);
    const errors = view(m).log.filter((l) => !l.startsWith('debug'));
    expect(errors).toEqual([
      'info: x86/PAT: reserve_ram_pages_type failed [mem 0x00400000-0x005fffff], track 0x2, req 0x2',
      'err: AMD-Vi: viommu_private_space_init: Failed to allocate vIOMMU private subregion 0',
    ]);
  });
});

describe('7. no flush after map, even under NpCache', () => {
  it('queues nothing during init with NpCache on (the domain is attached to no IOMMU)', () => {
    const m = machine({ iommu: { npCache: true } });
    expect(init(m)).toBe(0);
    expect(view(m).commands).toEqual([]);
  });
});

describe('9. table pages are freed by domain free without a flush of their own', () => {
  it('frees the level-1 and top tables after the last per-range flush', () => {
    const m = machine();
    init(m);
    m.patch.viommu_private_space_uninit(m.iommu(0));
    const freed = m.k.ledger
      .freedAllocations()
      .filter(
        (a) =>
          a.site.endsWith('pt_iommu_amdv1_init/iommu_alloc_pages_node_sz') ||
          a.site.endsWith('iommu_map_nosync/iommu_alloc_pages_node_sz'),
      );
    expect(freed.map((a) => a.freed!.by)).toEqual(
      Array(2).fill('viommu_private_space_uninit/amd_iommu_domain_free/iommu_free_pages'),
    );
    // ...and after the last flush the hardware executed.
    expect(
      freed.every((a) => a.freed!.seq > m.k.ledger.freedAllocations().find((f) => f.pa === 0xa0_0000n)!.freed!.seq),
    ).toBe(true);
  });
});

describe('10. pgsize_4k', () => {
  it('maps 512 4K leaves per subregion in its own level-0 table, 6 table pages, freed through the gather', () => {
    const m = machine({ pgsize4k: true });
    const iommu = m.iommu(0);
    expect(init(m)).toBe(0);
    const pdom = iommu.viommu_pdom as { amdv1: { tablePages(): bigint[] } };
    expect(pdom.amdv1.tablePages()).toHaveLength(6);
    m.patch.viommu_private_space_uninit(iommu);
    const byGather = m.k.ledger.freedAllocations().filter((a) => a.freed!.by.includes('amd_iommu_iotlb_sync'));
    expect(byGather).toHaveLength(4);
    expect(view(m).live).toEqual(BOOT_LIVE);
  });
});
