/**
 * The 256-bit device table entry, as far as host (v1) translation uses it (AMD IOMMU spec "Device Table Entry
 * Format"; Linux DTE_FLAG_*, DEV_ENTRY_MODE_*, DEV_DOMID_MASK).
 */
export interface DeviceTableEntry {
  readonly valid: boolean; // V, data[0] bit 0
  readonly translationValid: boolean; // TV, data[0] bit 1
  readonly mode: number; // data[0] bits 11:9: paging levels, 0 = no translation
  readonly rootPa: bigint; // data[0] bits 51:12
  readonly ir: boolean; // data[0] bit 61
  readonly iw: boolean; // data[0] bit 62
  readonly domainId: number; // data[1] bits 15:0
  readonly iotlb: boolean; // data[1] bit 32 (ATS)
}

export const DTE_SIZE = 32n;
const ROOT_MASK = 0x000f_ffff_ffff_f000n;

export function encodeDte(e: DeviceTableEntry): [bigint, bigint, bigint, bigint] {
  const d0 =
    (e.valid ? 1n : 0n) |
    (e.translationValid ? 2n : 0n) |
    (BigInt(e.mode & 7) << 9n) |
    (e.rootPa & ROOT_MASK) |
    (e.ir ? 1n << 61n : 0n) |
    (e.iw ? 1n << 62n : 0n);
  const d1 = BigInt(e.domainId & 0xffff) | (e.iotlb ? 1n << 32n : 0n);
  return [d0, d1, 0n, 0n];
}

export function decodeDte(d0: bigint, d1: bigint): DeviceTableEntry {
  return {
    valid: (d0 & 1n) !== 0n,
    translationValid: (d0 & 2n) !== 0n,
    mode: Number((d0 >> 9n) & 7n),
    rootPa: d0 & ROOT_MASK,
    ir: (d0 & (1n << 61n)) !== 0n,
    iw: (d0 & (1n << 62n)) !== 0n,
    domainId: Number(d1 & 0xffffn),
    iotlb: (d1 & (1n << 32n)) !== 0n,
  };
}
