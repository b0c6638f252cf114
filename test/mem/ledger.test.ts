import { describe, expect, it } from 'vitest';
import { AllocationLedger, type AllocFamily } from '../../runtime/mem/ledger.js';

const block = (family: AllocFamily, pa: bigint, bytes: bigint, order: number) => ({
  family,
  va: pa | 0xffff_8880_0000_0000n,
  pa,
  bytes,
  order,
  node: 0,
  site: 'test',
  step: 0,
});

describe('AllocationLedger.isFreedPa', () => {
  it('is false for never-allocated memory and for live blocks, true inside freed ones only', () => {
    const l = new AllocationLedger();
    const a = l.record(block('pages', 0x10_0000n, 0x2000n, 1));
    expect(l.isFreedPa(0x10_0000n)).toBe(false);
    expect(l.isFreedPa(0x0fff_f000n)).toBe(false);
    expect(l.release(a.va, 'pages', 'free_pages', 0).ok).toBe(true);
    expect(l.isFreedPa(0x10_0000n)).toBe(true);
    expect(l.isFreedPa(0x10_1ff8n)).toBe(true);
    expect(l.isFreedPa(0x10_2000n)).toBe(false);
    expect(l.isFreedPa(-8n)).toBe(false);
  });

  it('ends a block at its bytes, except kmalloc objects, which own 4 KiB << order', () => {
    const l = new AllocationLedger();
    const p = l.record(block('iommu_pages', 0x20_0000n, 0x800n, 0));
    const k = l.record(block('kmalloc', 0x30_0000n, 0x40n, 1));
    l.release(p.va, 'iommu_pages', 'iommu_free_pages', 0);
    l.release(k.va, 'kmalloc', 'kfree', 0);
    expect(l.isFreedPa(0x20_07f8n)).toBe(true);
    expect(l.isFreedPa(0x20_0800n)).toBe(false);
    expect(l.isFreedPa(0x30_1ff8n)).toBe(true);
    expect(l.isFreedPa(0x30_2000n)).toBe(false);
  });

  it('is false again once the memory is reallocated, true once that is freed too', () => {
    const l = new AllocationLedger();
    const first = l.record(block('pages', 0x40_0000n, 0x4000n, 2));
    l.release(first.va, 'pages', 'free_pages', 0);
    const again = l.record(block('pages', 0x40_1000n, 0x1000n, 0));
    expect(l.isFreedPa(0x40_1008n)).toBe(false);
    expect(l.isFreedPa(0x40_0008n)).toBe(true);
    l.release(again.va, 'pages', 'free_pages', 0);
    expect(l.isFreedPa(0x40_1008n)).toBe(true);
  });

  it('finds blocks of every order, and a block not aligned to its order too', () => {
    const l = new AllocationLedger();
    const big = l.record(block('pages', 0x400_0000n, 0x40_0000n, 10));
    const odd = l.record(block('pages', 0x501_0000n, 0x2000n, 1));
    l.release(big.va, 'pages', 'free_pages', 0);
    l.release(odd.va, 'pages', 'free_pages', 0);
    expect(l.isFreedPa(0x43f_fff8n)).toBe(true);
    expect(l.isFreedPa(0x440_0000n)).toBe(false);
    expect(l.isFreedPa(0x501_1ff8n)).toBe(true);
    expect(l.isFreedPa(0x501_2000n)).toBe(false);
    l.record(block('pages', 0x420_0000n, 0x1000n, 0));
    expect(l.isFreedPa(0x420_0ff8n)).toBe(false);
    expect(l.isFreedPa(0x420_1000n)).toBe(true);
  });
});

describe('AllocationLedger records and frees', () => {
  it('names a second free of a reused address as a double free of the last block there', () => {
    const l = new AllocationLedger();
    const first = l.record(block('pages', 0x10_0000n, 0x1000n, 0));
    expect(l.release(first.va, 'pages', 'free_pages', 1)).toMatchObject({ ok: true, pfn: 0x100, order: 0, node: 0 });
    const second = l.record({ ...block('pages', 0x10_0000n, 0x1000n, 0), node: 1 });
    expect(l.lookup(first.va)).toBe(second);
    expect(l.release(second.va, 'kmalloc', 'kfree', 2)).toMatchObject({ ok: false, problem: 'mismatched_free' });
    expect(l.release(second.va, 'pages', 'free_pages', 3)).toMatchObject({ ok: true, node: 1 });
    const again = l.release(second.va, 'pages', 'free_pages', 4);
    expect(again.ok === false && again.problem === 'double_free' && again.allocation).toBe(second);
    expect(l.lookup(first.va)).toBeUndefined();
  });

  it('calls a free of an address it never handed out invalid, whatever the address', () => {
    const l = new AllocationLedger();
    const a = l.record(block('pages', 0x10_0000n, 0x1000n, 0));
    for (const va of [a.va + 8n, a.va - 0x1000n, 0x10_0000n, 0n, -1n, (1n << 64n) + a.va]) {
      expect(l.release(va, 'pages', 'free_pages', 0)).toEqual({ ok: false, problem: 'invalid_free' });
    }
    expect(l.lookup(a.va)).toBe(a);
  });

  it('keeps its history in order with per-site ordinals, one object per allocation, updated by later frees', () => {
    const l = new AllocationLedger();
    l.add(block('pages', 0x10_0000n, 0x1000n, 0));
    l.add({ ...block('kmalloc', 0x20_0000n, 0x40n, 0), site: 'other' });
    l.add(block('pages', 0x30_0000n, 0x2000n, 1));
    const history = l.history;
    expect(history.map((a) => [a.site, a.ordinal, a.family, a.pa, a.bytes, a.order])).toEqual([
      ['test', 1, 'pages', 0x10_0000n, 0x1000n, 0],
      ['other', 1, 'kmalloc', 0x20_0000n, 0x40n, 0],
      ['test', 2, 'pages', 0x30_0000n, 0x2000n, 1],
    ]);
    expect(history[0]!.seq < history[1]!.seq && history[1]!.seq < history[2]!.seq).toBe(true);
    l.release(0xffff_8880_0030_0000n, 'pages', 'free_pages', 7);
    expect(l.history[2]).toBe(history[2]);
    expect(history[2]!.freed).toMatchObject({ by: 'free_pages', step: 7 });
    expect(l.liveAllocations().map((a) => a.ordinal)).toEqual([1, 1]);
    expect(l.freedAllocations()).toEqual([history[2]]);
  });

  it('still finds a freed block under a smaller live one recorded at the same address since', () => {
    const l = new AllocationLedger();
    const big = l.record(block('pages', 0x80_0000n, 0x4000n, 2));
    l.release(big.va, 'pages', 'free_pages', 0);
    l.record(block('pages', 0x80_0000n, 0x1000n, 0));
    expect(l.isFreedPa(0x80_0008n)).toBe(false);
    expect(l.isFreedPa(0x80_1008n)).toBe(true);
    expect(l.isFreedPa(0x80_3ff8n)).toBe(true);
    expect(l.isFreedPa(0x80_4000n)).toBe(false);
  });
});
