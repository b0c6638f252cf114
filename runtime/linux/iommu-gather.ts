/** struct iommu_iotlb_gather (include/linux/iommu.h): the range to flush and the table pages freed after it. */
export interface IotlbGather {
  start: bigint;
  /** Inclusive; 0 with start = ULONG_MAX means empty. */
  end: bigint;
  /** Kernel virtual addresses of table pages to free once the flush is done. */
  freelist: bigint[];
}

const ULONG_MAX = (1n << 64n) - 1n;

export function iommu_iotlb_gather_init(): IotlbGather {
  return { start: ULONG_MAX, end: 0n, freelist: [] };
}

/** iommu_iotlb_gather_init on an existing gather (C re-initialises the struct in place). */
export function iommu_iotlb_gather_init_into(g: IotlbGather): void {
  g.start = ULONG_MAX;
  g.end = 0n;
  g.freelist = [];
}

export function iommu_iotlb_gather_add_range(g: IotlbGather, iova: bigint, size: bigint): void {
  const end = BigInt.asUintN(64, iova + size - 1n);
  if (g.start > iova) g.start = iova;
  if (g.end < end) g.end = end;
}

/** u64 arithmetic, as the C's unsigned long: a zero size or an end at ULONG_MAX wraps. */
export function iommu_iotlb_gather_is_disjoint(g: IotlbGather, iova: bigint, size: bigint): boolean {
  const end = BigInt.asUintN(64, iova + size - 1n);
  return g.end !== 0n && (BigInt.asUintN(64, end + 1n) < g.start || iova > BigInt.asUintN(64, g.end + 1n));
}
