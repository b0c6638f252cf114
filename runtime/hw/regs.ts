import { lower_32_bits as lo32, u64, upper_32_bits as hi32 } from '../base/bits.js';

/**
 * The IOMMU MMIO register file (AMD IOMMU spec, "MMIO Registers"; Linux amd_iommu_types.h MMIO_*), with the
 * per-register masks QEMU keeps: software writes change only read-write bits, a 1 written to a
 * write-1-to-clear bit clears it, and read-only bits change only from the hardware side.
 */
export const MMIO_DEV_TABLE_OFFSET = 0x0000;
export const MMIO_CMD_BUF_OFFSET = 0x0008;
export const MMIO_EVT_BUF_OFFSET = 0x0010;
export const MMIO_CONTROL_OFFSET = 0x0018;
export const MMIO_EXT_FEATURES = 0x0030;
export const MMIO_CMD_HEAD_OFFSET = 0x2000;
export const MMIO_CMD_TAIL_OFFSET = 0x2008;
export const MMIO_EVT_HEAD_OFFSET = 0x2010;
export const MMIO_EVT_TAIL_OFFSET = 0x2018;
export const MMIO_STATUS_OFFSET = 0x2020;

/** Control register bits (CONTROL_*_EN). */
export const CONTROL_IOMMU_EN = 1n << 0n;
export const CONTROL_EVT_LOG_EN = 1n << 2n;
export const CONTROL_EVT_INT_EN = 1n << 3n;
export const CONTROL_COMWAIT_EN = 1n << 4n;
export const CONTROL_CMDBUF_EN = 1n << 12n;
/** EFR bit 55: the part implements the vIOMMU (its commands, VF and VF_CNTL BARs). */
export const EFR_VIOMMU = 1n << 55n;
/** vIOMMU control bits (amd_iommu_types.h in the vIOMMU tree). */
export const CONTROL_VCMD_EN = 1n << 52n;
export const CONTROL_VIOMMU_EN = 1n << 53n;
export const CONTROL_GSTBUFFERTRPMODE = 1n << 60n;

/** Status register bits (MMIO_STATUS_*). */
export const STATUS_EVT_OVERFLOW = 1n << 0n;
export const STATUS_EVT_INT = 1n << 1n;
export const STATUS_COM_WAIT_INT = 1n << 2n;
export const STATUS_EVT_RUN = 1n << 3n;
export const STATUS_CMD_BUF_RUN = 1n << 4n;

/** Head and tail pointers hold byte offsets of 16-byte entries: bits 18:4. */
export const RING_PTR_MASK = 0x7fff0n;
const BASE_AND_LEN = 0x0f00_0000_0000_0000n | 0x000f_ffff_ffff_f000n; // bits 59:56 and 51:12

interface RegisterSpec {
  readonly rw: bigint;
  readonly w1c: bigint;
}

const REGISTERS: ReadonlyMap<number, RegisterSpec> = new Map([
  [MMIO_DEV_TABLE_OFFSET, { rw: 0x000f_ffff_ffff_f1ffn, w1c: 0n }], // base 51:12, size 8:0
  [MMIO_CMD_BUF_OFFSET, { rw: BASE_AND_LEN, w1c: 0n }],
  [MMIO_EVT_BUF_OFFSET, { rw: BASE_AND_LEN, w1c: 0n }],
  [MMIO_CONTROL_OFFSET, { rw: 0xffff_ffff_ffff_ffffn, w1c: 0n }],
  [MMIO_EXT_FEATURES, { rw: 0n, w1c: 0n }],
  [MMIO_CMD_HEAD_OFFSET, { rw: RING_PTR_MASK, w1c: 0n }],
  [MMIO_CMD_TAIL_OFFSET, { rw: RING_PTR_MASK, w1c: 0n }],
  [MMIO_EVT_HEAD_OFFSET, { rw: RING_PTR_MASK, w1c: 0n }],
  [MMIO_EVT_TAIL_OFFSET, { rw: RING_PTR_MASK, w1c: 0n }],
  [MMIO_STATUS_OFFSET, { rw: 0n, w1c: STATUS_EVT_OVERFLOW | STATUS_EVT_INT | STATUS_COM_WAIT_INT }],
]);

