import { pt_iommu_amdv1_hw_info } from '../../pt/fmt/amdv1.js';
import { Errno } from '../errno.js';
import { GFP_ATOMIC, GFP_KERNEL } from '../gfp.js';
import { ERR_PTR, ErrPtr, PTR_ERR, type KPtr } from '../kptr.js';
import type { Kernel } from '../kernel.js';
import { AMDESE_NESTED, AMDESE_S, MAINLINE, portedFrom } from '../ported.js';
import { printers } from '../printk.js';
import { kfree, kzalloc } from '../slab.js';
import { xa_cmpxchg } from '../xarray.js';
import type { AmdIommu } from './amd-iommu.js';
import type { DevData } from './domain.js';
import type { AmdDriver } from './driver.js';
import { amd_iommu_make_clear_dte, amd_iommu_set_dte_v1, amd_iommu_update_dte, type Dte } from './dte.js';
import { amd_iommu_pdom_id_alloc, amd_iommu_pdom_id_free } from './pdom.js';
import type { AmdIommuViommu, GuestDomainMappingInfo, GuestTableOps } from './viommu-guest.js';

/**
 * Nested (stage-1 over a nest parent) domains: drivers/iommu/amd/nested.c at AMDESE/linux-iommu @ 1e91ed15,
 * the version the fact sheet names (§1.3, copy id 67615232805; no nested.c is stored at the base tree). That
 * version is older than the base tree's DTE helpers: its amd_iommu_make_clear_dte takes (dev_data, &new) and
 * its amd_iommu_set_dte_v1 (dev_data, domain, domid, &new) reads the table's root itself; here the base tree's
 * helpers are called with the same values (the clear DTE is V only either way, and the root and mode are the
 * parent's current top). Everything else is the C of 1e91ed15, including the sheet's bug 15.
 */
const F = {
  ...portedFrom(AMDESE_NESTED, 'drivers/iommu/amd/nested.c', [
    'validate_gdte_nested',
    'amd_iommu_alloc_domain_nested',
    'set_dte_nested',
    'nested_attach_device',
    'nested_domain_free',
  ]),
  ...portedFrom(AMDESE_S, 'include/linux/iommu.h', ['iommu_copy_struct_from_user']),
  ...portedFrom(MAINLINE, 'drivers/iommu/iommufd/hw_pagetable.c', ['iommufd_viommu_alloc_hwpt_nested']),
};

/** IOMMU_HWPT_DATA_AMD_GUEST (include/uapi/linux/iommufd.h): the user data is a 256-bit guest DTE. */
export const IOMMU_HWPT_DATA_AMD_GUEST = 3;

/** Guest DTE fields (amd_iommu_types.h): data[0]. */
const DTE_FLAG_V = 1n << 0n;
const DTE_MODE_MASK = 0x7n << 9n; // GENMASK_ULL(11, 9)
const DTE_HOST_TRP = ((1n << 40n) - 1n) << 12n; // GENMASK_ULL(51, 12)
const DTE_FLAG_PPR = 1n << 52n;
const DTE_FLAG_GIOV = 1n << 54n;
const DTE_FLAG_GV = 1n << 55n;
const DTE_GLX = 0x3n << 56n; // GENMASK_ULL(57, 56)
const DTE_GCR3_14_12 = 0x7n << 58n; // GENMASK_ULL(60, 58)
/** data[1]. */
const DTE_DOMID_MASK = 0xffffn;
const DTE_GCR3_30_15 = 0xffffn << 16n; // GENMASK_ULL(31, 16)
const DTE_GCR3_51_31 = ((1n << 21n) - 1n) << 43n; // GENMASK_ULL(63, 43)
/** data[2]. */
const DTE_GPT_LEVEL_SHIFT = 54n;
const DTE_GPT_LEVEL_MASK = 0x3n << DTE_GPT_LEVEL_SHIFT; // GENMASK_ULL(55, 54)
const GUEST_PGTABLE_4_LEVEL = 0n;
const GUEST_PGTABLE_5_LEVEL = 1n;
const PAGE_MODE_5_LEVEL = 5;
/** data[3] vIOMMU fields (fact sheet §4.6): vImuEn 15, GDeviceID 31:16, GuestID 47:32. */
const DTE_VIOMMU_EN_SHIFT = 15n;
const DTE_VIOMMU_GDEVICEID_SHIFT = 16n;
const DTE_VIOMMU_GDEVICEID_MASK = 0xffffn;
const DTE_VIOMMU_GUESTID_SHIFT = 32n;
const DTE_VIOMMU_GUESTID_MASK = 0xffffn;

