/*
 * viommu-spec kernel shim: just enough of the kernel headers for the functions a patch to
 * drivers/iommu/amd adds to compile for wasm32 and run against the TypeScript model.
 *
 * Types and macros follow include/linux (x86-64 values); the structs are *mirrors*: they hold only the
 * members the patch code reads or writes, at the shim's own offsets (exported by __vs_layout), and the
 * TypeScript side keeps them in step with its model. Every kernel function is a WebAssembly import from
 * module "kernel"; runtime/linux/amd/variants/c/imports.ts is the registry of those imports, and
 * `viommu-spec build-driver` rejects a module that needs any other.
 *
 * Pointers are 32-bit here. A kernel object the C only passes along (page VAs) is a handle, an address in
 * [0xc0000000, 0xfffff000) that lies outside the module's memory; ERR_PTR values keep their low 32 bits
 * (0xfffff001..0xffffffff). A pointer converted to a 64-bit integer is rewritten by the build into
 * __vs_kaddr(), which yields the kernel address the TypeScript model knows for it.
 */
#ifndef VIOMMU_SPEC_SHIM_KERNEL_H
#define VIOMMU_SPEC_SHIM_KERNEL_H

#define __KIMPORT(name) __attribute__((import_module("kernel"), import_name(#name)))

/* --- include/linux/types.h, compiler.h ---------------------------------------------------------- */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef signed char s8;
typedef short s16;
typedef int s32;
typedef long long s64;
typedef _Bool bool;
typedef unsigned long size_t;
typedef long ssize_t;
typedef unsigned long uintptr_t;
typedef u64 phys_addr_t;
typedef u64 dma_addr_t;
typedef unsigned int gfp_t;
typedef unsigned int ioasid_t;
#define true 1
#define false 0
#define NULL ((void *)0)
#define __init
#define __exit
#define __iomem
#define __must_check
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define offsetof(t, m) __builtin_offsetof(t, m)
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define BIT(n) (1UL << (n))
#define BIT_ULL(n) (1ULL << (n))

/* --- include/linux/err.h ---------------------------------------------------------------------------- */
#define MAX_ERRNO 4095
#define IS_ERR_VALUE(x) unlikely((unsigned long)(void *)(x) >= (unsigned long)-MAX_ERRNO)
static inline void *ERR_PTR(long error) { return (void *)error; }
static inline long PTR_ERR(const void *ptr) { return (long)ptr; }
static inline bool IS_ERR(const void *ptr) { return IS_ERR_VALUE((unsigned long)ptr); }
static inline bool IS_ERR_OR_NULL(const void *ptr) { return !ptr || IS_ERR_VALUE((unsigned long)ptr); }
#define ERR_CAST(ptr) ((void *)(ptr))

/* --- include/uapi/asm-generic/errno*.h ---------------------------------------------------------- */
#define EPERM 1
#define ENOENT 2
#define EIO 5
#define ENOMEM 12
#define EBUSY 16
#define ENODEV 19
#define EINVAL 22
#define ENOSPC 28
#define ETIMEDOUT 110
#define EOPNOTSUPP 95

/* --- gfp, numa, pages --------------------------------------------------------------------------------- */
#define __GFP_HIGH 0x20u
#define __GFP_IO 0x40u
#define __GFP_FS 0x80u
#define __GFP_ZERO 0x100u
#define __GFP_DIRECT_RECLAIM 0x400u
#define __GFP_KSWAPD_RECLAIM 0x800u
#define __GFP_RECLAIM (__GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM)
#define GFP_ATOMIC (__GFP_HIGH | __GFP_KSWAPD_RECLAIM)
#define GFP_KERNEL (__GFP_RECLAIM | __GFP_IO | __GFP_FS)
#define NUMA_NO_NODE (-1)
#define PAGE_SHIFT 12
#define PAGE_SIZE (1UL << PAGE_SHIFT)

/* --- include/linux/printk.h: level prefixes as the kernel encodes them -------------------------------- */
#define KERN_SOH "\001"
#define KERN_EMERG KERN_SOH "0"
#define KERN_ALERT KERN_SOH "1"
#define KERN_CRIT KERN_SOH "2"
#define KERN_ERR KERN_SOH "3"
#define KERN_WARNING KERN_SOH "4"
#define KERN_NOTICE KERN_SOH "5"
#define KERN_INFO KERN_SOH "6"
#define KERN_DEBUG KERN_SOH "7"
/* drivers/iommu/amd/{iommu,viommu}.c: #define pr_fmt(fmt) "AMD-Vi: " fmt */
#ifndef pr_fmt
#define pr_fmt(fmt) "AMD-Vi: " fmt
#endif
__KIMPORT(_printk) int _printk(const char *fmt, ...);
#define printk(fmt, ...) _printk(fmt, ##__VA_ARGS__)
#define pr_emerg(fmt, ...) printk(KERN_EMERG pr_fmt(fmt), ##__VA_ARGS__)
#define pr_alert(fmt, ...) printk(KERN_ALERT pr_fmt(fmt), ##__VA_ARGS__)
#define pr_crit(fmt, ...) printk(KERN_CRIT pr_fmt(fmt), ##__VA_ARGS__)
#define pr_err(fmt, ...) printk(KERN_ERR pr_fmt(fmt), ##__VA_ARGS__)
#define pr_warn(fmt, ...) printk(KERN_WARNING pr_fmt(fmt), ##__VA_ARGS__)
#define pr_notice(fmt, ...) printk(KERN_NOTICE pr_fmt(fmt), ##__VA_ARGS__)
#define pr_info(fmt, ...) printk(KERN_INFO pr_fmt(fmt), ##__VA_ARGS__)
/* pr_debug prints: the model runs with dynamic debug enabled for the driver, as the TypeScript port does. */
#define pr_debug(fmt, ...) printk(KERN_DEBUG pr_fmt(fmt), ##__VA_ARGS__)

