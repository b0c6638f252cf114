import { lower_32_bits, u64, upper_32_bits } from '../base/bits.js';

/**
 * IOMMU commands as the hardware reads them out of the ring: four little-endian 32-bit words, opcode in
 * word 1 bits 31:28 (AMD IOMMU spec "Commands"; Linux struct iommu_cmd, CMD_*). A set reserved bit or an
 * unknown opcode makes the command illegal.
 */
export type CommandWords = readonly [number, number, number, number];

export const CMD_COMPL_WAIT = 0x1;
export const CMD_INV_DEV_ENTRY = 0x2;
export const CMD_INV_IOMMU_PAGES = 0x3;
export const CMD_INV_IOTLB_PAGES = 0x4;
export const CMD_INV_IRT = 0x5;
export const CMD_COMPLETE_PPR = 0x7;
export const CMD_INV_ALL = 0x8;
/** RESET_VMMIO (vIOMMU tree, amd_iommu_types.h): reset a guest's virtualised MMIO registers. */
export const CMD_RESET_VMMIO = 0xa;

/** An invalidated IOVA range: [start, start + size); size 2^64 means everything. */
export interface InvalidatedRange {
  readonly start: bigint;
  readonly size: bigint;
}

export type Command =
  | {
      readonly op: 'COMPLETION_WAIT';
      readonly store: boolean;
      readonly interrupt: boolean;
      readonly flush: boolean;
      readonly semaphorePa: bigint;
      readonly data: bigint;
    }
  | { readonly op: 'INVALIDATE_DEVTAB_ENTRY'; readonly deviceId: number }
  | {
      readonly op: 'INVALIDATE_IOMMU_PAGES';
      readonly domainId: number;
      readonly pasid: number;
      readonly s: boolean;
      readonly pde: boolean;
      readonly gn: boolean;
      readonly address: bigint;
      readonly range: InvalidatedRange;
    }
  | {
      readonly op: 'INVALIDATE_IOTLB_PAGES';
      readonly deviceId: number;
      readonly maxPending: number;
      readonly pasid: number;
      readonly s: boolean;
      readonly gn: boolean;
      readonly address: bigint;
      readonly range: InvalidatedRange;
    }
  | { readonly op: 'INVALIDATE_INTERRUPT_TABLE'; readonly deviceId: number }
  | {
      readonly op: 'COMPLETE_PPR_REQUEST';
      readonly deviceId: number;
      readonly pasid: number;
      readonly gn: boolean;
      readonly tag: number;
      readonly status: number;
    }
  | { readonly op: 'INVALIDATE_IOMMU_ALL' }
  /** Word 0: guest ID 15:0, bit 28 `all`, bit 31 `vcmd` (build_reset_vmmio's parameter names). */
  | { readonly op: 'RESET_VMMIO'; readonly gid: number; readonly all: boolean; readonly vcmd: boolean };

export type DecodeResult =
  { readonly ok: true; readonly command: Command } | { readonly ok: false; readonly reason: string };

/** Reserved bits per opcode and word; a command with any of them set is illegal. */
const RESERVED: Readonly<Record<number, CommandWords>> = {
  [CMD_COMPL_WAIT]: [0, 0x0ff0_0000, 0, 0],
  [CMD_INV_DEV_ENTRY]: [0xffff_0000, 0x0fff_ffff, 0xffff_ffff, 0xffff_ffff],
  [CMD_INV_IOMMU_PAGES]: [0xfff0_0000, 0x0fff_0000, 0x0000_0ff8, 0],
  [CMD_INV_IOTLB_PAGES]: [0, 0, 0x0000_0ffa, 0],
  [CMD_INV_IRT]: [0xffff_0000, 0x0fff_ffff, 0xffff_ffff, 0xffff_ffff],
  [CMD_COMPLETE_PPR]: [0xffff_0000, 0x0ff0_0000, 0xffff_fffb, 0xffff_0e00],
  [CMD_INV_ALL]: [0xffff_ffff, 0x0fff_ffff, 0xffff_ffff, 0xffff_ffff],
  [CMD_RESET_VMMIO]: [0x6fff_0000, 0x0fff_ffff, 0xffff_ffff, 0xffff_ffff],
};

export function opcodeOf(words: CommandWords): number {
  return words[1] >>> 28;
}

/**
 * The range an invalidation of the 64-bit `address` covers. S=0: the one 4 KiB page. S=1: the size is
 * 2^(z+1) where z is the lowest zero bit of the address at or above bit 12, and the range is that size,
 * naturally aligned.
 */
export function decodeInvalidationRange(address: bigint, s: boolean): InvalidatedRange {
  const page = address & ~0xfffn;
  return invalidationRange(page, lower_32_bits(page), upper_32_bits(page), s);
}

