import type { AllocFamily } from '../mem/ledger.js';

/**
 * Things the kernel itself would flag (WARN splats, allocator BUG reports, PAT misuse). They are outcomes
 * of the code under test, captured as data for the end state; none of them stops the run except an oops.
 */
export type KernelEvent =
  | { readonly kind: 'warn'; readonly function: string; readonly message: string; readonly step: number }
  | {
      readonly kind: 'double_free' | 'mismatched_free' | 'invalid_free';
      readonly family: AllocFamily;
      readonly va: bigint;
      readonly function: string;
      readonly step: number;
      readonly allocatedBy?: string;
    }
  /** A load from a kmalloc object after its kfree, as KASAN reports it (slab-use-after-free). */
  | {
      readonly kind: 'use_after_free';
      readonly va: bigint;
      readonly field: string;
      readonly function: string;
      readonly step: number;
      readonly freedBy?: string;
    }
  | {
      readonly kind: 'freed_not_wb';
      readonly pa: bigint;
      readonly pages: number;
      readonly mode: string;
      readonly function: string;
      readonly step: number;
    };
