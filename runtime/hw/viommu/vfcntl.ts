/**
 * The VF_CNTL BAR of a vIOMMU: 64 bytes of registers per guest ID (fact sheet §4.2, from the driver's
 * macros at AMDESE/linux-iommu @ 06c926bd). Offsets 0x00 and 0x08 are write ports: a value with bit 63 set
 * asks the hardware to store one guest→host ID mapping into that guest's DevID or DomID table, which live in
 * the IOMMU's private address space. How and in what format it stores them has no public text: see
 * ASSUMPTIONS.md beside this file.
 */

export const VFCTRL_GUEST_STRIDE = 0x40;
export const GUEST_DID_MAP_CONTROL0 = 0x00;
export const GUEST_DID_MAP_CONTROL1 = 0x08;
export const GUEST_MISC_CONTROL = 0x10;
/** The guest's queue registers: 3:0 length code, 8 enable, 51:12 base GPA (PPR: base at 55:16). */
export const GUEST_COMMAND_CONTROL = 0x20;
export const GUEST_EVENT_CONTROL = 0x28;
export const GUEST_PPR_CONTROL = 0x30;
export const COMMAND_CONTROL_CMDBUF_EN = 1n << 8n;
export const COMMAND_CONTROL_COMWAIT_INT_EN = 1n << 9n;

const MAP_WRITE = 1n << 63n;
const MAP_VALID = 1n;
const field = (v: bigint, lo: bigint): number => Number((v >> lo) & 0xffffn);

/** Private-space layout of the per-guest tables (viommu.c VIOMMU_*_MAPPING_*). */
export const DEVID_MAP_BASE = 0x10_0000_0000n;
export const DEVID_MAP_ENTRY_SIZE = 1n << 20n;
export const DOMID_MAP_BASE = 0x20_0000_0000n;
export const DOMID_MAP_ENTRY_SIZE = 1n << 19n;

/** One store the hardware makes into a guest table, at an IPA of its private space. */
export interface MapStore {
  readonly table: 'devid' | 'domid';
  readonly gid: number;
  readonly guestId: number;
  readonly hostId: number;
  readonly valid: boolean;
}

export interface VfCntlHooks {
  /** Writes a qword at an IPA through the IOMMU's own DTE; false when the translation faulted. */
  ipaWrite(ipa: bigint, value: bigint): boolean;
  /** A guest's command control (0x20) was written: its command processor may have work now. */
  commandControlWritten?(gid: number): void;
}

export class VfCntlRegisters {
  /** Sparse: only the registers ever written, by BAR offset. */
  private readonly values = new Map<number, bigint>();
  stores = 0;
  /** Table stores whose IPA translation faulted, by table and guest: how many, and the first IPA. */
  readonly faultedStores = new Map<
    string,
    { table: MapStore['table']; gid: number; count: number; firstIpa: bigint }
  >();

  constructor(
    private readonly hooks: VfCntlHooks,
    /** Whether a map-port write stores into the guest's table (the `did_map_stores` assumption). */
    readonly storeMaps: boolean,
  ) {}

  read(offset: number): bigint {
    return this.values.get(offset) ?? 0n;
  }

  write(offset: number, value: bigint): void {
    const gid = Math.floor(offset / VFCTRL_GUEST_STRIDE);
    const reg = offset % VFCTRL_GUEST_STRIDE;
    if ((reg === GUEST_DID_MAP_CONTROL0 || reg === GUEST_DID_MAP_CONTROL1) && value & MAP_WRITE) {
      // A write port: the trigger is consumed, the register keeps the mapping last written.
      this.values.set(offset, value & ~MAP_WRITE);
      if (this.storeMaps) {
        this.store({
          table: reg === GUEST_DID_MAP_CONTROL0 ? 'devid' : 'domid',
          gid,
          guestId: field(value, 46n),
          hostId: field(value, 14n),
          valid: (value & MAP_VALID) !== 0n,
        });
      }
      return;
    }
    this.values.set(offset, value);
    if (reg === GUEST_COMMAND_CONTROL) this.hooks.commandControlWritten?.(gid);
  }

  /** Zeroes the given registers of one guest's block (RESET_VMMIO). */
  reset(gid: number, regs: readonly number[]): void {
    for (const reg of regs) this.values.delete(gid * VFCTRL_GUEST_STRIDE + reg);
  }

  /** Guest IDs whose block holds any non-zero register, ascending. */
  guestsWithRegisters(): number[] {
    const gids = new Set<number>();
    for (const [offset, value] of this.values) if (value) gids.add(Math.floor(offset / VFCTRL_GUEST_STRIDE));
    return [...gids].sort((a, b) => a - b);
  }

  /** Registers of one guest that hold a non-zero value, by offset within its block. */
  guestRegisters(gid: number): { offset: number; value: bigint }[] {
    const out: { offset: number; value: bigint }[] = [];
    for (let reg = 0; reg < VFCTRL_GUEST_STRIDE; reg += 8) {
      const value = this.read(gid * VFCTRL_GUEST_STRIDE + reg);
      if (value) out.push({ offset: reg, value });
    }
    return out;
  }

  private store(s: MapStore): void {
    // DevID table: 16-byte entries indexed by guest DevID, host DevID at bits 39:24 of the first qword
    // (the RFC's read-back code); DomID table: 8-byte entries indexed by guest DomID, the same encoding.
    const ipa =
      s.table === 'devid'
        ? DEVID_MAP_BASE + BigInt(s.gid) * DEVID_MAP_ENTRY_SIZE + BigInt(s.guestId) * 16n
        : DOMID_MAP_BASE + BigInt(s.gid) * DOMID_MAP_ENTRY_SIZE + BigInt(s.guestId) * 8n;
    const entry = (BigInt(s.hostId) << 24n) | (s.valid ? 1n : 0n);
    this.stores++;
    if (this.hooks.ipaWrite(ipa, entry)) return;
    const key = `${s.table}:${s.gid}`;
    const seen = this.faultedStores.get(key);
    if (seen) seen.count++;
    else this.faultedStores.set(key, { table: s.table, gid: s.gid, count: 1, firstIpa: ipa });
  }
}
