import { describe, expect, it } from 'vitest';
import { encodeEvent } from '../../runtime/hw/events.js';
import { formatHwEvent } from '../../runtime/hw/format.js';
import { iommu_print_event } from '../../runtime/linux/amd/event-log.js';
import { virt_to_phys } from '../../runtime/mem/direct-map.js';
import { bootOne } from './machine.js';

/** Hand-built event words (fact sheet §3.11; iommu.c @ 06c926bd iommu_print_event), printed by the driver. */
function printed(words: readonly number[]): string[] {
  const { k, iommu } = bootOne();
  const at = virt_to_phys(iommu.evt_buf);
  words.forEach((w, i) => k.mem.write32(at + BigInt(4 * i), w));
  expect(iommu_print_event(k, iommu, at)).toBe(true);
  // erratum 732: the record is zeroed afterwards
  expect([0, 1, 2, 3].map((i) => k.mem.read32(at + BigInt(4 * i)))).toEqual([0, 0, 0, 0]);
  return k.log.lines.map((l) => `${l.level} ${l.text}`);
}

describe('vIOMMU event types in the event log', () => {
  it('GUEST_EVENT_FAULT (0xB): the gid from word 1 15:0 into a u8, printed as "#%x" (bug 12)', () => {
    // word 0: vflags 0x15 at 27:23 = 0x0a800000; word 1: type 0xB, flags 0x123 at 27:16, gid 0x1234 at 15:0
    expect(printed([0x0a80_0000, 0xb123_1234, 0, 0])).toEqual([
      'err iommu ivhd0: AMD-Vi: Event logged [GUEST_EVENT_FAULT gid=#34 flags=0x0123 vflags=0x15]',
    ]);
  });

  it('VIOMMU_HW_ERR (0xC): gid word 0 15:0, src 17:16, address words 2-3', () => {
    // word 0: vflags 0x3 (0x01800000) | src 2 (0x20000) | gid 0xfffe; word 1: type 0xC, flags 0x40
    expect(printed([0x0182_fffe, 0xc040_0000, 0x8765_4000, 0x12])).toEqual([
      'err iommu ivhd0: AMD-Vi: Event logged [VIOMMU_HW_ERR gid=0xfffe address=0x1287654000 src=0x2 flags=0x40 vflags=0x3]',
    ]);
  });

  it('prints an unknown type with its four words', () => {
    expect(printed([1, 0xa000_0000, 2, 3])).toEqual([
      'err iommu ivhd0: AMD-Vi: Event logged [UNKNOWN event[0]=0x00000001 event[1]=0xa0000000 event[2]=0x00000002 event[3]=0x00000003',
    ]);
  });

  it('encodes the hardware records at the positions the driver reads', () => {
    expect(encodeEvent({ code: 'GUEST_EVENT_FAULT', gid: 0x1234, flags: 0x123, vflags: 0x15 })).toEqual([
      0x0a80_0000, 0xb123_1234, 0, 0,
    ]);
    const hwErr = {
      code: 'VIOMMU_HW_ERR',
      gid: 0xfffe,
      src: 2,
      address: 0x12_8765_4000n,
      flags: 0x40,
      vflags: 3,
    } as const;
    expect(encodeEvent(hwErr)).toEqual([0x0182_fffe, 0xc040_0000, 0x8765_4000, 0x12]);
    expect(formatHwEvent(1, hwErr)).toBe(
      'iommu1 VIOMMU_HW_ERR gid=0xfffe address=0x1287654000 src=2 flags=0x40 vflags=0x3',
    );
  });
});
