/**
 * The VF BAR of a vIOMMU: one 4 KiB page per guest ID at gid × 0x1000 (fact sheet §3.5, §4.1). The VMM maps
 * a guest's page at the guest IOMMU's MMIO base + 0x2000, so the guest's own head/tail accesses reach the
 * hardware directly. The RFC's MMIO trap (RFC 18/21) names offset 0x0 as the guest command head and 0x8 as
 * the guest command tail, valid bits 18:4. The rest of the page is inferred: it mirrors the host MMIO page at
 * 0x2000 (event head 0x2010, tail 0x2018, status 0x2020). See ASSUMPTIONS.md beside this file.
 */

export const VF_GUEST_STRIDE = 0x1000;
export const VF_CMD_HEAD = 0x00;
export const VF_CMD_TAIL = 0x08;
export const VF_EVT_HEAD = 0x10;
export const VF_EVT_TAIL = 0x18;
export const VF_STATUS = 0x20;

/** Head and tail hold byte offsets of 16-byte entries: bits 18:4 (the RFC masks them with 0x7FFF0). */
export const VF_RING_PTR_MASK = 0x7fff0n;
/** Status bit 2, ComWaitInt (as MMIO_STATUS_COM_WAIT_INT of the host page): write 1 to clear. */
export const VF_STATUS_COM_WAIT_INT = 1n << 2n;

interface VfRegisterSpec {
  readonly rw: bigint;
  readonly w1c: bigint;
}

const REGISTERS: ReadonlyMap<number, VfRegisterSpec> = new Map([
  [VF_CMD_HEAD, { rw: VF_RING_PTR_MASK, w1c: 0n }],
  [VF_CMD_TAIL, { rw: VF_RING_PTR_MASK, w1c: 0n }],
  [VF_EVT_HEAD, { rw: VF_RING_PTR_MASK, w1c: 0n }],
  [VF_EVT_TAIL, { rw: VF_RING_PTR_MASK, w1c: 0n }],
  [VF_STATUS, { rw: 0n, w1c: VF_STATUS_COM_WAIT_INT }],
]);

/** A register of the VF BAR: which guest's page, and which register in it (undefined: not implemented). */
export function vfRegisterAt(offset: number): { gid: number; reg: number; known: boolean } {
  const gid = Math.floor(offset / VF_GUEST_STRIDE);
  const reg = offset % VF_GUEST_STRIDE;
  return { gid, reg, known: REGISTERS.has(reg) && offset % 8 === 0 };
}

/**
 * The guests' VF pages as a register file with masks: a software write changes only read-write bits and
 * clears write-1-to-clear bits; unimplemented offsets read 0 and ignore writes. Sparse: only guests whose
 * page was ever written hold state.
 */
export class VfRegisters {
  private readonly values = new Map<number, bigint>();

  read(offset: number): bigint {
    return this.values.get(offset) ?? 0n;
  }

  /** A software (guest or VMM) write. Returns whether the offset is an implemented register. */
  write(offset: number, value: bigint): boolean {
    const { reg, known } = vfRegisterAt(offset);
    if (!known) return false;
    const spec = REGISTERS.get(reg)!;
    const old = this.read(offset);
    this.set(offset, ((old & ~spec.rw) | (value & spec.rw)) & ~(value & spec.w1c));
    return true;
  }

  /** A hardware-side update (head movement, status bits). */
  hwSet(offset: number, value: bigint): void {
    this.set(offset, value);
  }

  /** Registers of one guest's page that hold a non-zero value, by offset within the page. */
  guestRegisters(gid: number): { offset: number; value: bigint }[] {
    const out: { offset: number; value: bigint }[] = [];
    for (const reg of REGISTERS.keys()) {
      const value = this.read(gid * VF_GUEST_STRIDE + reg);
      if (value) out.push({ offset: reg, value });
    }
    return out;
  }

  /** Guest IDs whose page holds any non-zero register, ascending. */
  guests(): number[] {
    return [...new Set([...this.values.keys()].map((o) => Math.floor(o / VF_GUEST_STRIDE)))].sort((a, b) => a - b);
  }

  /** Zeroes the given registers of one guest's page (RESET_VMMIO). */
  reset(gid: number, regs: readonly number[]): void {
    for (const reg of regs) this.values.delete(gid * VF_GUEST_STRIDE + reg);
  }

  private set(offset: number, value: bigint): void {
    if (value) this.values.set(offset, value);
    else this.values.delete(offset);
  }
}
