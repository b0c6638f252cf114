/**
 * Bit helpers on 64-bit values, named after the Linux functions they stand for (fls64, __ffs64), so ported
 * code reads like its source.
 */

const U64_MASK = (1n << 64n) - 1n;

/**
 * One 64-bit scratch word and its two 32-bit halves, low first (a little-endian host, which
 * runtime/mem/phys-memory.ts checks): joining or splitting through it costs one typed-array access instead of
 * a BigInt() conversion and bigint masks and shifts.
 */
const word = new BigUint64Array(1);
const halves = new Uint32Array(word.buffer);

/** The 64-bit value `hi:lo` of two uint32 halves, as one bigint. */
export function u64(hi: number, lo: number): bigint {
  halves[0] = lo;
  halves[1] = hi;
  return word[0]!;
}

/** lower_32_bits: bits 31:0 of `value` (as a u64: a negative value in two's complement). */
export function lower_32_bits(value: bigint): number {
  word[0] = value;
  return halves[0]!;
}

/** upper_32_bits: bits 63:32 of `value` (as a u64: a negative value in two's complement). */
export function upper_32_bits(value: bigint): number {
  word[0] = value;
  return halves[1]!;
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
