/**
 * Bit-field helpers on 64-bit values, named after the Linux macros they stand for (GENMASK, FIELD_GET,
 * FIELD_PREP, fls64, __ffs64) so ported code reads like its source.
 */

export const U64_MASK = (1n << 64n) - 1n;

/** GENMASK_ULL(hi, lo): bits hi..lo set. */
export function genmask(hi: number, lo: number): bigint {
  if (hi < lo || lo < 0 || hi > 63) throw new RangeError(`genmask(${hi}, ${lo})`);
  return ((1n << BigInt(hi - lo + 1)) - 1n) << BigInt(lo);
}

export function bit(n: number): bigint {
  return 1n << BigInt(n);
}

/** Index of the lowest set bit of a mask (the shift FIELD_GET/FIELD_PREP derive from it). */
function maskShift(mask: bigint): bigint {
  if (mask === 0n) throw new RangeError('empty field mask');
  let shift = 0n;
  while (((mask >> shift) & 1n) === 0n) shift++;
  return shift;
}

export function fieldGet(mask: bigint, value: bigint): bigint {
  return (value & mask) >> maskShift(mask);
}

export function fieldPrep(mask: bigint, value: bigint): bigint {
  const shifted = value << maskShift(mask);
  if ((shifted & ~mask) !== 0n) throw new RangeError(`value 0x${value.toString(16)} does not fit field 0x${mask.toString(16)}`);
  return shifted;
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

/** Reinterpret an unsigned 64-bit value as s64 (for the kernel's `(s64)(a - b) < 0` comparisons). */
export function asS64(value: bigint): bigint {
  return BigInt.asIntN(64, value);
}

export function asU64(value: bigint): bigint {
  return BigInt.asUintN(64, value);
}

export function isPowerOfTwo(value: bigint): boolean {
  return value > 0n && (value & (value - 1n)) === 0n;
}

/** Hex without prefix, for diagnostics. */
export function hex(value: bigint | number): string {
  return '0x' + value.toString(16);
}
