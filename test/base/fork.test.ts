import { describe, expect, it } from 'vitest';
import { fork, pure, UnforkableError } from '../../runtime/base/fork.js';
import { Meter, DEFAULT_BUDGET } from '../../runtime/base/budget.js';
import { PhysMemory } from '../../runtime/mem/phys-memory.js';

class Counter {
  n = 0;
  constructor(readonly peer?: Counter) {}
  bump(): number {
    return ++this.n;
  }
}

describe('fork', () => {
  it('copies class instances, keeping their methods, and leaves the original alone', () => {
    const a = new Counter();
    a.bump();
    const b = fork(a);
    expect(b).toBeInstanceOf(Counter);
    expect(b).not.toBe(a);
    expect(b.bump()).toBe(2);
    expect(a.n).toBe(1);
  });

  it('keeps shared references shared and cycles closed', () => {
    const shared = new Counter();
    const root = { x: shared, y: shared, self: undefined as unknown, list: [shared], map: new Map([[1, shared]]) };
    root.self = root;
    const c = fork(root);
    expect(c.x).toBe(c.y);
    expect(c.list[0]).toBe(c.x);
    expect(c.map.get(1)).toBe(c.x);
    expect(c.self).toBe(c);
    expect(c.x).not.toBe(shared);
  });

  it('copies a buffer once for all its views', () => {
    const words = new BigUint64Array(4);
    const halves = new Uint32Array(words.buffer);
    const c = fork({ words, halves });
    c.halves[0] = 0xdeadbeef;
    c.halves[1] = 0x1;
    expect(c.words[0]).toBe(0x1_deadbeefn);
    expect(words[0]).toBe(0n);
  });

  it('shares frozen tables and functions marked pure', () => {
    const table = Object.freeze({ f: (x: number) => x + 1 });
    const isA = pure((s: string) => s === 'a');
    const c = fork({ table, isA });
    expect(c.table).toBe(table);
    expect(c.isA).toBe(isA);
  });

  it('refuses a closure, naming where it sits, and built-ins it cannot reproduce', () => {
    let n = 0;
    const tick = () => ++n;
    expect(() => fork({ hooks: { tick } })).toThrow(new UnforkableError('hooks.tick', 'a function'));
    expect(() => fork({ memo: new WeakMap() })).toThrow(UnforkableError);
    expect(() => fork({ when: new Date(0) })).toThrow(UnforkableError);
    // A subclass of a built-in container would come back as the plain container.
    class Registry extends Map<string, number> {}
    expect(() => fork({ r: new Registry() })).toThrow(UnforkableError);
  });

  it('lets a meter stay the one the run spends', () => {
    const meter = new Meter(DEFAULT_BUDGET);
    expect(fork({ meter }).meter).toBe(meter);
  });
});

describe('forked simulated memory', () => {
  const node = [{ id: 0, base: 0n, size: 1n << 24n }];

  it('reads what the original held, and copies a page on either side’s first write to it', () => {
    const mem = new PhysMemory(node);
    mem.write64(0x1000n, 0x1111n);
    mem.write64(0x2000n, 0x2222n);
    const copy = fork(mem);
    expect(copy.read64(0x1000n)).toBe(0x1111n);
    copy.write64(0x1000n, 0xaaaan);
    mem.write64(0x2000n, 0xbbbbn);
    mem.write32(0x1008n, 7);
    expect([mem.read64(0x1000n), mem.read64(0x2000n), mem.read32(0x1008n)]).toEqual([0x1111n, 0xbbbbn, 7]);
    expect([copy.read64(0x1000n), copy.read64(0x2000n), copy.read32(0x1008n)]).toEqual([0xaaaan, 0x2222n, 0]);
    // A page written through its cached 32-bit view after the fork is the writer's own too.
    copy.page32(2)[0] = 5;
    expect([mem.read32(0x2000n), copy.read32(0x2000n)]).toEqual([0xbbbb, 5]);
  });

  it('keeps a page one side zeroes whole on the other, and hands a reused page out zeroed', () => {
    const mem = new PhysMemory(node);
    mem.write64(0x4000n, 0x44n);
    const copy = fork(mem);
    mem.zeroPages(4, 1);
    mem.write64(0x5000n, 0x55n);
    expect([mem.read64(0x4000n), copy.read64(0x4000n), copy.read64(0x5000n)]).toEqual([0n, 0x44n, 0n]);
    // A page of its own that the copy zeroes goes back to its pool; the next page it touches reuses it.
    copy.write64(0x6008n, 0x66n);
    copy.zeroPages(6, 1);
    copy.write64(0x7000n, 0x77n);
    expect([copy.read64(0x7000n), copy.read64(0x7008n), copy.read64(0x6008n)]).toEqual([0x77n, 0n, 0n]);
  });

  it('keeps the write clock, so a walk cached before the fork knows what changed after it', () => {
    const mem = new PhysMemory(node);
    mem.write64(0x3000n, 1n);
    const epoch = mem.writeEpoch;
    const copy = fork(mem);
    expect(copy.unchangedSince([3], epoch)).toBe(true);
    copy.write64(0x3008n, 2n);
    expect([copy.unchangedSince([3], epoch), mem.unchangedSince([3], epoch)]).toEqual([false, true]);
  });
});
