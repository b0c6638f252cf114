import { Errno } from './errno.js';
import type { Gfp } from './gfp.js';
import type { Kernel } from './kernel.js';

/** lib/idr.c IDA: lowest free id in [min, max]; -ENOSPC when full, -ENOMEM when its allocation fails. */
export class Ida {
  private readonly used = new Set<number>();

  constructor(readonly name: string) {}

  alloc_range(k: Kernel, min: number, max: number, _gfp: Gfp): number {
    if (min < 0) return -Errno.ENOSPC;
    if (max < 0) max = 0x7fff_ffff;
    const failed = k.shouldFail('ida_alloc_range');
    if (failed) return failed.value!;
    for (let id = min; id <= max; id++) {
      if (!this.used.has(id)) {
        this.used.add(id);
        return id;
      }
    }
    return -Errno.ENOSPC;
  }

  /** ida_free takes an unsigned int and BUGs on an id that is negative as an int (lib/idr.c). */
  free(k: Kernel, id: number): void {
    k.BUG_ON((id | 0) < 0, 'lib/idr.c');
    if (!this.used.delete(id)) k.WARN(true, 'ida_free called for id=%d which is not allocated.\n', id);
  }

  allocated(): number[] {
    return [...this.used].sort((a, b) => a - b);
  }
}
