import { describe, expect, it } from 'vitest';
import { decodeCommand } from '../../runtime/hw/commands.js';
import { encodeEvent } from '../../runtime/hw/events.js';
import { VfRegisters } from '../../runtime/hw/viommu/vf.js';
import * as R from '../../runtime/hw/regs.js';
import { encodeGuestCommand } from '../../runtime/vendor/amd/guest-commands.js';
import type { AmdIommuConfig } from '../../runtime/vendor/amd/config.js';
import { machine } from '../driver/machine.js';

const hex8 = (words: readonly number[]): string[] => words.map((w) => (w >>> 0).toString(16).padStart(8, '0'));

/** Host memory that backs the guest's physical memory (GPA 0 .. 2 MiB), far above what the kernel takes. */
const GUEST_RAM = 0x8_0000_0000n;

/**
 * series-s booted, a nest parent (domain 3) mapping GPA 4K pages 0x1000 (the command buffer) and 0x3000 (a
 * semaphore) to GUEST_RAM + GPA, vIOMMU object 1 (gid 1, translate devid 0xffff) and its command queue at
 * GPA 0x1000 with length code 8 (256 entries, 4 KiB).
 */
function guest(iommu: Partial<AmdIommuConfig> = {}, flags = 'cmdbuf_en') {
  const m = machine({ variant: 'series-s', iommu });
  expect(m.call('amd_viommu_init', 0, {})).toBe(0);
  expect(m.call('amd_iommu_domain_alloc_paging', 0, {})).toBe(3);
  for (const gpa of [0x1000n, 0x3000n])
    expect(m.call('iommu_map', 0, { domid: 3, iova: gpa, pa: GUEST_RAM + gpa, size: 0x1000n, prot: 3 })).toBe(0);
  expect(m.call('amd_iommufd_viommu_init', 0, { id: 1, parent_domid: 3 })).toBe(0);
  expect(m.call('amd_iommufd_hw_queue_init', 0, { id: 1, type: 'cmd', base: 0x1000n, length: 8, flags })).toBe(0);
  const hw = m.iommu(0).mmio;
  const guestExecuted = () => hw.executed.filter((c) => c.guest);
  const lastEvent = () => hw.events.at(-1)?.event;
  return { m, hw, guestExecuted, lastEvent };
}

describe('the VF page register file (layout: RFC 18/21 for 0x0/0x8, the host 0x2000 page for the rest)', () => {
  it('places guest g at g × 0x1000 with head 0x0, tail 0x8, event head 0x10, tail 0x18, status 0x20', () => {
    const vf = new VfRegisters();
    expect(vf.write(0x1008, 0x30n)).toBe(true); // gid 1 command tail
    expect(vf.write(0xffff000, 0x20n)).toBe(true); // gid 0xffff command head
    expect(vf.write(0x2018, 0x40n)).toBe(true); // gid 2 event tail
    expect(vf.guestRegisters(1)).toEqual([{ offset: 0x8, value: 0x30n }]);
    expect(vf.guestRegisters(0xffff)).toEqual([{ offset: 0x0, value: 0x20n }]);
    expect(vf.guestRegisters(2)).toEqual([{ offset: 0x18, value: 0x40n }]);
  });

  it('keeps only bits 18:4 of a pointer, clears status bit 2 on a 1, and ignores offsets it does not implement', () => {
    const vf = new VfRegisters();
    vf.write(0x1000, 0xffff_ffff_ffff_ffffn);
    expect(vf.read(0x1000)).toBe(0x7fff0n);
    vf.hwSet(0x1020, 0x4n);
    vf.write(0x1020, 0x0n); // writing 0 clears nothing
    expect(vf.read(0x1020)).toBe(0x4n);
    vf.write(0x1020, 0x4n);
    expect(vf.read(0x1020)).toBe(0n);
    expect(vf.write(0x1030, 0x10n)).toBe(false);
    expect(vf.write(0x1004, 0x10n)).toBe(false);
    expect(vf.read(0x1030)).toBe(0n);
  });
});