/** Each register's slot in the register file (REGISTERS order), by offset / 8; -1 where there is none. */
const SLOTS = new Int8Array(MMIO_STATUS_OFFSET / 8 + 1).fill(-1);
[...REGISTERS.keys()].forEach((offset, slot) => (SLOTS[offset / 8] = slot));

/**
 * The registers, held as 32-bit halves (low half first) as the BAR's dwords: readl and writel, and the
 * command processor's head and tail, work on numbers and make no bigint; 64-bit accesses join the halves.
 */
export class MmioRegisters {
  private readonly halves = new Uint32Array(REGISTERS.size * 2);
  /** Per half: the bits software writes take (RW) and the bits a written 1 clears (W1C). */
  private readonly rw = new Uint32Array(REGISTERS.size * 2);
  private readonly w1c = new Uint32Array(REGISTERS.size * 2);
  /** Moves on every write, software or hardware: what was read is unchanged while it stays the same. */
  generation = 0;

  /** `controlFixedZero`: control bits this IOMMU does not implement; they read 0 whatever is written. */
  constructor(extendedFeatures: bigint, controlFixedZero = 0n) {
    for (const [offset, spec] of REGISTERS) {
      const at = this.slot(offset);
      const rw = offset === MMIO_CONTROL_OFFSET ? spec.rw & ~controlFixedZero : spec.rw;
      [this.rw[at], this.rw[at + 1]] = [lo32(rw), hi32(rw)];
      [this.w1c[at], this.w1c[at + 1]] = [lo32(spec.w1c), hi32(spec.w1c)];
    }
    const features = this.slot(MMIO_EXT_FEATURES);
    [this.halves[features], this.halves[features + 1]] = [lo32(extendedFeatures), hi32(extendedFeatures)];
  }

  /** The index of the low half of the register at `offset` (8-byte aligned). */
  private slot(offset: number): number {
    const slot = offset % 8 === 0 ? (SLOTS[offset / 8] ?? -1) : -1;
    if (slot < 0) throw new RangeError(`no IOMMU register at MMIO offset 0x${offset.toString(16)}`);
    return slot * 2;
  }

  /** The half at `offset`: bit 2 picks the high half of the register at `offset & ~7`. */
  private half(offset: number): number {
    return this.slot(offset & ~7) + ((offset >>> 2) & 1);
  }

  /** What software reads. */
  read(offset: number): bigint {
    const at = this.slot(offset);
    return u64(this.halves[at + 1]!, this.halves[at]!);
  }

  /** What a 32-bit software read (readl) at `offset` gives. */
  read32(offset: number): number {
    return this.halves[this.half(offset)]!;
  }

  /** Whether any of `bits` is set in the register at `offset`. */
  test(offset: number, bits: bigint): boolean {
    if (bits <= 0xffff_ffffn) return (this.halves[this.slot(offset)]! & Number(bits)) !== 0;
    return (this.read(offset) & bits) !== 0n;
  }

  /** A software write: RW bits take the value, W1C bits clear where 1 is written, the rest stay. */
  write(offset: number, value: bigint): void {
    const at = this.slot(offset);
    this.generation++;
    this.store(at, lo32(value));
    this.store(at + 1, hi32(value));
  }

  /** A 32-bit software write (writel) at `offset`: the other half of the register is not written. */
  write32(offset: number, value: number): void {
    const at = this.half(offset);
    this.generation++;
    this.store(at, value >>> 0);
  }

  private store(at: number, value: number): void {
    const rw = this.rw[at]!;
    this.halves[at] = ((this.halves[at]! & ~rw) | (value & rw)) & ~(value & this.w1c[at]!);
  }

  /** A hardware-side update, which may set read-only and W1C bits. */
  hwSet(offset: number, value: bigint): void {
    const at = this.slot(offset);
    this.generation++;
    this.halves[at] = lo32(value);
    this.halves[at + 1] = hi32(value);
  }

  /** A hardware-side update of a register whose value fits 32 bits (the ring pointers). */
  hwSet32(offset: number, value: number): void {
    const at = this.slot(offset);
    this.generation++;
    this.halves[at] = value;
    this.halves[at + 1] = 0;
  }

  hwOr(offset: number, bits: bigint): void {
    this.hwSet(offset, this.read(offset) | bits);
  }

  hwClear(offset: number, bits: bigint): void {
    this.hwSet(offset, this.read(offset) & ~bits);
  }
}
