import { describe, expect, it } from 'vitest';
import { PfnTable } from '../../runtime/mem/pfn-table.js';

describe('PfnTable', () => {
  it('maps page frames to values across chunks, -1 where nothing was set', () => {
    const t = new PfnTable();
    // 4095 and 4096 sit in neighbouring 16 MiB chunks; 2^40 is far beyond 32-bit arithmetic.
    const frames = [0, 1, 4095, 4096, 2 ** 28 + 3, 2 ** 40];
    frames.forEach((pfn, i) => t.set(pfn, i * 1000));
    expect(frames.map((pfn) => t.get(pfn))).toEqual([0, 1000, 2000, 3000, 4000, 5000]);
    expect([2, 4094, 4097, 2 ** 28 + 2, 2 ** 40 - 1, -1].map((pfn) => t.get(pfn))).toEqual([-1, -1, -1, -1, -1, -1]);
    t.delete(4096);
    expect(t.get(4096)).toBe(-1);
    expect([...t.values()].sort((a, b) => a - b)).toEqual([0, 1000, 2000, 4000, 5000]);
  });

  it('keeps 8-bit cells within their range', () => {
    const t = new PfnTable(8);
    t.set(7, 126);
    expect(t.get(7)).toBe(126);
    expect(() => t.set(7, 127)).toThrow(/out of range/);
    expect(() => t.set(-1, 0)).toThrow(/out of range/);
  });
});