describe('guest command words, as a Linux guest builds them', () => {
  it('encodes the decoded forms with the build_* functions (hand-checked words)', () => {
    // INVALIDATE_IOMMU_PAGES, opcode 3 at word 1 31:28, DomID 7 at 15:0; one page: address 0x3000, PDE (bit 1).
    expect(
      hex8(
        encodeGuestCommand({
          op: 'invalidate_iommu_pages',
          domid: 7,
          address: 0x3000n,
          size: 0x1000n,
          pasid: 0,
          gn: false,
        }),
      ),
    ).toEqual(['00000000', '30000007', '00003002', '00000000']);
    // 16 KiB at 0x4000: S=1, address bits below the size's top set (0x5000: lowest zero bit 13, 2^14), PDE.
    expect(
      hex8(
        encodeGuestCommand({
          op: 'invalidate_iommu_pages',
          domid: 1,
          address: 0x4000n,
          size: 0x4000n,
          pasid: 0,
          gn: false,
        }),
      ),
    ).toEqual(['00000000', '30000001', '00005003', '00000000']);
    expect(hex8(encodeGuestCommand({ op: 'invalidate_devtab_entry', devid: 8 }))).toEqual([
      '00000008',
      '20000000',
      '00000000',
      '00000000',
    ]);
    // COMPLETION_WAIT: store bit 0, GPA 51:3 across words 0/1, data in words 2/3.
    expect(
      hex8(encodeGuestCommand({ op: 'completion_wait', store: 0x1_0000_3000n, data: 0x2_0000_0001n, interrupt: true })),
    ).toEqual(['00003003', '10000001', '00000001', '00000002']);
  });
});

