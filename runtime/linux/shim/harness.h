/*
 * viommu-spec kernel shim, appended after the patch's functions: what the TypeScript side reads from the
 * module to mirror the structs (their offsets and sizes) and where it may place them (the arena).
 */
#ifndef VIOMMU_SPEC_SHIM_HARNESS_H
#define VIOMMU_SPEC_SHIM_HARNESS_H

/* Keeps the imports the build's IR rewrite calls declared (pointer <-> u64 conversions, dereferences). */
__attribute__((used)) static void *const __vs_keep[] = { (void *)__vs_kaddr, (void *)__vs_kptr, (void *)__vs_deref };

/* The version of this interface (exports, layout table), in the export's name so a module can be checked
 * without running it: runtime/wasm/build.ts SHIM_ABI must equal it. */
__attribute__((export_name("__vs_abi_1"))) u32 __vs_abi(void) { return 1; }

/* The order of this table is the order runtime/linux/amd/variants/c/memory.ts reads it in. */
static const u32 __vs_layout_table[] = {
	sizeof(struct amd_iommu),
	offsetof(struct amd_iommu, dev),
	offsetof(struct amd_iommu, devid),
	offsetof(struct amd_iommu, seg),
	offsetof(struct amd_iommu, viommu_pdom),
	offsetof(struct amd_iommu, viommu_priv_region),
	VIOMMU_PRIV_SUBREGION_CNT,
	sizeof(struct pci_dev),
	offsetof(struct pci_dev, dev),
	offsetof(struct device, numa_node),
	sizeof(struct protection_domain),
	offsetof(struct protection_domain, domain),
	offsetof(struct protection_domain, amdv1),
	offsetof(struct protection_domain, id),
	offsetof(struct pt_iommu_amdv1_hw_info, host_pt_root),
	offsetof(struct pt_iommu_amdv1_hw_info, mode),
	sizeof(struct iommu_cmd),
};
__attribute__((export_name("__vs_layout"))) const u32 *__vs_layout(void) { return __vs_layout_table; }

/* Where the TypeScript side places mirrored structs and out-parameters. */
#define __VS_ARENA_SIZE 16384
static char __vs_arena[__VS_ARENA_SIZE] __attribute__((aligned(16)));
__attribute__((export_name("__vs_arena"))) char *__vs_arena_base(void) { return __vs_arena; }
__attribute__((export_name("__vs_arena_size"))) u32 __vs_arena_size(void) { return __VS_ARENA_SIZE; }

#endif
