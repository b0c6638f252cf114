/**
 * x86 page cache modes (enum page_cache_mode, arch/x86/include/asm/pgtable_types.h), with the numbers the
 * PAT code prints in its "track 0x%x, req 0x%x" messages.
 */
export const CacheMode = {
  WB: 0,
  WC: 1,
  UC_MINUS: 2,
  UC: 3,
  WT: 4,
  WP: 5,
} as const;
export type CacheModeName = keyof typeof CacheMode;
export type CacheModeValue = (typeof CacheMode)[CacheModeName];

const names = Object.fromEntries(Object.entries(CacheMode).map(([k, v]) => [v, k])) as Record<
  CacheModeValue,
  CacheModeName
>;

export function cacheModeName(mode: CacheModeValue): CacheModeName {
  return names[mode];
}

/** Per-page memory type of RAM, as PAT tracks it in page flags. Only non-WB pages are stored. */
export class MemTypes {
  private readonly modes = new Map<number, CacheModeValue>();

  get(pfn: number): CacheModeValue {
    return this.modes.get(pfn) ?? CacheMode.WB;
  }

  set(pfn: number, mode: CacheModeValue): void {
    if (mode === CacheMode.WB) this.modes.delete(pfn);
    else this.modes.set(pfn, mode);
  }

  /** Non-WB pages in ascending order. */
  nonWb(): [number, CacheModeValue][] {
    return [...this.modes.entries()].sort((a, b) => a[0] - b[0]);
  }
}
