/**
 * The one set of formatters for values a spec, a diff or a golden file shows: hex numbers, IOVA ranges,
 * mappings and memory-type ranges. Each textual form is also accepted back by the spec language.
 */

export function hex(value: bigint | number): string {
  return `0x${value.toString(16)}`;
}

const FULL = 1n << 64n;

/** `[0x1000, +0x2000)`; a range covering all 64 bits is `[all]`. */
export function formatRange(start: bigint, size: bigint): string {
  return size === FULL ? '[all]' : `[${hex(start)}, +${hex(size)})`;
}

export function formatMapping(iova: bigint, size: bigint, pa: bigint, page: bigint, perm: string): string {
  return `iova=${hex(iova)} size=${hex(size)} pa=${hex(pa)} page=${hex(page)} ${perm}`;
}

export function formatMemtype(pa: bigint, size: bigint, type: string): string {
  return `pa=${hex(pa)} size=${hex(size)} ${type}`;
}

/** `rw`, `r`, `w`, or `-` for neither. */
export function formatPerm(read: boolean, write: boolean): string {
  return `${read ? 'r' : ''}${write ? 'w' : ''}` || '-';
}
