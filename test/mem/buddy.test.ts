import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MAX_PAGE_ORDER, NodeBuddy } from '../../runtime/mem/buddy.js';
import { PhysMemory } from '../../runtime/mem/phys-memory.js';

function buddyFor(base: bigint, size: bigint): NodeBuddy {
  return new NodeBuddy(new PhysMemory([{ id: 0, base, size }]).nodes[0]!);
}

describe('NodeBuddy placement', () => {
  it('places mixed orders at hand-computed addresses (lowest free block that fits, split down)', () => {
    const b = buddyFor(0n, 64n << 20n);
    // Page frame numbers; 0x200 = 2 MiB, 0x400 = 4 MiB.
    expect(b.alloc(0)).toBe(0x0);
    expect(b.alloc(9)).toBe(0x200); // [0, 2M) is split, so the first whole 2 MiB block is at 2 MiB
    expect(b.alloc(2)).toBe(0x4); // split leftovers: 0x1(o0) 0x2(o1) 0x4(o2) 0x8(o3) ...
    expect(b.alloc(0)).toBe(0x1);
    expect(b.alloc(1)).toBe(0x2);
    expect(b.alloc(0)).toBe(0x8); // splits the order-3 block at 0x8
    expect(b.alloc(10)).toBe(0x400); // first never-split max-order block
    expect(b.alloc(0)).toBe(0x9);
    b.release(0x1, 0);
    expect(b.alloc(0)).toBe(0x1); // freed page is the lowest again
  });

  it('splits an unaligned node into naturally aligned blocks', () => {
    const b = buddyFor(0x1000n, 0x7000n); // pages 1..7: blocks 1(o0) 2(o1) 4(o2)
    expect(b.alloc(3)).toBeUndefined();
    expect(b.alloc(2)).toBe(4);
    expect(b.alloc(1)).toBe(2);
    expect(b.alloc(0)).toBe(1);
    expect(b.alloc(0)).toBeUndefined();
  });

  it('costs nothing for a terabyte node and serves its top', () => {
    const b = buddyFor(1n << 40n, 1n << 40n);
    expect(b.freePages).toBe(2 ** 28);
    expect(b.alloc(10)).toBe(2 ** 28);
    expect(b.freeBlocks(MAX_PAGE_ORDER)).toBe(2 ** 18 - 1);
  });
});

/** Brute-force reference: with full coalescing the lowest free block that fits is the lowest aligned free range. */
class BitmapReference {
  readonly free: boolean[];
  constructor(pages: number) {
    this.free = new Array<boolean>(pages).fill(true);
  }
  lowestFit(order: number): number | undefined {
    const n = 1 << order;
    for (let a = 0; a + n <= this.free.length; a += n) {
      let ok = true;
      for (let i = a; i < a + n && ok; i++) ok = this.free[i]!;
      if (ok) return a;
    }
    return undefined;
  }
  set(pfn: number, order: number, free: boolean): void {
    for (let i = pfn; i < pfn + (1 << order); i++) this.free[i] = free;
  }
}

describe('NodeBuddy against a brute-force reference', () => {
  it('agrees on every placement, never overlaps, and coalesces fully', () => {
    const PAGES = 4096; // 16 MiB: four max-order blocks
    const op = fc.oneof(
      fc.record({ kind: fc.constant('alloc' as const), order: fc.integer({ min: 0, max: MAX_PAGE_ORDER }) }),
      fc.record({ kind: fc.constant('free' as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const b = buddyFor(0n, BigInt(PAGES) * 4096n);
        const ref = new BitmapReference(PAGES);
        const live: [number, number][] = [];
        for (const o of ops) {
          if (o.kind === 'alloc') {
            const got = b.alloc(o.order);
            expect(got).toBe(ref.lowestFit(o.order));
            if (got === undefined) continue;
            expect(got % (1 << o.order)).toBe(0);
            ref.set(got, o.order, false);
            live.push([got, o.order]);
          } else if (live.length > 0) {
            const [pfn, order] = live.splice(o.pick % live.length, 1)[0]!;
            b.release(pfn, order);
            ref.set(pfn, order, true);
          }
          expect(b.freePages).toBe(ref.free.filter(Boolean).length);
        }
        for (const [pfn, order] of live) b.release(pfn, order);
        expect(b.freeBlocks(MAX_PAGE_ORDER)).toBe(PAGES >> MAX_PAGE_ORDER);
        for (let order = 0; order < MAX_PAGE_ORDER; order++) expect(b.freeBlocks(order)).toBe(0);
      }),
      { numRuns: 200, seed: 0x5eed },
    );
  });
});