/* --- the mirrored structs ------------------------------------------------------------------------------ */
struct device {
	int numa_node;
};
static inline int dev_to_node(struct device *dev) { return dev->numa_node; }

struct pci_dev {
	struct device dev;
};

struct iommu_domain {
	unsigned int type;
};

/* include/linux/generic_pt/iommu.h */
struct pt_iommu {
	struct iommu_domain domain;
};
struct pt_iommu_amdv1 {
	struct pt_iommu iommu;
};
struct pt_iommu_amdv1_hw_info {
	u64 host_pt_root;
	u8 mode;
};

/* drivers/iommu/amd/amd_iommu_types.h */
/* Defined by the vIOMMU patch (amd_iommu_types.h); this default is its value, for a .c file that lacks it.
 * The model's count must agree: the TypeScript side checks it when it mirrors an IOMMU. */
#ifndef VIOMMU_PRIV_SUBREGION_CNT
#define VIOMMU_PRIV_SUBREGION_CNT (4)
#endif
struct protection_domain {
	union {
		struct iommu_domain domain;
		struct pt_iommu iommu;
		struct pt_iommu_amdv1 amdv1;
	};
	u16 id;
};
#define to_pdomain(dom) container_of(dom, struct protection_domain, domain)

struct amd_iommu {
	struct pci_dev *dev;
	u16 devid;
	u16 seg;
	struct protection_domain *viommu_pdom;
	void *viommu_priv_region[VIOMMU_PRIV_SUBREGION_CNT];
};

struct iommu_cmd {
	u32 data[4];
};

/* include/linux/iommu.h */
#define IOMMU_READ (1 << 0)
#define IOMMU_WRITE (1 << 1)
#define IOMMU_PROT_IR IOMMU_READ
#define IOMMU_PROT_IW IOMMU_WRITE

/* --- kernel functions: imports bound to the TypeScript model ------------------------------------------
 * `unsigned long` parameters that carry addresses are u64 here, so nothing the C passes is truncated. */
__KIMPORT(iommu_alloc_pages_node_sz) void *iommu_alloc_pages_node_sz(int nid, gfp_t gfp, size_t size);
__KIMPORT(iommu_free_pages) void iommu_free_pages(void *virt);
__KIMPORT(set_memory_uc) int set_memory_uc(u64 addr, int numpages);
__KIMPORT(set_memory_wb) int set_memory_wb(u64 addr, int numpages);
__KIMPORT(iommu_map) int iommu_map(struct iommu_domain *domain, u64 iova, phys_addr_t paddr, size_t size,
				   int prot, gfp_t gfp);
__KIMPORT(iommu_unmap) size_t iommu_unmap(struct iommu_domain *domain, u64 iova, size_t size);
/* amd_iommu.h: static inline iommu_virt_to_phys() = __sme_set(virt_to_phys()) */
__KIMPORT(iommu_virt_to_phys) u64 iommu_virt_to_phys(void *vaddr);
__KIMPORT(amd_iommu_domain_alloc_paging_v1) struct iommu_domain *amd_iommu_domain_alloc_paging_v1(
	struct device *dev, u32 flags);
__KIMPORT(amd_iommu_domain_free) void amd_iommu_domain_free(struct iommu_domain *dom);
__KIMPORT(build_inv_iommu_pages) void build_inv_iommu_pages(struct iommu_cmd *cmd, u64 address, size_t size,
							       u16 domid, ioasid_t pasid, bool gn);
__KIMPORT(iommu_queue_command) int iommu_queue_command(struct amd_iommu *iommu, struct iommu_cmd *cmd);
__KIMPORT(amd_iommu_completion_wait) int amd_iommu_completion_wait(struct amd_iommu *iommu);
__KIMPORT(iommu_completion_wait) int iommu_completion_wait(struct amd_iommu *iommu);
__KIMPORT(pt_iommu_amdv1_hw_info) void pt_iommu_amdv1_hw_info(struct pt_iommu_amdv1 *table,
							       struct pt_iommu_amdv1_hw_info *info);

/* --- the harness: call-path frames, loop indices, 64-bit kernel addresses ------------------------------ */
__KIMPORT(__vs_enter) void __vs_enter(const char *function);
__KIMPORT(__vs_leave) void __vs_leave(void);
__KIMPORT(__vs_iter) void __vs_iter(int index);
__KIMPORT(__vs_kaddr) u64 __vs_kaddr(const void *ptr);
__KIMPORT(__vs_kptr) void *__vs_kptr(u64 address);
/* Inserted by the build before each load or store through a pointer (runtime/wasm/ir.ts). */
__KIMPORT(__vs_deref) void __vs_deref(const void *root, const void *address, const char *type);

static inline void __vs_frame_end(int *unused) { (void)unused; __vs_leave(); }
/* Inserted by the build at the top of each function the patch adds: one frame of the call path. */
#define __VS_FRAME() \
	__vs_enter(__func__); \
	int __vs_frame __attribute__((cleanup(__vs_frame_end))) = 0; \
	(void)__vs_frame

#endif