/** sizeof(struct nested_domain): the iommu_domain, gdom_id, gdom_info, the 32-byte guest DTE, viommu. */
const SIZEOF_NESTED_DOMAIN = 160n;
/** sizeof(struct guest_domain_mapping_info): `refcount_t users; u32 hdom_id;`. */
const SIZEOF_GDOM_INFO = 8n;

const fieldGet = (mask: bigint, v: bigint): bigint => {
  let shift = 0n;
  while (((mask >> shift) & 1n) === 0n) shift++;
  return (v & mask) >> shift;
};

/**
 * The one-line fixes of the sheet's bug 15 a driver variant may apply (`series-s-fixed`): `ret = -ENOMEM`
 * before the gdom_info kzalloc's `goto out_err`; kfree(ndom) before the early return of a reference that
 * is not the last; amd_iommu_pdom_id_free(curr->hdom_id) moved above kfree(curr).
 */
export interface NestedFixes {
  readonly gdomInfoErrno?: boolean;
  readonly freeNotLast?: boolean;
  readonly hdomIdBeforeKfree?: boolean;
}

/** struct iommu_user_data for IOMMU_HWPT_DATA_AMD_GUEST: the type and struct iommu_hwpt_amd_guest's dte[4]. */
export interface NestedUserData {
  readonly type: number;
  readonly dte: readonly [bigint, bigint, bigint, bigint];
}

/** struct nested_domain. */
export interface NestedDomain {
  readonly va: bigint;
  gdom_id: number;
  gdom_info: GuestDomainMappingInfo | null;
  gdte: Dte;
  viommu: AmdIommuViommu | null;
}

/** validate_gdte_nested: the guest DTE must describe guest (v2) translation only, at a level the host has. */
export function validate_gdte_nested(d: AmdDriver, gdte: Dte): number {
  return d.k.call(F.validate_gdte_nested, () => {
    const gptLevel = fieldGet(DTE_GPT_LEVEL_MASK, gdte[2]);
    // Must be zero: Mode, Host-TPR
    if (fieldGet(DTE_MODE_MASK, gdte[0]) !== 0n || fieldGet(DTE_HOST_TRP, gdte[0]) !== 0n) return -Errno.EINVAL;
    // Must be non-zero: V, GIOV, GV, GCR3 TRP (the comment names GIOV; the code does not test it)
    if (
      fieldGet(DTE_FLAG_V, gdte[0]) === 0n ||
      fieldGet(DTE_FLAG_GV, gdte[0]) === 0n ||
      (fieldGet(DTE_GCR3_14_12, gdte[0]) === 0n &&
        fieldGet(DTE_GCR3_30_15, gdte[1]) === 0n &&
        fieldGet(DTE_GCR3_51_31, gdte[1]) === 0n)
    )
      return -Errno.EINVAL;
    // Valid Guest Paging Mode values are 0 and 1
    if (gptLevel !== GUEST_PGTABLE_4_LEVEL && gptLevel !== GUEST_PGTABLE_5_LEVEL) return -Errno.EINVAL;
    // GLX = 3 is reserved
    if (fieldGet(DTE_GLX, gdte[0]) === 3n) return -Errno.EINVAL;
    // We need to check host capability before setting the Guest Paging Mode
    if (gptLevel === GUEST_PGTABLE_5_LEVEL && d.g.amd_iommu_gpt_level < PAGE_MODE_5_LEVEL) return -Errno.EOPNOTSUPP;
    return 0;
  });
}

/**
 * amd_iommu_alloc_domain_nested: the nested domain, its guest DTE checked, and one host DomID per guest DomID
 * of the vIOMMU, shared and refcounted through aviommu->gdomid_array. Returns the domain, ERR_PTR(errno), or
 * NULL where the C returns ERR_PTR(0) (a failed gdom_info kzalloc leaves ret at 0: the sheet's bug 15).
 *
 * hdom_id is a u32, so `hdom_id <= 0` only catches 0: a failed amd_iommu_pdom_id_alloc (-ENOMEM from the IDA)
 * is stored as 0xfffffff4 and the domain is returned as if allocated (the sheet's "≤0 → -ENOSPC" is what the
 * check intends; the source does not do it). Its DTE then carries DomID 0xfff4, and freeing it BUGs in
 * ida_free. -ENOSPC is returned only for an hDomID of 0, which the IDA never hands out.
 */
