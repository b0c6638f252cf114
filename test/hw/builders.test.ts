import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  build_completion_wait,
  build_inv_address,
  build_inv_all,
  build_inv_dte,
  build_inv_iommu_pages,
  build_inv_iotlb_pages,
  build_inv_irt,
} from '../../runtime/linux/amd/cmd.js';
import { decodeCommand, decodeInvalidationRange } from '../../runtime/hw/commands.js';
import type { AmdIommu } from '../../runtime/linux/amd/amd-iommu.js';

const M = 0x20_0000n;
const hex = (cmd: readonly number[]): string[] => cmd.map((w) => w.toString(16).padStart(8, '0'));

describe('command builders (hand-checked vectors, domain 2)', () => {
  it.each([
    ['[0, 2M)', 0n, M, ['00000000', '30000002', '000ff003', '00000000']],
    ['[2M, 4M)', M, M, ['00000000', '30000002', '002ff003', '00000000']],
    ['[4M, 6M)', 2n * M, M, ['00000000', '30000002', '004ff003', '00000000']],
    ['[6M, 8M)', 3n * M, M, ['00000000', '30000002', '006ff003', '00000000']],
    ['[0, 8M)', 0n, 4n * M, ['00000000', '30000002', '003ff003', '00000000']],
    ['[4K, 12K) rounds to [0, 16K)', 0x1000n, 0x2000n, ['00000000', '30000002', '00001003', '00000000']],
    ['[0x1FF000, 0x201000) rounds to [0, 4M)', 0x1f_f000n, 0x2000n, ['00000000', '30000002', '001ff003', '00000000']],
    ['one page: S=0', 0x5000n, 0x1000n, ['00000000', '30000002', '00005002', '00000000']],
    ['flush-all idiom', 0n, 0x7fff_ffff_ffff_ffffn, ['00000000', '30000002', 'fffff003', '7fffffff']],
    ['2 MiB at 2^51 (64-bit address)', 1n << 51n, M, ['00000000', '30000002', '000ff003', '00080000']],
    [
      'crossing 2^51: bit 51 differs, all ones below it',
      0x7_ffff_ffff_f000n,
      0x2000n,
      ['00000000', '30000002', 'fffff003', '0007ffff'],
    ],
  ] as const)('INVALIDATE_IOMMU_PAGES %s', (_n, address, size, words) => {
    expect(hex(build_inv_iommu_pages(address, size, 2, 0, false))).toEqual(words);
  });

  it('INVALIDATE_IOMMU_PAGES with GN carries the PASID and the GN bit', () => {
    expect(hex(build_inv_iommu_pages(0x5000n, 0x1000n, 2, 0x12345, true))).toEqual([
      '00012345',
      '30000002',
      '00005006',
      '00000000',
    ]);
  });

  it('other commands', () => {
    expect(hex(build_inv_dte(0x10))).toEqual(['00000010', '20000000', '00000000', '00000000']);
    expect(hex(build_inv_all())).toEqual(['00000000', '80000000', '00000000', '00000000']);
    expect(hex(build_inv_irt(0x20))).toEqual(['00000020', '50000000', '00000000', '00000000']);
    expect(hex(build_inv_iotlb_pages(0x0810, 0x20, 0x1000n, 0x1000n, 0, false))).toEqual([
      '20000810',
      '40000810',
      '00001000',
      '00000000',
    ]);
    const iommu = { cmd_sem: 0xffff_8880_1234_5000n } as AmdIommu;
    expect(hex(build_completion_wait(iommu, 1n))).toEqual(['12345001', '10000000', '00000001', '00000000']);
    expect(
      hex(build_completion_wait({ cmd_sem: 0xffff_8880_0000_0000n + 0xf_1234_5000n } as AmdIommu, 0x1_0000_0002n)),
    ).toEqual(['12345001', '1000000f', '00000002', '00000001']);
  });
});

describe('the hardware decodes what the driver encodes', () => {
  it('decodes every builder back to its fields', () => {
    const d = decodeCommand(build_inv_iommu_pages(2n * M, M, 7, 0, false));
    expect(d).toEqual({
      ok: true,
      command: {
        op: 'INVALIDATE_IOMMU_PAGES',
        domainId: 7,
        pasid: 0,
        s: true,
        pde: true,
        gn: false,
        address: 0x4f_f000n,
        range: { start: 2n * M, size: M },
      },
    });
    expect(decodeCommand(build_inv_dte(0x10))).toEqual({
      ok: true,
      command: { op: 'INVALIDATE_DEVTAB_ENTRY', deviceId: 0x10 },
    });
    expect(decodeCommand(build_inv_all())).toEqual({ ok: true, command: { op: 'INVALIDATE_IOMMU_ALL' } });
    expect(decodeCommand(build_completion_wait({ cmd_sem: 0xffff_8880_1234_5000n } as AmdIommu, 9n))).toEqual({
      ok: true,
      command: {
        op: 'COMPLETION_WAIT',
        store: true,
        interrupt: false,
        flush: false,
        semaphorePa: 0x1234_5000n,
        data: 9n,
      },
    });
  });

  it('the decoded range is the smallest naturally aligned power-of-two block holding the request', () => {
    const smallest = (addr: bigint, size: bigint): { start: bigint; size: bigint } => {
      const end = addr + size - 1n;
      for (let k = 12n; k < 64n; k++) {
        const start = addr & ~((1n << k) - 1n);
        if (end < start + (1n << k)) return { start, size: 1n << k };
      }
      return { start: 0n, size: 1n << 64n };
    };
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: (1n << 60n) - 1n }),
        fc.bigInt({ min: 1n, max: 1n << 40n }),
        fc.nat(59),
        (a, s, shift) => {
          const addr = a >> BigInt(shift);
          const size = s >> BigInt(shift % 40) || 1n;
          const got = decodeInvalidationRange(
            build_inv_address(addr, size),
            (build_inv_address(addr, size) & 1n) === 1n,
          );
          const want = smallest(addr, size);
          if (want.size <= 1n << 52n) expect(got).toEqual(want);
          else expect(got).toEqual({ start: 0n, size: 1n << 64n }); // bit 51 or above differs: everything
        },
      ),
      { numRuns: 2000, seed: 7 },
    );
  });
});
