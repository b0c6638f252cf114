/**
 * The names a failure-point site is built from: ported function frames and failure-point leaves. A site
 * pattern naming anything else can never match, so it is reported as a spec error with a suggestion.
 */
export const SITE_LEAVES = ['iommu_alloc_pages_node_sz', 'kzalloc', 'ida_alloc_range', '_set_memory_uc', '_set_memory_wb', 'hw_cmd_processor_hang', 'request_mem_region'] as const;

export const SITE_FRAMES = [
  'amd_viommu_init',
  'viommu_private_space_init',
  'viommu_private_space_uninit',
  'alloc_private_subregion',
  'viommu_priv_alloc_map_flush',
  'viommu_priv_unmap_flush_free',
  'amd_iommu_flush_private_vm_region',
  'viommu_vf_vfcntl_init',
  'iommu_map_mmio_space',
  'amd_iommu_domain_alloc_paging_v1',
  'protection_domain_alloc',
  'pt_iommu_amdv1_init',
  'amd_iommu_domain_free',
  'iommu_map',
  'iommu_map_nosync',
  'iommu_unmap',
  'increase_top',
  'amd_iommu_iotlb_sync',
  'amd_iommu_domain_flush_pages',
  'iommu_queue_command',
  'iommu_completion_wait',
  'iommu_flush_dte',
  'set_iommu_dte',
  'attach_device',
  'detach_device',
  'pdom_attach_iommu',
  'pdom_detach_iommu',
  'set_memory_uc',
  'set_memory_wb',
] as const;

const KNOWN = new Set<string>([...SITE_LEAVES, ...SITE_FRAMES]);

/** The first literal segment of a site pattern that names no frame or leaf, if any. */
export function unknownSiteSegment(pattern: string): string | undefined {
  for (const seg of pattern.split('/')) {
    if (seg.includes('*')) continue;
    const name = seg.replace(/\[\d+\]$/, '');
    if (!KNOWN.has(name)) return seg;
  }
  return undefined;
}

export const ALL_SITE_NAMES: readonly string[] = [...KNOWN];
