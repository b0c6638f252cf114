/** Linux errno values (include/uapi/asm-generic/errno-base.h, errno.h) used by the modelled code. */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  EAGAIN: 11,
  ENOMEM: 12,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENOSPC: 28,
  ERANGE: 34,
  EOVERFLOW: 75,
  EOPNOTSUPP: 95,
  EADDRINUSE: 98,
  ETIMEDOUT: 110,
} as const;

export type ErrnoName = keyof typeof Errno;

const nameByNumber = new Map<number, ErrnoName>(
  (Object.entries(Errno) as [ErrnoName, number][]).map(([name, n]) => [n, name]),
);

/** MAX_ERRNO: the range of negative values IS_ERR_VALUE accepts. */
export const MAX_ERRNO = 4095;

export function errnoName(n: number): ErrnoName | undefined {
  return nameByNumber.get(Math.abs(n));
}

/** Renders a kernel return code the way a developer writes it: 0, -ENOMEM, or the bare number. */
export function formatReturn(code: number): string {
  if (code >= 0) return String(code);
  const name = errnoName(code);
  return name ? `-${name}` : String(code);
}

export function isErrnoName(name: string): name is ErrnoName {
  return Object.hasOwn(Errno, name);
}
