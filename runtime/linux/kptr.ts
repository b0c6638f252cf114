import { MAX_ERRNO } from './errno.js';

/**
 * Kernel pointer conventions. A driver pointer to a modelled object is the object itself, NULL, or an
 * ERR_PTR: three distinct values, so code that tests the wrong one (`if (!dom)` on an ERR_PTR) behaves as
 * it does in C, and dereferencing either bad value is a recorded oops rather than a JavaScript TypeError.
 */
export class ErrPtr {
  constructor(readonly errno: number) {
    if (errno >= 0 || errno < -MAX_ERRNO) throw new RangeError(`ERR_PTR(${errno}) is not an error value`);
  }

  /** The pointer value the CPU would dereference: (void *)(long)errno. */
  get address(): bigint {
    return BigInt.asUintN(64, BigInt(this.errno));
  }
}

export type KPtr<T extends object> = T | ErrPtr | null;

export function ERR_PTR(errno: number): ErrPtr {
  return new ErrPtr(errno);
}

export function IS_ERR<T extends object>(ptr: KPtr<T>): ptr is ErrPtr {
  return ptr instanceof ErrPtr;
}

export function PTR_ERR(ptr: ErrPtr): number {
  return ptr.errno;
}

export function IS_ERR_OR_NULL<T extends object>(ptr: KPtr<T>): ptr is ErrPtr | null {
  return ptr === null || ptr instanceof ErrPtr;
}

export interface OopsReport {
  /** First line of the oops, as x86 page_fault_oops() prints it. */
  readonly message: string;
  readonly address: bigint;
  /** The ported function that made the access (the RIP symbol). */
  readonly function: string;
  /** The field whose load faulted, e.g. `iommu_domain.ops`. */
  readonly field: string;
  /** Step index during which it happened. */
  readonly step: number;
}

/**
 * Thrown to unwind the simulated kernel after an oops. Only the executor catches it: an oops kills the
 * task, so nothing in the ported code may continue past it.
 */
export class KernelOops extends Error {
  constructor(readonly report: OopsReport) {
    super(report.message);
    this.name = 'KernelOops';
  }
}

const PAGE_SIZE = 4096n;

/**
 * The first oops line for a faulting kernel access, following arch/x86/mm/fault.c. When the field's offset
 * is not known exactly, the base pointer is printed with the field named, rather than a guessed address.
 */
export function oopsMessage(base: bigint, offset: bigint | undefined, field: string): string {
  const address = BigInt.asUintN(64, base + (offset ?? 0n));
  const px = address.toString(16).padStart(16, '0');
  const where = offset === undefined ? ` (+ offsetof ${field})` : '';
  return address < PAGE_SIZE && offset !== undefined
    ? `BUG: kernel NULL pointer dereference, address: ${px}`
    : base === 0n
      ? `BUG: kernel NULL pointer dereference, address: ${px}${where}`
      : `BUG: unable to handle page fault for address: ${px}${where}`;
}