export function amd_iommu_alloc_domain_nested(
  d: AmdDriver,
  aviommu: AmdIommuViommu,
  _flags: number,
  user: NestedUserData,
  fixes: NestedFixes = {},
): KPtr<NestedDomain> {
  const k = d.k;
  return k.call(F.amd_iommu_alloc_domain_nested, () => {
    const pr = printers(k.log, 'AMD-Vi: ');
    if (user.type !== IOMMU_HWPT_DATA_AMD_GUEST) return ERR_PTR(-Errno.EOPNOTSUPP);
    const va = kzalloc(k, SIZEOF_NESTED_DOMAIN, GFP_KERNEL);
    if (va === null) return ERR_PTR(-Errno.ENOMEM);
    const ndom: NestedDomain = { va, gdom_id: 0, gdom_info: null, gdte: [0n, 0n, 0n, 0n], viommu: null };
    let ret = k.call(F.iommu_copy_struct_from_user, () => k.shouldFail('copy_from_user')?.value ?? 0);
    if (!ret) {
      ndom.gdte = [...user.dte];
      ret = validate_gdte_nested(d, ndom.gdte);
    }
    if (ret) {
      kfree(k, va); // out_err
      return ERR_PTR(ret);
    }
    ndom.gdom_id = Number(fieldGet(DTE_DOMID_MASK, ndom.gdte[1]));
    ndom.viommu = aviommu;

    const infoVa = kzalloc(k, SIZEOF_GDOM_INFO, GFP_KERNEL);
    if (infoVa === null) {
      kfree(k, va); // out_err with ret still 0: ERR_PTR(0) is NULL
      return fixes.gdomInfoErrno ? ERR_PTR(-Errno.ENOMEM) : null;
    }
    const gdom_info: GuestDomainMappingInfo = { va: infoVa, users: 0, hdom_id: 0 };
    const curr = xa_cmpxchg(k, aviommu.gdomid_array, ndom.gdom_id, gdom_info, GFP_ATOMIC);
    if (curr) {
      if ('errno' in curr) {
        kfree(k, infoVa); // out_err_gdom_info
        kfree(k, va);
        return ERR_PTR(-Errno.EINVAL);
      }
      // The gDomID already exist
      pr.pr_debug(
        '%s: Found gdom_id=%#x, hdom_id=%#x\n',
        'amd_iommu_alloc_domain_nested',
        ndom.gdom_id,
        curr.current.hdom_id,
      );
      curr.current.users++;
      ndom.gdom_info = curr.current;
      kfree(k, infoVa);
      return ndom;
    }
    // The gDomID does not exist. We allocate new hdom_id (a u32).
    gdom_info.hdom_id = amd_iommu_pdom_id_alloc(d) >>> 0;
    if (gdom_info.hdom_id <= 0) {
      if (aviommu.gdomid_array.get(ndom.gdom_id) === gdom_info) aviommu.gdomid_array.delete(ndom.gdom_id);
      kfree(k, infoVa); // out_err_gdom_info
      kfree(k, va);
      return ERR_PTR(-Errno.ENOSPC);
    }
    gdom_info.users = 1;
    ndom.gdom_info = gdom_info;
    pr.pr_debug(
      '%s: Allocate gdom_id=%#x, hdom_id=%#x\n',
      'amd_iommu_alloc_domain_nested',
      ndom.gdom_id,
      gdom_info.hdom_id,
    );
    return ndom;
  });
}

/**
 * set_dte_nested: the parent's v1 DTE with the nested domain's hDomID, the guest's PPR, GLX/GV/GIOV, GCR3
 * root and paging level, then vImuEn, the guest DevID and the guest ID; written through amd_iommu_update_dte.
 */