/**
 * decodeInvalidationRange of the 4 KiB-aligned `page`, whose halves are `lo` (bits 11:0 ignored) and `hi`:
 * the search for z runs on the halves as numbers, so the range costs three bigint operations.
 */
function invalidationRange(page: bigint, lo: number, hi: number, s: boolean): InvalidatedRange {
  if (!s) return { start: page, size: 0x1000n };
  const ones = (lo | 0xfff) >>> 0; // bits 11:0 count as set: z is at or above 12
  const z = ones !== 0xffff_ffff ? lowestZero(ones) : hi !== 0xffff_ffff ? 32 + lowestZero(hi) : 64;
  if (z >= 63) return { start: 0n, size: 1n << 64n };
  const size = POW2[z + 1]!;
  return { start: page & ~(size - 1n), size };
}

const POW2: readonly bigint[] = Array.from({ length: 64 }, (_, n) => 1n << BigInt(n));

/** The lowest zero bit of a uint32 that has one (x + 1 carries through the ones below it). */
function lowestZero(x: number): number {
  return 31 - Math.clz32((x + 1) & ~x);
}

/** The address of an invalidation: word 3 holds bits 63:32, word 2 bits 31:12. */
function invalidationAddress(w2: number, w3: number): bigint {
  return u64(w3 >>> 0, (w2 & 0xffff_f000) >>> 0);
}

export function decodeCommand(words: CommandWords): DecodeResult {
  const op = opcodeOf(words);
  const reserved = RESERVED[op];
  if (!reserved) return { ok: false, reason: `unknown opcode 0x${op.toString(16)}` };
  for (let i = 0; i < 4; i++) {
    const bad = (words[i]! & reserved[i]!) >>> 0;
    if (bad) return { ok: false, reason: `reserved bits 0x${bad.toString(16)} set in word ${i}` };
  }
  const w0 = words[0];
  const w1 = words[1];
  const w2 = words[2];
  const w3 = words[3];
  switch (op) {
    case CMD_COMPL_WAIT:
      return {
        ok: true,
        command: {
          op: 'COMPLETION_WAIT',
          store: (w0 & 1) !== 0,
          interrupt: (w0 & 2) !== 0,
          flush: (w0 & 4) !== 0,
          semaphorePa: u64(w1 & 0xf_ffff, (w0 & 0xffff_fff8) >>> 0),
          data: u64(w3 >>> 0, w2 >>> 0),
        },
      };
    case CMD_INV_DEV_ENTRY:
      return { ok: true, command: { op: 'INVALIDATE_DEVTAB_ENTRY', deviceId: w0 & 0xffff } };
    case CMD_INV_IOMMU_PAGES: {
      const s = (w2 & 1) !== 0;
      const address = invalidationAddress(w2, w3);
      return {
        ok: true,
        command: {
          op: 'INVALIDATE_IOMMU_PAGES',
          domainId: w1 & 0xffff,
          pasid: w0 & 0xf_ffff,
          s,
          pde: (w2 & 2) !== 0,
          gn: (w2 & 4) !== 0,
          address,
          range: invalidationRange(address, w2 >>> 0, w3 >>> 0, s),
        },
      };
    }
    case CMD_INV_IOTLB_PAGES: {
      const s = (w2 & 1) !== 0;
      const address = invalidationAddress(w2, w3);
      const pasid = ((w1 >>> 16) & 0xff) | (((w0 >>> 16) & 0xff) << 8) | (((w1 >>> 24) & 0xf) << 16);
      return {
        ok: true,
        command: {
          op: 'INVALIDATE_IOTLB_PAGES',
          deviceId: w0 & 0xffff,
          maxPending: (w0 >>> 24) & 0xff,
          pasid,
          s,
          gn: (w2 & 4) !== 0,
          address,
          range: invalidationRange(address, w2 >>> 0, w3 >>> 0, s),
        },
      };
    }
    case CMD_INV_IRT:
      return { ok: true, command: { op: 'INVALIDATE_INTERRUPT_TABLE', deviceId: w0 & 0xffff } };
    case CMD_COMPLETE_PPR:
      return {
        ok: true,
        command: {
          op: 'COMPLETE_PPR_REQUEST',
          deviceId: w0 & 0xffff,
          pasid: w1 & 0xf_ffff,
          gn: (w2 & 4) !== 0,
          tag: w3 & 0x1ff,
          status: (w3 >>> 12) & 0xf,
        },
      };
    case CMD_RESET_VMMIO:
      return {
        ok: true,
        command: { op: 'RESET_VMMIO', gid: w0 & 0xffff, all: (w0 & (1 << 28)) !== 0, vcmd: (w0 & (1 << 31)) !== 0 },
      };
    default:
      return { ok: true, command: { op: 'INVALIDATE_IOMMU_ALL' } };
  }
}
