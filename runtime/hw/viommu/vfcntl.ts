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
/** Bit 63 (the write trigger) as a bit of the upper 32-bit half. */
const MAP_WRITE_HI = 0x8000_0000;
/** A register value's 32-bit halves without making a bigint: store it here, read `halves` (little-endian
 * host, checked by runtime/mem/phys-memory.ts). */
const scratch = new BigUint64Array(1);
const halves = new Uint32Array(scratch.buffer);
const isMapPort = (offset: number): boolean => {
  const reg = offset % VFCTRL_GUEST_STRIDE;
  return reg === GUEST_DID_MAP_CONTROL0 || reg === GUEST_DID_MAP_CONTROL1;
};

/** Private-space layout of the per-guest tables (viommu.c VIOMMU_*_MAPPING_*). */
export const DEVID_MAP_BASE = 0x10_0000_0000n;
export const DEVID_MAP_ENTRY_SIZE = 1n << 20n;
export const DOMID_MAP_BASE = 0x20_0000_0000n;
export const DOMID_MAP_ENTRY_SIZE = 1n << 19n;
/** The same layout in page frames and bytes, for the store path (which runs 131072 times per clear loop). */
const DEVID_MAP_BASE_PFN = Number(DEVID_MAP_BASE >> 12n);
const DOMID_MAP_BASE_PFN = Number(DOMID_MAP_BASE >> 12n);
const DEVID_MAP_ENTRY_PAGES = Number(DEVID_MAP_ENTRY_SIZE >> 12n);
const DOMID_MAP_ENTRY_PAGES = Number(DOMID_MAP_ENTRY_SIZE >> 12n);

/** One store the hardware makes into a guest table, at an IPA of its private space. */
export interface MapStore {
  readonly table: 'devid' | 'domid';
  readonly gid: number;
  readonly guestId: number;
  readonly hostId: number;
  readonly valid: boolean;
}

export interface VfCntlHooks {
  /**
   * Writes a qword at an IPA through the IOMMU's own DTE; false when the translation faulted. The IPA comes
   * as its page frame and byte offset in the page, the qword as its low and high 32-bit halves: numbers, so
   * a clear loop's 131072 stores make no bigint on the way when the translation is memoised.
   */
  ipaWrite(ipaPfn: number, offset: number, lo: number, hi: number): boolean;
  /** A guest's command control (0x20) was written: its command processor may have work now. */
  commandControlWritten?(gid: number): void;
}

export class VfCntlRegisters {
  /**
   * Sparse: only the registers ever written, by BAR offset, as written. A map port never reads back its
   * trigger (bit 63): a write with it set keeps the rest, one without it has it clear, so reads mask it.
   */
  private readonly values = new Map<number, bigint>();
  stores = 0;
  /** Table stores whose IPA translation faulted, by table and guest: how many, and the first IPA. */
  readonly faultedStores = new Map<
    string,
    { table: MapStore['table']; gid: number; count: number; firstIpa: bigint }
  >();
  /** The entry of faultedStores the last faulted store counted in (only this class writes the map). */
  private lastFaulted: { table: MapStore['table']; gid: number; count: number; firstIpa: bigint } | undefined;

  constructor(
    private readonly hooks: VfCntlHooks,
    /** Whether a map-port write stores into the guest's table (the `did_map_stores` assumption). */
    readonly storeMaps: boolean,
  ) {}

  read(offset: number): bigint {
    const value = this.values.get(offset);
    if (value === undefined) return 0n;
    return isMapPort(offset) ? value & ~MAP_WRITE : value;
  }

  write(offset: number, value: bigint): void {
    const gid = Math.floor(offset / VFCTRL_GUEST_STRIDE);
    const reg = offset % VFCTRL_GUEST_STRIDE;
    this.values.set(offset, value);
    if (reg === GUEST_DID_MAP_CONTROL0 || reg === GUEST_DID_MAP_CONTROL1) {
      // The fields from the 32-bit halves: guest ID 61:46, host ID 29:14, valid 0, write 63.
      scratch[0] = value;
      const lo = halves[0]!;
      const hi = halves[1]!;
      // A write port: the trigger is consumed (reads mask it), the register keeps the mapping last written.
      if (hi >= MAP_WRITE_HI && this.storeMaps)
        this.store(
          reg === GUEST_DID_MAP_CONTROL0 ? 'devid' : 'domid',
          gid,
          (hi >>> 14) & 0xffff,
          (lo >>> 14) & 0xffff,
          lo & 1,
        );
      return;
    }
    if (reg === GUEST_COMMAND_CONTROL) this.hooks.commandControlWritten?.(gid);
  }

  /** Zeroes the given registers of one guest's block (RESET_VMMIO). */
  reset(gid: number, regs: readonly number[]): void {
    for (const reg of regs) this.values.delete(gid * VFCTRL_GUEST_STRIDE + reg);
  }

  /** Guest IDs whose block holds any non-zero register, ascending. */
  guestsWithRegisters(): number[] {
    const gids = new Set<number>();
    for (const offset of this.values.keys()) if (this.read(offset)) gids.add(Math.floor(offset / VFCTRL_GUEST_STRIDE));
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

  private store(table: MapStore['table'], gid: number, guestId: number, hostId: number, valid: number): void {
    // DevID table: 16-byte entries indexed by guest DevID, host DevID at bits 39:24 of the first qword
    // (the RFC's read-back code); DomID table: 8-byte entries indexed by guest DomID, the same encoding.
    const devid = table === 'devid';
    const byte = devid ? guestId * 16 : guestId * 8;
    const pfn =
      (devid ? DEVID_MAP_BASE_PFN + gid * DEVID_MAP_ENTRY_PAGES : DOMID_MAP_BASE_PFN + gid * DOMID_MAP_ENTRY_PAGES) +
      Math.floor(byte / 4096);
    const inPage = byte % 4096;
    // The entry (hostId << 24) | valid: host ID bits 7:0 in the low half, 15:8 in the high half.
    this.stores++;
    if (this.hooks.ipaWrite(pfn, inPage, (((hostId & 0xff) << 24) | valid) >>> 0, hostId >>> 8)) return;
    const last = this.lastFaulted;
    if (last !== undefined && last.table === table && last.gid === gid) {
      last.count++;
      return;
    }
    const key = `${table}:${gid}`;
    const seen = this.faultedStores.get(key);
    if (seen) seen.count++;
    else this.faultedStores.set(key, { table, gid, count: 1, firstIpa: (BigInt(pfn) << 12n) | BigInt(inPage) });
    this.lastFaulted = this.faultedStores.get(key);
  }
}
