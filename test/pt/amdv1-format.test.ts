import { describe, expect, it } from 'vitest';
import * as fmt from '../../runtime/pt/fmt/amdv1.js';
import {
  EntryType,
  IOMMU_CACHE,
  IOMMU_MMIO,
  IOMMU_NOEXEC,
  IOMMU_READ,
  IOMMU_WRITE,
  PtFeature,
} from '../../runtime/pt/defs.js';

// Expected values are written from the bit table (PR 0, NL 11:9, OA 51:12, FC 60, IR 61, IW 62), not read back.
const RW = fmt.descriptorBits(IOMMU_READ | IOMMU_WRITE, PtFeature.AMDV1_FORCE_COHERENCE);
const RO = fmt.descriptorBits(IOMMU_READ, PtFeature.AMDV1_FORCE_COHERENCE);

describe('AMD v1 entry encoding (hand-checked vectors)', () => {
  it('4 KiB read-only leaf at PA 0x5000', () => {
    expect(fmt.leafEntry(0x5000n, 12, 0, RO)).toBe(0x3000_0000_0000_5001n);
  });
  it('2 MiB read-write leaf at level 1, PA 0x100200000: NL=0', () => {
    expect(fmt.leafEntry(0x1_0020_0000n, 21, 1, RW)).toBe(0x7000_0001_0020_0001n);
  });
  it('16 KiB leaf at level 0, PA 0x400008000: NL=7, OA bit 12 set, 4 copies', () => {
    const e = fmt.leafEntry(0x4_0000_8000n, 14, 0, RW);
    expect(e).toBe(0x7000_0004_0000_9e01n);
    expect(fmt.numContigLg2(e, 0)).toBe(2);
    expect(fmt.entryOa(e)).toBe(0x4_0000_8000n);
    expect(fmt.entryOaLg2(e, 0)).toBe(14);
  });
  it('4 MiB leaf at level 1, PA 0x400000: NL=7, OA bits 20:12 set, bit 21 clear, 2 copies', () => {
    const e = fmt.leafEntry(0x40_0000n, 22, 1, RW);
    expect(e).toBe(0x7000_0000_005f_fe01n);
    expect(fmt.numContigLg2(e, 1)).toBe(1);
    expect(fmt.entryOa(e)).toBe(0x40_0000n);
  });
  it('PDE at level 2 to a level-1 table at 0x12345000: NL=2, IR|IW, no FC', () => {
    const e = fmt.tableEntry(2, 0x1234_5000n);
    expect(e).toBe(0x6000_0000_1234_5401n);
    expect(fmt.entryType(e, 2)).toBe(EntryType.TABLE);
    expect(fmt.tablePa(e)).toBe(0x1234_5000n);
  });
  it('decodes: not present is empty, level 0 is always a leaf, NL 0 and 7 are leaves elsewhere', () => {
    expect(fmt.entryType(0x6000_0000_1234_5400n, 2)).toBe(EntryType.EMPTY);
    expect(fmt.entryType(0x6000_0000_1234_5401n, 0)).toBe(EntryType.OA);
    expect(fmt.entryType(0x7000_0000_005f_fe01n, 1)).toBe(EntryType.OA);
  });
  it('a one-item leaf is told by its low half: present with NL 0, never NL 7 or a PDE', () => {
    const { mask, value } = fmt.amdv1.oneItemLeafLow;
    const oneItem = (low: number): boolean => (low & mask) === value;
    expect(oneItem(0x0000_5001)).toBe(true); // the 4 KiB leaf above
    expect(oneItem(0x0020_0001)).toBe(true); // 2 MiB at level 1, NL 0
    expect(oneItem(0x0000_9e01)).toBe(false); // 16 KiB, NL 7: four items
    expect(oneItem(0x1234_5401)).toBe(false); // NL 2: a PDE above level 0
    expect(oneItem(0x0000_5000)).toBe(false); // not present
  });
});

describe('AMD v1 page sizes', () => {
  it('each level holds powers of two from its item size, never 512 GiB, nothing at level 5', () => {
    expect(fmt.possibleSizes(0)).toBe(0x1f_f000n); // 4K .. 1M
    expect(fmt.possibleSizes(1)).toBe(0x3fe0_0000n); // 2M .. 512M
    expect(fmt.possibleSizes(3)).toBe(0xff00_0000_0000n); // 1T .. 128T (512G removed)
    expect(fmt.possibleSizes(4)).toBe(0xf_0000_0000_0000n); // 256T .. 2^51
    expect(fmt.possibleSizes(5)).toBe(0n);
    let all = 0n;
    for (let l = 0; l <= 5; l++) all |= fmt.possibleSizes(l);
    expect(all).toBe(0x000f_ff7f_ffff_f000n); // AMD_IOMMU_PGSIZES
  });
});

describe('prot flags beyond read and write (amdv1pt_iommu_set_prot)', () => {
  const FORCED = PtFeature.DYNAMIC_TOP | PtFeature.AMDV1_ENCRYPT_TABLES | PtFeature.AMDV1_FORCE_COHERENCE;
  // A 4 KiB leaf at 0x1234000: PR (bit 0) | OA 0x1234000 | FC (60) | IR (61) | IW (62), NL 0.
  it('IOMMU_CACHE, IOMMU_NOEXEC and IOMMU_MMIO leave the entry as read/write alone makes it', () => {
    const rw = IOMMU_READ | IOMMU_WRITE;
    for (const extra of [0, IOMMU_CACHE, IOMMU_NOEXEC, IOMMU_MMIO, IOMMU_CACHE | IOMMU_NOEXEC | IOMMU_MMIO])
      expect(fmt.leafEntry(0x123_4000n, 12, 0, fmt.descriptorBits(rw | extra, FORCED))).toBe(0x7000_0000_0123_4001n);
  });

  it('FC comes from the FORCE_COHERENCE feature, never from IOMMU_CACHE', () => {
    const noFc = PtFeature.DYNAMIC_TOP | PtFeature.AMDV1_ENCRYPT_TABLES;
    expect(fmt.leafEntry(0x123_4000n, 12, 0, fmt.descriptorBits(IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE, noFc))).toBe(
      0x6000_0000_0123_4001n,
    );
    expect(fmt.leafEntry(0x123_4000n, 12, 0, fmt.descriptorBits(IOMMU_WRITE | IOMMU_NOEXEC, FORCED))).toBe(
      0x5000_0000_0123_4001n,
    );
    expect(fmt.descriptorBits(IOMMU_CACHE, FORCED)).toBe(1n << 60n);
  });
});
