/**
 * Bit helpers on 64-bit values, named after the Linux functions they stand for (fls64, __ffs64), so ported
 * code reads like its source.
 */

const U64_MASK = (1n << 64n) - 1n;

/**
 * The 64-bit value `hi:lo` of two uint32 halves, as one bigint: made from an exact number when it is below
 * 2^53 (the common case for addresses), so it costs one allocation instead of four.
 */
export function u64(hi: number, lo: number): bigint {
  return hi < 0x20_0000 ? BigInt(hi * 0x1_0000_0000 + lo) : (BigInt(hi) << 32n) | BigInt(lo);
}

/** fls64: 1-based index of the highest set bit; 0 for 0. */
export function fls64(value: bigint): number {
  let v = value & U64_MASK;
  let n = 0;
  while (v >= 0x1_0000_0000n) {
    v >>= 32n;
    n += 32;
  }
  return n + (v === 0n ? 0 : 32 - Math.clz32(Number(v)));
}

/** __ffs64: 0-based index of the lowest set bit; undefined for 0 (as the kernel leaves it). */
export function ffs64(value: bigint): number | undefined {
  let v = value & U64_MASK;
  if (v === 0n) return undefined;
  let n = 0;
  while ((v & 0xffff_ffffn) === 0n) {
    v >>= 32n;
    n += 32;
  }
  const low = Number(v & 0xffff_ffffn);
  return n + 31 - Math.clz32(low & -low);
}
