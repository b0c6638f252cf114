import { virt_to_phys } from '../mem/direct-map.js';
import { CacheMode, type CacheModeValue } from '../mem/memtype.js';
import { PAGE_SHIFT } from '../mem/phys-memory.js';
import { Errno } from './errno.js';
import type { Kernel } from './kernel.js';
import { printers } from './printk.js';
import { MAINLINE, portedFrom } from './ported.js';

const F = portedFrom(MAINLINE, 'arch/x86/mm/pat/set_memory.c', ['set_memory_uc', 'set_memory_wb']);

/**
 * x86 set_memory_uc/set_memory_wb (arch/x86/mm/pat/set_memory.c) over PAT's RAM memtype tracking
 * (arch/x86/mm/pat/memtype.c). The page-attribute change itself (CPA) can fail with -ENOMEM when it has
 * to split a large direct-map page; that is the failure point `_set_memory_uc` / `_set_memory_wb`.
 */

function pageRange(
  k: Kernel,
  start: bigint,
  end: bigint,
): { first: number; count: number; ram: 'all' | 'none' | 'mixed' } {
  const first = Number(start >> BigInt(PAGE_SHIFT));
  const count = Number((end - start) >> BigInt(PAGE_SHIFT));
  let ram = 0;
  for (let pfn = first; pfn < first + count; pfn++) if (k.mem.nodeOfPfn(pfn)) ram++;
  return { first, count, ram: ram === count ? 'all' : ram === 0 ? 'none' : 'mixed' };
}

/** reserve_ram_pages_type(): every page must be WB, else -EBUSY and nothing changes. */
function memtype_reserve(k: Kernel, start: bigint, end: bigint, reqType: CacheModeValue): number {
  const pat = printers(k.log, '');
  if (start >= end) {
    k.WARN(true, '%s failed: [mem %#010Lx-%#010Lx], req %s\n', 'memtype_reserve', start, end - 1n, 'uncached-minus');
    return -Errno.EINVAL;
  }
  const { first, count, ram } = pageRange(k, start, end);
  if (ram !== 'all') return -Errno.EINVAL;
  for (let pfn = first; pfn < first + count; pfn++) {
    const type = k.memtypes.get(pfn);
    if (type !== CacheMode.WB) {
      pat.pr_info(
        'x86/PAT: reserve_ram_pages_type failed [mem %#010Lx-%#010Lx], track 0x%x, req 0x%x\n',
        start,
        end - 1n,
        type,
        reqType,
      );
      return -Errno.EBUSY;
    }
  }
  k.memtypes.setRange(first, count, reqType);
  return 0;
}

/** free_ram_pages_type(): RAM pages go back to WB. */
function memtype_free(k: Kernel, start: bigint, end: bigint): number {
  const { first, count, ram } = pageRange(k, start, end);
  if (ram !== 'all') return -Errno.EINVAL;
  k.memtypes.setRange(first, count, CacheMode.WB);
  return 0;
}

function cpaChange(k: Kernel, leaf: '_set_memory_uc' | '_set_memory_wb'): number {
  return k.shouldFail(leaf)?.value ?? 0;
}

export function set_memory_uc(k: Kernel, addr: bigint, numpages: number): number {
  return k.call(F.set_memory_uc, () => {
    const start = virt_to_phys(addr);
    const end = start + BigInt(numpages) * 4096n;
    // "for now UC MINUS. see comments in ioremap()"
    let ret = memtype_reserve(k, start, end, CacheMode.UC_MINUS);
    if (ret) return ret;
    ret = cpaChange(k, '_set_memory_uc');
    if (ret) {
      memtype_free(k, start, end);
      return ret;
    }
    return 0;
  });
}

export function set_memory_wb(k: Kernel, addr: bigint, numpages: number): number {
  return k.call(F.set_memory_wb, () => {
    const ret = cpaChange(k, '_set_memory_wb');
    if (ret) return ret;
    const start = virt_to_phys(addr);
    memtype_free(k, start, start + BigInt(numpages) * 4096n);
    return 0;
  });
}
