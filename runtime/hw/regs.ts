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

export class MmioRegisters {
  private readonly values = new Map<number, bigint>();
  /** Moves on every write, software or hardware: what was read is unchanged while it stays the same. */
  generation = 0;

  /** `controlFixedZero`: control bits this IOMMU does not implement; they read 0 whatever is written. */
  constructor(
    extendedFeatures: bigint,
    private readonly controlFixedZero = 0n,
  ) {
    for (const offset of REGISTERS.keys()) this.values.set(offset, 0n);
    this.values.set(MMIO_EXT_FEATURES, extendedFeatures);
  }

  private spec(offset: number): RegisterSpec {
    const spec = REGISTERS.get(offset);
    if (!spec) throw new RangeError(`no IOMMU register at MMIO offset 0x${offset.toString(16)}`);
    return spec;
  }

  /** What software reads. */
  read(offset: number): bigint {
    this.spec(offset);
    return this.values.get(offset)!;
  }

  /** A software write: RW bits take the value, W1C bits clear where 1 is written, the rest stay. */
  write(offset: number, value: bigint): void {
    const spec = this.spec(offset);
    const rw = offset === MMIO_CONTROL_OFFSET ? spec.rw & ~this.controlFixedZero : spec.rw;
    const { w1c } = spec;
    const old = this.values.get(offset)!;
    this.generation++;
    this.values.set(offset, ((old & ~rw) | (value & rw)) & ~(value & w1c));
  }

  /** A hardware-side update, which may set read-only and W1C bits. */
  hwSet(offset: number, value: bigint): void {
    this.spec(offset);
    this.generation++;
    this.values.set(offset, value);
  }

  hwOr(offset: number, bits: bigint): void {
    this.hwSet(offset, this.read(offset) | bits);
  }

  hwClear(offset: number, bits: bigint): void {
    this.hwSet(offset, this.read(offset) & ~bits);
  }
}
