import { describe, expect, it } from 'vitest';
import { CacheMode, MemTypes, type CacheModeValue } from '../../runtime/mem/memtype.js';
import { seededRandom } from '../../runtime/fault/prng.js';

describe('MemTypes', () => {
  it('keeps runs: a range set UC reads back page by page, WB in the middle splits it', () => {
    const m = new MemTypes();
    m.setRange(0x100, 4, CacheMode.UC_MINUS);
    m.set(0x102, CacheMode.WB);
    expect(m.nonWb()).toEqual([
      [0x100, CacheMode.UC_MINUS],
      [0x101, CacheMode.UC_MINUS],
      [0x103, CacheMode.UC_MINUS],
    ]);
    expect(m.get(0x0ff)).toBe(CacheMode.WB);
    expect(m.get(0x101)).toBe(CacheMode.UC_MINUS);
    expect(m.get(0x102)).toBe(CacheMode.WB);
    expect(m.get(0x104)).toBe(CacheMode.WB);
  });

  it('answers as a map of one entry per page would, over random range updates', () => {
    const random = seededRandom(7);
    const modes: CacheModeValue[] = [CacheMode.WB, CacheMode.UC_MINUS, CacheMode.WC, CacheMode.UC];
    for (let round = 0; round < 20; round++) {
      const m = new MemTypes();
      const ref = new Map<number, CacheModeValue>();
      for (let op = 0; op < 60; op++) {
        const first = Math.floor(random() * 64);
        const count = Math.floor(random() * 12);
        const mode = modes[Math.floor(random() * modes.length)]!;
        if (count === 1 && random() < 0.5) m.set(first, mode);
        else m.setRange(first, count, mode);
        for (let pfn = first; pfn < first + count; pfn++) {
          if (mode === CacheMode.WB) ref.delete(pfn);
          else ref.set(pfn, mode);
        }
        expect(m.nonWb()).toEqual([...ref.entries()].sort((a, b) => a[0] - b[0]));
        for (let pfn = 0; pfn < 80; pfn++) expect(m.get(pfn)).toBe(ref.get(pfn) ?? CacheMode.WB);
      }
    }
  });
});
