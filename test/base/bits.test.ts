import { describe, expect, it } from 'vitest';
import { lower_32_bits, u64, upper_32_bits } from '../../runtime/base/bits.js';

describe('64-bit halves through the scratch word', () => {
  it('joins hi:lo into one u64', () => {
    expect(u64(0, 0)).toBe(0n);
    expect(u64(0x0000_0001, 0x8000_0000)).toBe(0x1_8000_0000n);
    expect(u64(0xffff_ffff, 0xffff_ffff)).toBe(0xffff_ffff_ffff_ffffn);
    expect(u64(0x000f_ffff, 0xffff_f000)).toBe(0x000f_ffff_ffff_f000n);
  });

  it('splits as lower_32_bits/upper_32_bits do on a u64, negative values in two complement', () => {
    expect([lower_32_bits(0x1234_5678_9abc_def0n), upper_32_bits(0x1234_5678_9abc_def0n)]).toEqual([
      0x9abc_def0, 0x1234_5678,
    ]);
    expect([lower_32_bits(-1n), upper_32_bits(-1n)]).toEqual([0xffff_ffff, 0xffff_ffff]);
    expect([lower_32_bits(-0x1000n), upper_32_bits(-0x1000n)]).toEqual([0xffff_f000, 0xffff_ffff]);
    // Bits above 63 are not part of a u64.
    expect([lower_32_bits((1n << 64n) | 5n), upper_32_bits((1n << 64n) | 5n)]).toEqual([5, 0]);
  });
});
