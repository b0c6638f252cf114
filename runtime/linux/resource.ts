import type { Kernel } from './kernel.js';

/** One busy range of the iomem resource tree. */
export interface IomemRegion {
  readonly start: bigint;
  readonly n: bigint;
  readonly name: string;
  /** The step that reserved it. */
  readonly step: number;
}

/**
 * kernel/resource.c's iomem tree, as far as request_mem_region and release_mem_region go: a reservation
 * that overlaps a busy range fails, as does the `request_mem_region` failure point; releasing a range that
 * is not held prints the kernel's warning.
 */
export class IomemResources {
  private readonly busy: IomemRegion[] = [];

  request(k: Kernel, start: bigint, n: bigint, name: string): boolean {
    if (k.shouldFail('request_mem_region')) return false;
    if (this.busy.some((r) => start < r.start + r.n && r.start < start + n)) return false;
    this.busy.push({ start, n, name, step: k.step });
    return true;
  }

  release(k: Kernel, start: bigint, n: bigint): void {
    const at = this.busy.findIndex((r) => r.start === start && r.n === n);
    if (at >= 0) {
      this.busy.splice(at, 1);
      return;
    }
    k.log.print('warn', `Trying to free nonexistent resource <${hex16(start)}-${hex16(start + n - 1n)}>`);
  }

  held(): readonly IomemRegion[] {
    return this.busy;
  }
}

function hex16(v: bigint): string {
  return `0x${v.toString(16).padStart(16, '0')}`;
}