describe('guest command processing (runtime/hw/viommu/ASSUMPTIONS.md)', () => {
  it('fetches through the translate DTE, maps gDomID to the hDomID of the DomID table, and moves the guest head', () => {
    const { m, hw, guestExecuted } = guest();
    const wait = m.guestCommands(0, 1, [
      encodeGuestCommand({ op: 'completion_wait', store: 0x3000n, data: 0x5n, interrupt: false }),
    ]);
    expect(wait).toEqual({ ok: true, pa: GUEST_RAM + 0x1000n, fromIotlb: false, stale: false });
    // The semaphore GPA 0x3000 translated through domain 3's table: the store lands at GUEST_RAM + 0x3000.
    expect(m.k.mem.read64(GUEST_RAM + 0x3000n)).toBe(0x5n);
    const flush = encodeGuestCommand({
      op: 'invalidate_iommu_pages',
      domid: 7,
      address: 0x3000n,
      size: 0x1000n,
      pasid: 0,
      gn: false,
    });
    m.guestCommands(0, 1, [flush]);
    const [c1, c2] = guestExecuted();
    expect(c1?.command).toMatchObject({ op: 'COMPLETION_WAIT', semaphorePa: GUEST_RAM + 0x3000n });
    expect(c1?.guest).toMatchObject({ gid: 1, gpa: 0x1000n, issued: { semaphorePa: 0x3000n } });
    // viommu_clear_mapping mapped every gDomID to the parent's ID: gDomID 7 runs as domain 3.
    expect(c2?.command).toMatchObject({ op: 'INVALIDATE_IOMMU_PAGES', domainId: 3 });
    expect(c2?.guest).toMatchObject({ gid: 1, gpa: 0x1010n, issued: { domainId: 7 } });
    // The store cached GPA 0x3000 of domain 3; the guest's flush dropped exactly it.
    expect(c2?.dropped.map((e) => [e.domainId, e.pageIova])).toEqual([[3, 0x3000n]]);
    expect(hw.vfReadq(0x1000)).toBe(0x20n);
  });

  it('uses the host DomID the guest table holds after amd_viommu_domain_id_update', () => {
    const { m, guestExecuted } = guest();
    m.call('amd_viommu_domain_id_update', 0, { gid: 1, hdomid: 0x12, gdomid: 5 });
    m.guestCommands(0, 1, [
      encodeGuestCommand({ op: 'invalidate_iommu_pages', domid: 5, address: 0n, size: 0x1000n, pasid: 0, gn: false }),
    ]);
    expect(guestExecuted()[0]?.command).toMatchObject({ domainId: 0x12 });
  });

  it('maps a gDevID through the DevID table: a vDEVICE gives 0x10, an unset one the cleared host 0 (bug 2)', () => {
    const { m, guestExecuted } = guest();
    expect(m.call('amd_iommufd_vdevice_init', 0, { id: 1, devid: 0x10, virt_id: 8n })).toBe(0);
    m.guestCommands(0, 1, [
      encodeGuestCommand({ op: 'invalidate_devtab_entry', devid: 8 }),
      encodeGuestCommand({ op: 'invalidate_devtab_entry', devid: 9 }),
    ]);
    expect(guestExecuted().map((c) => c.command)).toEqual([
      { op: 'INVALIDATE_DEVTAB_ENTRY', deviceId: 0x10 },
      { op: 'INVALIDATE_DEVTAB_ENTRY', deviceId: 0 },
    ]);
  });

  it('does nothing while the guest CmdBufEn is clear, or VCmdEn is, and runs what is pending once CmdBufEn is set', () => {
    const off = guest({}, '');
    off.m.guestCommands(0, 1, [encodeGuestCommand({ op: 'invalidate_devtab_entry', devid: 1 })]);
    expect(off.guestExecuted()).toEqual([]);
    expect(off.hw.vfReadq(0x1000)).toBe(0n);
    expect(off.hw.vfReadq(0x1008)).toBe(0x10n);
    // Enabling the queue (a VF_CNTL 0x20 write) runs what is pending: head 0, tail 0x10.
    off.m.call('amd_iommufd_hw_queue_init', 0, { id: 1, type: 'cmd', base: 0x1000n, length: 8, flags: 'cmdbuf_en' });
    expect(off.guestExecuted().map((c) => c.command)).toEqual([{ op: 'INVALIDATE_DEVTAB_ENTRY', deviceId: 0 }]);
    expect(off.hw.vfReadq(0x1000)).toBe(0x10n);
    const { m, hw, guestExecuted } = guest();
    hw.writeq(R.MMIO_CONTROL_OFFSET, hw.readq(R.MMIO_CONTROL_OFFSET) & ~R.CONTROL_VCMD_EN);
    m.guestCommands(0, 1, [encodeGuestCommand({ op: 'invalidate_devtab_entry', devid: 1 })]);
    expect(guestExecuted()).toEqual([]);
  });

  it('reports a missing DomID mapping as VIOMMU_HW_ERR (gid 15:0, src 17:16, type 0xC) and stops the queue', () => {
    // Without map stores the tables stay zero: no guest ID has a valid entry.
    const { m, hw, guestExecuted, lastEvent } = guest({ didMapStores: false });
    const flush = encodeGuestCommand({
      op: 'invalidate_iommu_pages',
      domid: 7,
      address: 0n,
      size: 0x1000n,
      pasid: 0,
      gn: false,
    });
    m.guestCommands(0, 1, [flush]);
    const event = lastEvent()!;
    expect(event).toMatchObject({ code: 'VIOMMU_HW_ERR', gid: 1, address: 0x1000n, cause: 'domid', guestId: 7 });
    expect(hex8(encodeEvent(event))).toEqual(['00000001', 'c0000000', '00001000', '00000000']);
    expect(guestExecuted()).toEqual([]);
    expect(hw.vfReadq(0x1000)).toBe(0n); // the head stays on the command
    m.guestCommands(0, 1, [flush]); // halted: a second doorbell does nothing
    expect(hw.events.filter((e) => e.event.code === 'VIOMMU_HW_ERR')).toHaveLength(1);
  });

  it('posts GUEST_EVENT_FAULT (type 0xB, gid in word 1 15:0) instead when the machine says so', () => {
    const { m, lastEvent } = guest({ didMapStores: false, guestErrorEvent: 'guest_event_fault' });
    m.guestCommands(0, 1, [encodeGuestCommand({ op: 'invalidate_devtab_entry', devid: 3 })]);
    expect(hex8(encodeEvent(lastEvent()!))).toEqual(['00000000', 'b0000001', '00001000', '00000000']);
  });

  it('makes a host-only command from a guest an ILLEGAL_COMMAND_ERROR at the host address it read', () => {
    const { m, hw, guestExecuted, lastEvent } = guest();
    m.guestCommands(0, 1, [[0x9000_0002, 0xa000_0000, 0, 0]]); // RESET_VMMIO of gid 2
    expect(decodeCommand([0x9000_0002, 0xa000_0000, 0, 0]).ok).toBe(true);
    expect(lastEvent()).toEqual({ code: 'ILLEGAL_COMMAND_ERROR', commandPa: GUEST_RAM + 0x1000n, gid: 1 });
    expect(guestExecuted()).toEqual([]);
    expect(hw.vfReadq(0x1000)).toBe(0n);
  });

  it('reports a command GPA the translate DTE does not map: the walk fault, then VIOMMU_HW_ERR (fetch)', () => {
    const { m, hw } = guest();
    m.call('amd_iommufd_hw_queue_init', 0, { id: 1, type: 'cmd', base: 0x5000n, length: 8, flags: 'cmdbuf_en' });
    hw.vfWriteq(0x1008, 0x10n); // ring without writing: the model's guest could not place anything there
    expect(hw.events.slice(-2).map((e) => e.event)).toEqual([
      { code: 'IO_PAGE_FAULT', deviceId: 0xffff, domainId: 3, address: 0x5000n, flags: 0 },
      { code: 'VIOMMU_HW_ERR', gid: 1, address: 0x5000n, src: 0, flags: 0, vflags: 0, cause: 'fetch' },
    ]);
    expect(m.guestCommands(0, 1, [])).toEqual({ ok: false, fault: 'not_present' });
  });

  it('after destroy (translate devid 0, V=0) a GPA beyond memory is a failed fetch, not a crash', () => {
    const { m, hw, lastEvent } = guest({ didMapStores: false });
    m.call('amd_iommufd_hw_queue_init', 0, {
      id: 1,
      type: 'cmd',
      base: 0x100_0000_0000n,
      length: 8,
      flags: 'cmdbuf_en',
    });
    // Each queue object (the helper's and this one) holds a reference on the vIOMMU: iommufd destroys them first.
    expect(m.call('amd_iommufd_viommu_destroy', 0, { id: 1 })).toBe(-16);
    expect(m.call('iommufd_hw_queue_destroy', 0, { id: 1, type: 'cmd' })).toBe(0);
    expect(m.call('iommufd_hw_queue_destroy', 0, { id: 1, type: 'cmd' })).toBe(0);
    expect(m.call('iommufd_hw_queue_destroy', 0, { id: 1, type: 'cmd' })).toBe(-2);
    expect(m.call('amd_iommufd_viommu_destroy', 0, { id: 1 })).toBe(0);
    expect(hw.vfcntl.read(0x40 + 0x10)).toBe(0n);
    expect(m.guestCommands(0, 1, [[0, 0x2000_0000, 0, 0]])).toEqual({ ok: false, fault: 'outside_memory' });
    hw.vfWriteq(0x1008, 0x10n);
    expect(lastEvent()).toEqual({
      code: 'VIOMMU_HW_ERR',
      gid: 1,
      address: 0x100_0000_0000n,
      src: 0,
      flags: 0,
      vflags: 0,
      cause: 'fetch',
    });
  });

  it('RESET_VMMIO (all, vcmd) resets the VF page and the VF_CNTL queue registers, and restarts a stopped queue', () => {
    const { m, hw } = guest({ didMapStores: false });
    m.guestCommands(0, 1, [encodeGuestCommand({ op: 'invalidate_devtab_entry', devid: 3 })]);
    expect(hw.guests.halted.has(1)).toBe(true);
    m.call('iommu_reset_vmmio', 0, { gid: 1 });
    expect(hw.guests.halted.has(1)).toBe(false);
    expect(hw.vf.guestRegisters(1)).toEqual([]);
    expect(hw.vfcntl.guestRegisters(1).map((r) => r.offset)).toEqual([0x00, 0x08, 0x10]);
  });

  it('RESET_VMMIO under reset_vmmio: vf_page keeps VF_CNTL, none keeps everything', () => {
    for (const [scope, vfcntl, vf] of [
      ['vf_page', [0x00, 0x08, 0x10, 0x20], []],
      ['none', [0x00, 0x08, 0x10, 0x20], [0x0, 0x8]],
    ] as const) {
      const { m, hw } = guest({ resetVmmio: scope });
      m.guestCommands(0, 1, [encodeGuestCommand({ op: 'invalidate_devtab_entry', devid: 3 })]);
      m.call('iommu_reset_vmmio', 0, { gid: 1 });
      expect(hw.vfcntl.guestRegisters(1).map((r) => r.offset)).toEqual(vfcntl);
      expect(hw.vf.guestRegisters(1).map((r) => r.offset)).toEqual(vf);
    }
  });
});
