import { describe, expect, it } from 'vitest';
import { ERR_PTR, IS_ERR, IS_ERR_OR_NULL, PTR_ERR } from '../../runtime/linux/kptr.js';
import { Errno } from '../../runtime/linux/errno.js';
import { Ida } from '../../runtime/linux/ida.js';
import { GFP_ATOMIC } from '../../runtime/linux/gfp.js';
import { frame, makeKernel, oopsOf } from '../helpers.js';

describe('kernel pointers and oops', () => {
  it('keeps NULL, ERR_PTR and valid pointers distinct', () => {
    const e = ERR_PTR(-Errno.ENOMEM);
    expect(IS_ERR(e)).toBe(true);
    expect(PTR_ERR(e)).toBe(-12);
    expect(IS_ERR({})).toBe(false);
    expect(IS_ERR(null)).toBe(false);
    expect(IS_ERR_OR_NULL(null)).toBe(true);
    expect(e.address).toBe(0xffff_ffff_ffff_fff4n);
  });

  it('turns a NULL or ERR_PTR dereference into an oops at the faulting address', () => {
    const k = makeKernel();
    expect(
      oopsOf(() =>
        k.call(frame('iommu_map_nosync'), () =>
          k.deref(ERR_PTR(-Errno.ENOMEM), { field: 'iommu_domain.ops', offset: 8n }),
        ),
      ),
    ).toEqual({
      message: 'BUG: unable to handle page fault for address: fffffffffffffffc',
      address: 0xffff_ffff_ffff_fffcn,
      function: 'iommu_map_nosync',
      field: 'iommu_domain.ops',
      step: -1,
    });
    expect(oopsOf(() => k.call(frame('f'), () => k.deref(null, { field: 'x.y', offset: 0x10n }))).message).toBe(
      'BUG: kernel NULL pointer dereference, address: 0000000000000010',
    );
    expect(
      oopsOf(() => k.call(frame('f'), () => k.deref(ERR_PTR(-Errno.ENOMEM), { field: 'protection_domain.dev_list' })))
        .message,
    ).toBe('BUG: unable to handle page fault for address: fffffffffffffff4 (+ offsetof protection_domain.dev_list)');
  });

  it('records WARN with the function that raised it and returns the condition', () => {
    const k = makeKernel();
    expect(k.call(frame('g'), () => k.WARN(true, 'bad %d\n', 7))).toBe(true);
    expect(k.WARN_ON(false)).toBe(false);
    expect(k.events).toEqual([{ kind: 'warn', function: 'g', message: 'bad 7', step: -1 }]);
  });

  it('names failure points by call path, with loop indices', () => {
    const k = makeKernel([[0n, 1n << 26n]], [{ site: 'init/sub[2]/kzalloc', schedule: { mode: 'nth', n: 1 } }]);
    const results = [0, 1, 2, 3].map((i) =>
      k.call(frame('init'), () => k.call(frame('sub'), () => k.shouldFail('kzalloc'), i)),
    );
    expect(results).toEqual([undefined, undefined, { value: null }, undefined]);
  });
});

describe('Ida', () => {
  it('hands out the lowest free id in range, -ENOSPC when full, WARNs on a bad free', () => {
    const k = makeKernel();
    const ida = new Ida('pdom_ids');
    expect([ida.alloc_range(k, 1, 3, GFP_ATOMIC), ida.alloc_range(k, 1, 3, GFP_ATOMIC)]).toEqual([1, 2]);
    ida.free(k, 1);
    expect(ida.alloc_range(k, 1, 3, GFP_ATOMIC)).toBe(1);
    expect(ida.alloc_range(k, 1, 3, GFP_ATOMIC)).toBe(3);
    expect(ida.alloc_range(k, 1, 3, GFP_ATOMIC)).toBe(-Errno.ENOSPC);
    ida.free(k, 9);
    expect(k.events).toMatchObject([{ kind: 'warn', message: 'ida_free called for id=9 which is not allocated.' }]);
    expect(ida.allocated()).toEqual([1, 2, 3]);
  });
});
