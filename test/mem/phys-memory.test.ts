import { describe, expect, it } from 'vitest';
import { PhysMemory, type PageFact } from '../../runtime/mem/phys-memory.js';
import { fork } from '../../runtime/base/fork.js';
import { ModelBugError } from '../../runtime/base/model-bug.js';
import { phys_to_virt, virt_to_phys } from '../../runtime/mem/direct-map.js';

describe('PhysMemory', () => {
  const TiB = 1n << 40n;
  it('reads zero from untouched memory and only materialises written pages', () => {
    const m = new PhysMemory([{ id: 0, base: 0n, size: 4n * TiB }]);
    expect(m.read64(3n * TiB + 0x1238n)).toBe(0n);
    expect(m.touchedPages).toBe(0);
    m.write64(3n * TiB + 0x1238n, 0xfedc_ba98_7654_3210n);
    expect(m.touchedPages).toBe(1);
    expect(m.read64(3n * TiB + 0x1238n)).toBe(0xfedc_ba98_7654_3210n);
  });

  it('is little-endian: the low 32-bit word of a 64-bit value sits at the lower address', () => {
    const m = new PhysMemory([{ id: 0, base: 0n, size: 1n << 20n }]);
    m.write64(0x1000n, 0x1122_3344_5566_7788n);
    expect(m.read32(0x1000n)).toBe(0x5566_7788);
    expect(m.read32(0x1004n)).toBe(0x1122_3344);
    m.write32(0x1004n, 0xaabb_ccdd);
    expect(m.read64(0x1000n)).toBe(0xaabb_ccdd_5566_7788n);
  });

  it('writes a qword from its 32-bit halves, and forgets the halves view when the page is zeroed', () => {
    const m = new PhysMemory([{ id: 0, base: 0n, size: 1n << 20n }]);
    m.write64Halves(0x3, 0x18, 0x5566_7788, 0x1122_3344);
    expect(m.read64(0x3018n)).toBe(0x1122_3344_5566_7788n);
    m.zeroPages(0x3, 1);
    expect(m.read64(0x3018n)).toBe(0n);
    m.write64Halves(0x3, 0x18, 1, 0);
    expect(m.read64(0x3018n)).toBe(1n);
    expect(() => m.write64Halves(0x3, 0x1c, 0, 0)).toThrow(ModelBugError);
    expect(() => m.write64Halves(0x100, 0, 0, 0)).toThrow(ModelBugError);
  });

  it('works out a fact of a page shared with a fork once, and leaves a page either side writes to its reader', () => {
    const m = new PhysMemory([{ id: 0, base: 0n, size: 1n << 30n }]);
    m.write64(0x5008n, 0x1234n);
    let asked = 0;
    const secondLow: PageFact = { of: (page) => (asked++, page[2]!) };
    expect(m.sharedPageFact(5, secondLow)).toBeUndefined(); // its own page: it may still change
    const copy = fork(m);
    expect(m.sharedPageFact(5, secondLow)).toBe(0x1234);
    expect(copy.sharedPageFact(5, secondLow)).toBe(0x1234);
    expect(asked).toBe(1);
    copy.write64(0x5008n, 0x5678n); // the copy's write copies the page: the original's stays shared
    expect(copy.sharedPageFact(5, secondLow)).toBeUndefined();
    expect(m.sharedPageFact(5, secondLow)).toBe(0x1234);
    expect(copy.read64(0x5008n)).toBe(0x5678n);
    expect(asked).toBe(1);
  });

  it('refuses accesses outside every node as a model bug', () => {
    const m = new PhysMemory([{ id: 0, base: 0x10_0000n, size: 0x10_0000n }]);
    expect(() => m.read64(0n)).toThrow(ModelBugError);
    expect(() => m.write64(0x20_0000n, 1n)).toThrow(ModelBugError);
  });

  it('maps the direct map at PAGE_OFFSET 0xffff888000000000', () => {
    expect(phys_to_virt(0x1234_5000n)).toBe(0xffff_8880_1234_5000n);
    expect(virt_to_phys(0xffff_8880_1234_5000n)).toBe(0x1234_5000n);
    expect(() => virt_to_phys(0x1234n)).toThrow(ModelBugError);
  });
});
