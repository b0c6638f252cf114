import { pt_iommu_amdv1_hw_info } from '../../runtime/pt/fmt/amdv1.js';
import { describe, expect, it } from 'vitest';
import { attach_device, detach_device } from '../../runtime/linux/amd/attach.js';
import { iommu_flush_dte } from '../../runtime/linux/amd/cmd.js';
import { iommu_map, iommu_unmap } from '../../runtime/linux/amd/iommu-core.js';
import { IOMMU_READ, IOMMU_WRITE } from '../../runtime/pt/defs.js';
import { GFP_KERNEL } from '../../runtime/linux/gfp.js';
import { virt_to_phys } from '../../runtime/mem/direct-map.js';
import { machine, view } from './machine.js';
import type { ProtectionDomain } from '../../runtime/linux/amd/domain.js';

const DEV = 0x10;

/** Boots, inits the private region, and returns the private domain (non-null after a good init). */
function booted(faults: Parameters<typeof machine>[0] = {}) {
  const m = machine(faults);
  const iommu = m.iommu(0);
  expect(m.patch.amd_viommu_init(iommu)).toBe(0);
  const pdom = iommu.viommu_pdom as ProtectionDomain;
  const dteAt = virt_to_phys(iommu.dev_table) + BigInt(DEV) * 32n;
  return { m, iommu, pdom, dteAt, dev: m.device(iommu, DEV) };
}

function commandsSince(m: ReturnType<typeof machine>, n: number): string[] {
  return view(m).commands.slice(n);
}

