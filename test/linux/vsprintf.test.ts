import { ModelBugError } from '../../runtime/base/model-bug.js';
import { describe, expect, it } from 'vitest';
import { vsprintf } from '../../runtime/linux/vsprintf.js';
import { KernelLog, printers } from '../../runtime/linux/printk.js';

describe('vsprintf (Linux semantics)', () => {
  it('prints 0x0 for %#x of zero, unlike glibc', () => {
    expect(vsprintf('%#x %#zx %#lx %#llx', [0, 0n, 0n, 0n])).toBe('0x0 0x0 0x0 0x0');
  });
  it('prints hex, decimal and strings as the driver uses them', () => {
    expect(vsprintf('%s: unmapped %#zx of %#lx at %#llx', ['f', 0x1000n, 0x200000n, 0x600000n])).toBe(
      'f: unmapped 0x1000 of 0x200000 at 0x600000',
    );
    expect(vsprintf('failed (%d) subregion %d', [-5, 3])).toBe('failed (-5) subregion 3');
    expect(vsprintf('%#llx', [0xffff_8880_0020_0000n])).toBe('0xffff888000200000');
  });
  it('counts the 0x prefix in a zero-padded width, and wraps to the C type width', () => {
    expect(vsprintf('%#010Lx', [0x3fffn])).toBe('0x00003fff');
    expect(vsprintf('%04x:%02x:%02x.%01x', [0, 0, 0x18, 2])).toBe('0000:00:18.2');
    expect(vsprintf('%x %u', [-1, -1])).toBe('ffffffff 4294967295');
    expect(vsprintf('%d', [0xffff_ffff])).toBe('-1');
    expect(vsprintf('%5d|%-5d|', [42, 42])).toBe('   42|42   |');
    expect(vsprintf('100%%', [])).toBe('100%');
  });
  it('refuses argument-count mismatches instead of printing garbage', () => {
    expect(() => vsprintf('%d %d', [1])).toThrow(ModelBugError);
  });
  it('adds the pr_fmt prefix and strips the trailing newline', () => {
    const log = new KernelLog();
    printers(log, 'AMD-Vi: ').pr_err(
      '%s: Failed to allocate vIOMMU private subregion %d\n',
      'viommu_private_space_init',
      2,
    );
    expect(log.lines).toEqual([
      {
        level: 'err',
        text: 'AMD-Vi: viommu_private_space_init: Failed to allocate vIOMMU private subregion 2',
        step: -1,
      },
    ]);
  });
});
