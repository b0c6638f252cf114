import type { Gfp } from './gfp.js';
import type { Kernel } from './kernel.js';

/** What xa_cmpxchg returns when it could not store: the current entry, or xa_err() of its errno. */
export type XaResult<T> = { readonly current: T } | { readonly errno: number } | null;

/**
 * lib/xarray.c xa_cmpxchg on an index-keyed map: stores `entry` if the slot holds `old` (only NULL here) and
 * returns NULL; otherwise the entry found. Storing may allocate a node with `gfp`: the `xa_cmpxchg` failure
 * point is that allocation failing, which returns xa_err(-ENOMEM), a non-NULL value to callers.
 */
export function xa_cmpxchg<T>(k: Kernel, xa: Map<number, T>, index: number, entry: T, _gfp: Gfp): XaResult<T> {
  const current = xa.get(index);
  if (current !== undefined) return { current };
  const failed = k.shouldFail('xa_cmpxchg');
  if (failed) return { errno: failed.value! };
  xa.set(index, entry);
  return null;
}

/**
 * xa_store: sets the slot, which may need a node allocated with `gfp`: the `xa_store` failure point is that
 * allocation failing. Returns 0 or the negative errno of xa_err(old).
 */
export function xa_store<T>(k: Kernel, xa: Map<number, T>, index: number, entry: T, _gfp: Gfp): number {
  const failed = k.shouldFail('xa_store');
  if (failed) return failed.value!;
  xa.set(index, entry);
  return 0;
}
