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