export function set_dte_nested(d: AmdDriver, iommu: AmdIommu, ndom: NestedDomain, dev: DevData): void {
  d.k.call(F.set_dte_nested, () => {
    // The nest parent is attached by viommu_init and stored in aviommu->parent.
    if (d.k.WARN_ON(!ndom.viommu || !ndom.viommu.parent)) return;
    const parent = ndom.viommu!.parent!;
    const gdte = ndom.gdte;
    const dte = amd_iommu_make_clear_dte(iommu, dev.devid);
    // Use nested domain ID to program DTE.
    amd_iommu_set_dte_v1(dev, ndom.gdom_info!.hdom_id & 0xffff, pt_iommu_amdv1_hw_info(parent.amdv1!.top()), dte);
    dte[0] |= gdte[0] & DTE_FLAG_PPR; // Guest PPR
    dte[0] |= gdte[0] & (DTE_GLX | DTE_FLAG_GV | DTE_FLAG_GIOV); // Guest translation stuff
    dte[0] |= gdte[0] & DTE_GCR3_14_12; // GCR3 table
    dte[1] |= gdte[1] & (DTE_GCR3_30_15 | DTE_GCR3_51_31);
    dte[2] |= gdte[2] & DTE_GPT_LEVEL_MASK; // Guest paging mode
    dte[3] |= 1n << DTE_VIOMMU_EN_SHIFT; // vImuEn
    dte[3] |= (BigInt(dev.gDevId ?? 0) & DTE_VIOMMU_GDEVICEID_MASK) << DTE_VIOMMU_GDEVICEID_SHIFT;
    dte[3] |= (BigInt(dev.gid ?? 0) & DTE_VIOMMU_GUESTID_MASK) << DTE_VIOMMU_GUESTID_SHIFT;
    amd_iommu_update_dte(d.k, iommu, dev, dte);
  });
}

/**
 * nested_attach_device: the nested DTE, then the guest's DomID mapped to the hDomID through VF_CNTL. The
 * device is not put on the parent's dev_list nor its IOMMU in the parent's iommu_array (as for the translate
 * DTE, the sheet's bug 6): parent flushes reach it only through the hDomID fan-out.
 */
export function nested_attach_device(
  d: AmdDriver,
  patch: GuestTableOps,
  iommu: AmdIommu,
  ndom: NestedDomain,
  dev: DevData,
): number {
  return d.k.call(F.nested_attach_device, () => {
    set_dte_nested(d, iommu, ndom, dev);
    return patch.amd_viommu_domain_id_update(iommu, dev.gid ?? 0, ndom.gdom_info!.hdom_id, ndom.gdom_id);
  });
}

/**
 * nested_domain_free: drops the gDomID mapping's reference; the last one erases the mapping, frees it, and
 * then reads the hDomID through the pointer it just freed (bug 15: a use-after-free KASAN reports). When the
 * reference is not the last, the nested domain object itself is never freed (bug 15: a leak).
 */
export function nested_domain_free(d: AmdDriver, ndom: NestedDomain, fixes: NestedFixes = {}): void {
  const k = d.k;
  k.call(F.nested_domain_free, () => {
    const aviommu = ndom.viommu!;
    const info = ndom.gdom_info!;
    k.kasanLoad(info.va, 'guest_domain_mapping_info.users');
    if (--info.users !== 0) {
      if (fixes.freeNotLast) kfree(k, ndom.va);
      return;
    }
    // The refcount for the gdom_id to hdom_id mapping is zero: remove it (an erase never allocates).
    const curr = aviommu.gdomid_array.get(ndom.gdom_id) ?? null;
    if (curr === info) aviommu.gdomid_array.delete(ndom.gdom_id);
    if (curr) {
      printers(k.log, 'AMD-Vi: ').pr_debug(
        '%s: Free gdom_id=%#x, hdom_id=%#x\n',
        'nested_domain_free',
        ndom.gdom_id,
        curr.hdom_id,
      );
      if (fixes.hdomIdBeforeKfree) amd_iommu_pdom_id_free(d, curr.hdom_id | 0);
      kfree(k, curr.va);
    }
    if (!fixes.hdomIdBeforeKfree) {
      k.kasanLoad(info.va, 'guest_domain_mapping_info.hdom_id');
      amd_iommu_pdom_id_free(d, info.hdom_id | 0); // the int parameter of amd_iommu_pdom_id_free
    }
    kfree(k, ndom.va);
  });
}

/**
 * What iommufd_viommu_alloc_hwpt_nested (the IOMMU_HWPT_ALLOC path for a vIOMMU) does with the driver's
 * result: an ERR_PTR is the ioctl's errno; anything else is taken for a domain and stored through
 * (`hwpt->domain->iommufd_hwpt = hwpt` first), so a NULL oopses there. Returns the domain or the errno.
 */
export function iommufd_viommu_alloc_hwpt_nested(k: Kernel, dom: KPtr<NestedDomain>): NestedDomain | number {
  return k.call(F.iommufd_viommu_alloc_hwpt_nested, () => {
    if (dom instanceof ErrPtr) return PTR_ERR(dom);
    return k.deref(dom, { field: 'iommu_domain.iommufd_hwpt' });
  });
}