describe('attach_device / detach_device', () => {
  it('writes the DTE (root, mode 3, IR, IW, TV, V; domain ID in data[1]), flushes it with a wait, twice', () => {
    const { m, iommu, pdom, dteAt, dev } = booted();
    const before = iommu.mmio.executed.length;
    expect(attach_device(m.driver, iommu, dev, pdom)).toBe(0);
    const root = pt_iommu_amdv1_hw_info(pdom.amdv1!.top()).host_pt_root;
    // Bits by hand: V=0, TV=1, Mode=11:9 (3 levels -> 3), IR=61, IW=62.
    expect(m.k.mem.read64(dteAt)).toBe(root | 0x6000_0000_0000_0603n);
    expect(m.k.mem.read64(dteAt + 8n) & 0xffffn).toBe(BigInt(pdom.id));
    expect(m.k.mem.read64(dteAt + 8n)).toBe(BigInt(pdom.id)); // rebuilt from the clear DTE: nothing else
    const cmds = commandsSince(m, before);
    // update_dte256's iommu_flush_dte_sync, then amd_iommu_update_dte's device_flush_dte and wait.
    expect(cmds[0]).toBe('00000010 20000000 00000000 00000000'); // INVALIDATE_DEVTAB_ENTRY devid 0x10
    expect(cmds[1]!.split(' ')[1]!.startsWith('1')).toBe(true); // COMPLETION_WAIT
    expect(cmds[2]).toBe('00000010 20000000 00000000 00000000');
    expect(cmds[3]!.split(' ')[1]!.startsWith('1')).toBe(true);
    expect(cmds).toHaveLength(4); // old domain ID 0: no IOTLB flush
    expect(pdom.iommu_array.get(iommu.index)?.refcnt).toBe(1);
    expect(attach_device(m.driver, iommu, dev, pdom)).toBe(-16); // -EBUSY
  });

  it('makes unmap fan out an INVALIDATE_IOMMU_PAGES to the IOMMU, and the device translate through the table', () => {
    const { m, iommu, pdom, dev } = booted();
    attach_device(m.driver, iommu, dev, pdom);
    expect(iommu_map(m.k, pdom, 0x4000_0000n, 0x80_0000n, 0x1000n, IOMMU_READ | IOMMU_WRITE, GFP_KERNEL)).toBe(0);
    expect(m.dma(0, DEV, 0x4000_0010n, 'read')).toMatchObject({ ok: true, pa: 0x80_0010n });
    const before = iommu.mmio.executed.length;
    expect(iommu_unmap(m.k, pdom, 0x4000_0000n, 0x1000n)).toBe(0x1000n);
    // INVALIDATE_IOMMU_PAGES: domain ID in word 1, opcode 3; S=0, PDE=1 (bit 1) and address 0x40000000 in words 2-3.
    const id = pdom.id.toString(16).padStart(4, '0');
    expect(commandsSince(m, before)[0]).toBe(`00000000 3000${id} 40000002 00000000`);
    expect(m.dma(0, DEV, 0x4000_0010n, 'read').ok).toBe(false);
  });

  it('detach blocks DMA (the clear DTE, V only), flushes the whole domain and drops the IOMMU reference', () => {
    const { m, iommu, pdom, dteAt, dev } = booted();
    attach_device(m.driver, iommu, dev, pdom);
    const before = iommu.mmio.executed.length;
    const live = m.k.ledger.liveAllocations().length;
    detach_device(m.driver, iommu, dev);
    expect(m.k.mem.read64(dteAt)).toBe(1n);
    expect(m.k.mem.read64(dteAt + 8n)).toBe(0n);
    const id = pdom.id.toString(16).padStart(4, '0');
    const cmds = commandsSince(m, before);
    expect(cmds[0]).toBe('00000010 20000000 00000000 00000000');
    expect(cmds[2]).toBe('00000010 20000000 00000000 00000000');
    // Flush-all: address 0x7FFFFFFFFFFFF000 with S and PDE set.
    expect(cmds[4]).toBe(`00000000 3000${id} fffff003 7fffffff`);
    expect(cmds).toHaveLength(6);
    expect(pdom.iommu_array.size).toBe(0);
    expect(dev.domain).toBeNull();
    expect(m.k.ledger.liveAllocations().length).toBe(live - 1); // the iommu_array entry's kzalloc
    const events = iommu.mmio.events.length;
    expect(m.dma(0, DEV, 0x1000n, 'write')).toEqual({ ok: false, fault: 'translation_not_valid' });
    expect(iommu.mmio.events.length).toBe(events);
  });

  it('a failed GFP_ATOMIC allocation for the iommu_array entry returns -ENOMEM and leaves the DTE alone', () => {
    const { m, iommu, pdom, dteAt, dev } = booted({
      faults: [{ site: 'attach_device/pdom_attach_iommu/kzalloc', schedule: { mode: 'nth', n: 1 } }],
    });
    expect(attach_device(m.driver, iommu, dev, pdom)).toBe(-12);
    expect(m.k.mem.read64(dteAt)).toBe(0n);
    expect(dev.domain).toBeNull();
    expect(pdom.dev_list).toEqual([]);
  });

  it('a failed xa_cmpxchg frees the iommu_array entry and returns -ENOSPC, as pdom_attach_iommu does', () => {
    const { m, iommu, pdom, dteAt, dev } = booted({
      faults: [{ site: 'attach_device/pdom_attach_iommu/xa_cmpxchg', schedule: { mode: 'nth', n: 1 } }],
    });
    const live = m.k.ledger.liveAllocations().length;
    expect(attach_device(m.driver, iommu, dev, pdom)).toBe(-28);
    expect(m.k.ledger.liveAllocations().length).toBe(live);
    expect(m.k.mem.read64(dteAt)).toBe(0n);
    expect(pdom.iommu_array.size).toBe(0);
    expect(dev.domain).toBeNull();
  });

  it('puts a newly attached device at the head of dev_list (list_add)', () => {
    const { m, iommu, pdom, dev } = booted();
    const other = m.device(iommu, 0x18);
    attach_device(m.driver, iommu, dev, pdom);
    attach_device(m.driver, iommu, other, pdom);
    expect(pdom.dev_list.map((d) => d.devid)).toEqual([0x18, DEV]);
    expect(pdom.iommu_array.get(iommu.index)?.refcnt).toBe(2);
  });

  it('iommu_map on a domain with no page sizes is -EINVAL with one WARN_ON_ONCE splat (iommu.c @ 0735c548)', () => {
    const { m, pdom } = booted();
    pdom.amdv1!.pgsizeBitmap = 0n;
    const warns = () => m.k.events.filter((e) => e.kind === 'warn').length;
    const before = warns();
    expect(iommu_map(m.k, pdom, 0x80_0000n, 0x80_0000n, 0x1000n, IOMMU_READ, GFP_KERNEL)).toBe(-22);
    expect(iommu_map(m.k, pdom, 0x80_0000n, 0x80_0000n, 0x1000n, IOMMU_READ, GFP_KERNEL)).toBe(-22);
    expect(warns()).toBe(before + 1);
  });

  it('a map that grows the table rewrites the attached DTE with the new root and mode 4 before any DMA', () => {
    const { m, iommu, pdom, dteAt, dev } = booted();
    attach_device(m.driver, iommu, dev, pdom);
    const oldRoot = pt_iommu_amdv1_hw_info(pdom.amdv1!.top()).host_pt_root;
    const before = iommu.mmio.executed.length;
    // 1 << 40 is beyond the 39 bits three levels translate: increase_top adds level 3.
    expect(iommu_map(m.k, pdom, 1n << 40n, 0x80_0000n, 0x1000n, IOMMU_READ, GFP_KERNEL)).toBe(0);
    const root = pt_iommu_amdv1_hw_info(pdom.amdv1!.top()).host_pt_root;
    expect(root).not.toBe(oldRoot);
    expect(m.k.mem.read64(dteAt)).toBe(root | 0x6000_0000_0000_0803n); // mode 4 in bits 11:9
    const id = pdom.id.toString(16).padStart(4, '0');
    const cmds = commandsSince(m, before);
    // amd_iommu_change_top: set_dte_entry (INV_DTE + wait, INV_DTE + wait, then the old domain ID, the same
    // one, flushed + wait), device_flush_dte again without a wait, then domain_flush_complete's wait.
    const opcodeAndWord0 = cmds.slice(0, 8).map((c) => {
      const [w0, w1] = c.split(' ');
      return `${w1![0]} ${w0}`;
    });
    const dteFlush = '2 00000010';
    const wait = '1 00204001';
    expect(opcodeAndWord0).toEqual([dteFlush, wait, dteFlush, wait, '3 00000000', wait, dteFlush, wait]);
    expect(cmds[4]).toBe(`00000000 3000${id} fffff003 7fffffff`);
    expect(cmds).toHaveLength(8);
    expect(m.dma(0, DEV, (1n << 40n) + 8n, 'read')).toMatchObject({ ok: true, pa: 0x80_0008n });
    expect(m.dma(0, DEV, 0x1000n, 'read')).toMatchObject({ ok: true, pa: 0x40_1000n }); // old mappings still reachable
  });

  it('the hardware honours the DTE forms: V=0 passes untranslated, V=1 TV=0 blocks, mode 0 obeys IR/IW', () => {
    const { m, iommu, dteAt } = booted();
    // The IOMMU caches DTEs: each rewrite is followed by INVALIDATE_DEVTAB_ENTRY, as the driver does.
    const write = (v: bigint) => {
      m.k.mem.write64(dteAt, v);
      iommu_flush_dte(m.k, iommu, DEV);
    };
    write(0n); // V=0: no translation for this device
    expect(m.dma(0, DEV, 0x5000n, 'write')).toEqual({ ok: true, pa: 0x5000n, fromIotlb: false, stale: false });
    write(1n); // V only: no valid root, the request is terminated
    expect(m.dma(0, DEV, 0x5000n, 'write')).toEqual({ ok: false, fault: 'translation_not_valid' });
    write((1n << 61n) | 3n); // V|TV, mode 0, IR only
    expect(m.dma(0, DEV, 0x5000n, 'read')).toEqual({ ok: true, pa: 0x5000n, fromIotlb: false, stale: false });
    expect(m.dma(0, DEV, 0x5000n, 'write')).toEqual({ ok: false, fault: 'permission' });
  });
});
