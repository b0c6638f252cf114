/**
 * Every failure point of the model: the one registry a spec's `site:` leaf, a sweep and the docs draw on.
 * A point is passed under the call path of the ported code that reaches it, so the site a spec names is
 * `<frames>/<point>`. Adding a point is one row here plus the call that passes it.
 */

/**
 * How a failure shows: allocators return NULL, functions return a negative errno, and a hardware point
 * makes the machine itself fail (the command processor hangs), so the driver meets it as it would.
 */
export type FailureKind = 'null' | 'errno' | 'hang';

export interface FailurePointDef {
  readonly kind: FailureKind;
  /** The negative errno an errno point returns unless the plan names another; 0 for the other kinds. */
  readonly naturalErrno: number;
  /** Who fails: the simulated kernel, or the simulated hardware. */
  readonly layer: 'kernel' | 'hardware';
  readonly doc: string;
}

const ENOMEM = -12;

export const FAILURE_POINTS = {
  iommu_alloc_pages_node_sz: {
    kind: 'null',
    naturalErrno: 0,
    layer: 'kernel',
    doc: 'a page allocation for IOMMU structures (fail_page_alloc); returns NULL',
  },
  __get_free_pages: {
    kind: 'null',
    naturalErrno: 0,
    layer: 'kernel',
    doc: 'a plain page allocation (fail_page_alloc), such as the extended interrupt-remapping table; returns NULL',
  },
  kzalloc: { kind: 'null', naturalErrno: 0, layer: 'kernel', doc: 'a slab allocation (failslab); returns NULL' },
  ida_alloc_range: {
    kind: 'errno',
    naturalErrno: ENOMEM,
    layer: 'kernel',
    doc: 'an ID allocation (domain IDs); returns -ENOMEM',
  },
  xa_cmpxchg: {
    kind: 'errno',
    naturalErrno: ENOMEM,
    layer: 'kernel',
    doc: 'storing into an xarray that must allocate a node (xa_cmpxchg); returns xa_err(-ENOMEM), non-NULL',
  },
  xa_store: {
    kind: 'errno',
    naturalErrno: ENOMEM,
    layer: 'kernel',
    doc: 'storing into an xarray that must allocate a node (xa_store); returns xa_err(-ENOMEM)',
  },
  copy_from_user: {
    kind: 'errno',
    naturalErrno: -14,
    layer: 'kernel',
    doc: "copying an ioctl's user data in (iommu_copy_struct_from_user); returns -EFAULT",
  },
  copy_to_user: {
    kind: 'errno',
    naturalErrno: -14,
    layer: 'kernel',
    doc: "copying an ioctl's result out (iommu_copy_struct_to_user); returns -EFAULT",
  },
  iommufd_viommu_alloc_mmap: {
    kind: 'errno',
    naturalErrno: ENOMEM,
    layer: 'kernel',
    doc: "iommufd's mmap cookie for a vIOMMU's VF page; returns -ENOMEM",
  },
  _set_memory_uc: {
    kind: 'errno',
    naturalErrno: ENOMEM,
    layer: 'kernel',
    doc: 'the page-attribute change of set_memory_uc (CPA splitting a large page); returns -ENOMEM',
  },
  _set_memory_wb: {
    kind: 'errno',
    naturalErrno: ENOMEM,
    layer: 'kernel',
    doc: 'the page-attribute change of set_memory_wb; returns -ENOMEM',
  },
  request_mem_region: {
    kind: 'null',
    naturalErrno: 0,
    layer: 'kernel',
    doc: 'reserving an MMIO region (iommu_map_mmio_space); the region is taken',
  },
  hw_cmd_processor_hang: {
    kind: 'hang',
    naturalErrno: 0,
    layer: 'hardware',
    doc: 'the command processor stops for good when the doorbell (command tail) is written',
  },
} as const satisfies Readonly<Record<string, FailurePointDef>>;

export type FailurePointName = keyof typeof FAILURE_POINTS;

export const FAILURE_POINT_NAMES = Object.keys(FAILURE_POINTS) as readonly FailurePointName[];
