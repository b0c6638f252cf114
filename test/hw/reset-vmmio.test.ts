import { describe, expect, it } from 'vitest';
import { build_reset_vmmio } from '../../runtime/linux/amd/cmd.js';
import { decodeCommand } from '../../runtime/hw/commands.js';
import { formatCommand } from '../../runtime/hw/format.js';

const words = (c: readonly number[]): string[] => c.map((w) => (w >>> 0).toString(16).padStart(8, '0'));

describe('RESET_VMMIO', () => {
  // Vectors from the fact sheet §4.4: data[0] = gid | bit 28 (all) | bit 31 (vcmd), opcode 0xA in data[1].
  it('builds the words iommu_reset_vmmio queues for gid 1 and 0xffff', () => {
    expect(words(build_reset_vmmio(1, true, true))).toEqual(['90000001', 'a0000000', '00000000', '00000000']);
    expect(words(build_reset_vmmio(0xffff, true, true))).toEqual(['9000ffff', 'a0000000', '00000000', '00000000']);
    expect(words(build_reset_vmmio(2, false, true))).toEqual(['10000002', 'a0000000', '00000000', '00000000']);
  });

  it('decodes gid, all and vcmd, and rejects reserved bits', () => {
    const d = decodeCommand([0x9000_0007, 0xa000_0000, 0, 0]);
    expect(d.ok && formatCommand(d.command)).toBe('RESET_VMMIO gid=0x7 all vcmd');
    expect(decodeCommand([0x0001_0001, 0xa000_0000, 0, 0])).toEqual({
      ok: false,
      reason: 'reserved bits 0x10000 set in word 0',
    });
    expect(decodeCommand([0x1, 0xa000_0000, 0x1000, 0]).ok).toBe(false);
  });
});
