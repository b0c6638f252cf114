import { amd_iommu_attach_device, attach_device, detach_device } from '../../linux/amd/attach.js';
import { amd_iommu_completion_wait, iommu_flush_dte, iommu_reset_vmmio } from '../../linux/amd/cmd.js';
import { amd_iommu_gid_alloc, amd_iommu_gid_free } from '../../linux/amd/gid.js';
import { iommu_iova_to_phys, iommu_map, iommu_unmap } from '../../linux/amd/iommu-core.js';
import { GFP_KERNEL } from '../../linux/gfp.js';
import { IOMMU_CACHE, IOMMU_MMIO, IOMMU_NOEXEC, IOMMU_READ, IOMMU_WRITE } from '../../pt/defs.js';
import type { ArgSpec, ArgValues, ProtFlag } from '../args.js';
import type { CallArgs, CallReturn, EntryPoint } from '../vendor.js';
import type { AmdIommu } from '../../linux/amd/amd-iommu.js';
import type { AmdMachine } from './machine.js';
import { ViommuSeriesS } from '../../linux/amd/variants/series-s.js';
import {
  _amd_viommu_vdevice_init,
  amd_iommufd_hw_queue_init,
  amd_iommufd_viommu_destroy,
  amd_iommufd_viommu_init,
} from '../../linux/amd/iommufd.js';
import { amd_iommu_domain_alloc_paging_v1 } from '../../linux/amd/pdom.js';
import {
  amd_iommu_alloc_domain_nested,
  iommufd_viommu_alloc_hwpt_nested,
  IOMMU_HWPT_DATA_AMD_GUEST,
  nested_attach_device,
  nested_domain_free,
} from '../../linux/amd/nested.js';
import type { ProtectionDomain } from '../../linux/amd/domain.js';
import { IS_ERR, PTR_ERR } from '../../linux/kptr.js';
import { Errno } from '../../linux/errno.js';
import { invariant } from '../../base/model-bug.js';

/**
 * The AMD driver entry points a spec can `call`, one row each: its arguments (by type), what it returns,
 * what it does, and how it runs on the machine. The spec schema's `call` vocabulary, its per-call argument
 * checks, the executor's dispatch and the README's list all come from this table; adding an entry point is
 * one row here plus its port.
 */

/** attach_device's first touch of the domain is spin_lock(&pdom->lock). */
const PDOM_LOCK = { field: 'protection_domain.lock' } as const;

/** A row with typed arguments: `run` sees exactly the ArgSpec's values, required ones never undefined. */
function entry<const A extends ArgSpec>(row: {
  readonly name: string;
  readonly doc: string;
  readonly args: A;
  readonly returns: EntryPoint<AmdMachine>['returns'];
  readonly variants?: readonly string[];
  readonly restartable?: true;
  readonly run: (m: AmdMachine, iommu: AmdIommu, args: ArgValues<A>) => CallReturn;
}): EntryPoint<AmdMachine> {
  return {
    ...row,
    run: (m: AmdMachine, iommu: number, args: CallArgs) => row.run(m, m.iommu(iommu), args as ArgValues<A>),
  };
}

const required = <T extends ArgSpec[string]['type']>(type: T) => ({ type, required: true }) as const;
const optional = <T extends ArgSpec[string]['type']>(type: T) => ({ type, required: false }) as const;

export const PROT: Readonly<Record<string, number>> = {
  r: IOMMU_READ,
  w: IOMMU_WRITE,
  rw: IOMMU_READ | IOMMU_WRITE,
  none: 0,
};

/** The flags of a list-form `prot` (include/linux/iommu.h); what each does to an entry is the format's. */
export const PROT_FLAGS: Readonly<Record<ProtFlag, number>> = {
  r: IOMMU_READ,
  w: IOMMU_WRITE,
  cache: IOMMU_CACHE,
  noexec: IOMMU_NOEXEC,
  mmio: IOMMU_MMIO,
};

const SERIES_S = ['series-s', 'series-s-fixed'] as const;

/** The compiler admits the series-s entry points only with that variant, so this cannot fail. */
function seriesS(m: AmdMachine): ViommuSeriesS {
  invariant(m.patch instanceof ViommuSeriesS, 'a series-s entry point on another variant');
  return m.patch;
}

export const AMD_ENTRY_POINTS: readonly EntryPoint<AmdMachine>[] = [
  entry({
    name: 'amd_viommu_init',
    doc: 'vIOMMU set-up of one IOMMU at boot (viommu.c)',
    args: {},
    returns: 'int',
    run: (m, iommu) => m.patch.amd_viommu_init(iommu),
  }),
  entry({
    name: 'viommu_private_space_init',
    doc: "the patch's private-space set-up alone",
    args: {},
    returns: 'int',
    run: (m, iommu) => m.patch.viommu_private_space_init(iommu),
  }),
  entry({
    name: 'viommu_private_space_uninit',
    doc: 'its teardown',
    args: {},
    returns: 'void',
    run: (m, iommu) => {
      m.patch.viommu_private_space_uninit(iommu);
      return null;
    },
  }),
  entry({
    name: 'set_iommu_dte',
    doc: "point the IOMMU's own DTE at its vIOMMU domain",
    args: {},
    returns: 'void',
    run: (m, iommu) => {
      m.patch.set_iommu_dte(iommu);
      return null;
    },
  }),
  entry({
    name: 'iommu_flush_dte',
    doc: 'INVALIDATE_DEVTAB_ENTRY for one devid',
    args: { devid: required('devid') },
    returns: 'int',
    run: (m, iommu, a) => iommu_flush_dte(m.k, iommu, a.devid),
  }),
  entry({
    name: 'amd_iommu_completion_wait',
    doc: 'a completion wait on the IOMMU',
    args: {},
    returns: 'int',
    run: (m, iommu) => amd_iommu_completion_wait(m.k, iommu),
  }),
  entry({
    name: 'amd_iommu_flush_private_vm_region',
    doc: "flush a range of the IOMMU's vIOMMU domain on that IOMMU",
    args: { iova: required('address'), size: required('address') },
    returns: 'int',
    run: (m, iommu, a) => m.patch.amd_iommu_flush_private_vm_region(iommu, iommu.viommu_pdom, a.iova, a.size),
  }),
  entry({
    name: 'iommu_map',
    doc: "map a range in the IOMMU's vIOMMU domain, or in the paging domain `domid` (-ENOENT if there is none)",
    args: {
      iova: required('address'),
      pa: required('addressOrAlloc'),
      size: required('address'),
      prot: required('prot'),
      domid: optional('u16'),
    },
    returns: 'int',
    // iommu_map only reads the domain before map_range's walk, and its unwind and sync come after it.
    restartable: true,
    run: (m, iommu, a) => {
      const dom = a.domid === undefined ? iommu.viommu_pdom : m.pagingDomains.get(a.domid);
      if (dom === undefined) return -Errno.ENOENT;
      return iommu_map(m.k, dom, a.iova, a.pa, a.size, a.prot, GFP_KERNEL);
    },
  }),
  entry({
    name: 'iommu_unmap',
    doc: 'unmap a range of it (or of the paging domain `domid`: 0 if there is none); returns the bytes unmapped',
    args: { iova: required('address'), size: required('address'), domid: optional('u16') },
    returns: 'size',
    run: (m, iommu, a) => {
      const dom = a.domid === undefined ? iommu.viommu_pdom : m.pagingDomains.get(a.domid);
      return dom === undefined ? 0n : iommu_unmap(m.k, dom, a.iova, a.size);
    },
  }),
  entry({
    name: 'iommu_iova_to_phys',
    doc:
      "the physical address `iova` translates to in the IOMMU's vIOMMU domain or the paging domain `domid`: 0 " +
      'when nothing maps it, the negative errno as a phys_addr_t beyond the VA the table covers (-ERANGE: ' +
      '0xffffffffffffffde); 0 for no such domain',
    args: { iova: required('address'), domid: optional('u16') },
    returns: 'phys',
    run: (m, iommu, a) => {
      const dom = a.domid === undefined ? iommu.viommu_pdom : m.pagingDomains.get(a.domid);
      return dom === undefined ? 0n : iommu_iova_to_phys(m.k, dom, a.iova);
    },
  }),
  entry({
    name: 'attach_device',
    doc:
      'attach a device behind the IOMMU to its vIOMMU domain, or to the paging domain `domid` (-ENOENT if none); ' +
      'on series-s through amd_iommu_attach_device, which first reserves the devid in the translate-devid pool',
    args: { devid: required('devid'), domid: optional('u16') },
    returns: 'int',
    run: (m, iommu, a) => {
      const dom: ProtectionDomain | undefined =
        a.domid === undefined ? m.k.deref(iommu.viommu_pdom, PDOM_LOCK) : m.pagingDomains.get(a.domid);
      if (dom === undefined) return -Errno.ENOENT;
      const dev = m.device(iommu, a.devid);
      // v3 calls the static attach_device (the seed's harness); the base tree's attach_dev op reserves first.
      if (m.patch instanceof ViommuSeriesS) return amd_iommu_attach_device(m.driver, iommu, dev, dom, true);
      return attach_device(m.driver, iommu, dev, dom);
    },
  }),
  entry({
    name: 'detach_device',
    doc: 'detach it again',
    args: { devid: required('devid') },
    returns: 'void',
    run: (m, iommu, a) => {
      detach_device(m.driver, iommu, m.device(iommu, a.devid));
      return null;
    },
  }),
  entry({
    name: 'amd_iommu_gid_alloc',
    doc: 'allocate a vIOMMU guest ID on the IOMMU (1..0xffff, lowest free first)',
    args: {},
    returns: 'int',
    run: (m, iommu) => amd_iommu_gid_alloc(m.k, iommu),
  }),
  entry({
    name: 'amd_iommu_gid_free',
    doc: 'give a guest ID back',
    args: { gid: required('u16') },
    returns: 'void',
    run: (m, iommu, a) => {
      amd_iommu_gid_free(m.k, iommu, a.gid);
      return null;
    },
  }),
  entry({
    name: 'iommu_reset_vmmio',
    doc: "RESET_VMMIO of a guest's virtualised MMIO, then a completion wait",
    args: { gid: required('u16') },
    returns: 'void',
    run: (m, iommu, a) => {
      iommu_reset_vmmio(m.k, iommu, a.gid);
      return null;
    },
  }),
  entry({
    name: 'amd_viommu_init_one',
    doc: "a guest's DevID and DomID tables in the private space, then every mapping reset (131072 VF_CNTL writes)",
    args: { gid: required('u16'), parent_domid: required('u16') },
    returns: 'int',
    variants: SERIES_S,
    run: (m, iommu, a) => seriesS(m).amd_viommu_init_one(iommu, m.guest(iommu, a.gid, a.parent_domid)),
  }),
  entry({
    name: 'amd_viommu_uninit_one',
    doc: "free the guest's tables, then reset every mapping",
    args: { gid: required('u16') },
    returns: 'void',
    variants: SERIES_S,
    run: (m, iommu, a) => {
      seriesS(m).amd_viommu_uninit_one(iommu, m.guest(iommu, a.gid));
      return null;
    },
  }),
  entry({
    name: 'amd_viommu_set_device_mapping',
    doc: 'map a guest DevID to a host DevID through VF_CNTL',
    args: { devid: required('devid'), gid: required('u16'), gdevid: required('devid') },
    returns: 'void',
    variants: SERIES_S,
    run: (m, iommu, a) => {
      seriesS(m).amd_viommu_set_device_mapping(iommu, a.devid, a.gid, a.gdevid);
      return null;
    },
  }),
  entry({
    name: 'amd_viommu_domain_id_update',
    doc: 'map a guest DomID to a host DomID through VF_CNTL',
    args: { gid: required('u16'), hdomid: required('u16'), gdomid: required('u16') },
    returns: 'int',
    variants: SERIES_S,
    run: (m, iommu, a) => seriesS(m).amd_viommu_domain_id_update(iommu, a.gid, a.hdomid, a.gdomid),
  }),
  entry({
    name: 'amd_iommu_domain_alloc_paging',
    doc:
      "a v1 paging domain for the IOMMU's node (a nest parent for vIOMMUs); returns its domain ID or an errno. " +
      "The generic_pt config args replace the driver's own (VA bits from the EFR's HATS, starting level 2, " +
      'the forced features plus FLUSH_RANGE or, under NpCache, FLUSH_RANGE_NO_GAPS), as a KUnit config does',
    args: {
      hw_max_vasz_lg2: optional('lg2'),
      starting_level: optional('pt_level'),
      features: optional('pt_features'),
    },
    returns: 'int',
    run: (m, iommu, a) => {
      const dom = amd_iommu_domain_alloc_paging_v1(m.driver, iommu.node, 0, {
        ...(a.hw_max_vasz_lg2 === undefined ? {} : { hwMaxVaszLg2: a.hw_max_vasz_lg2 }),
        ...(a.starting_level === undefined ? {} : { startingLevel: a.starting_level }),
        ...(a.features === undefined ? {} : { features: a.features }),
      });
      if (IS_ERR(dom)) return PTR_ERR(dom);
      const pdom = m.k.deref(dom, { field: 'protection_domain.id' });
      m.pagingDomains.set(pdom.id, pdom);
      return pdom.id;
    },
  }),
  entry({
    name: 'amd_iommufd_viommu_init',
    doc: 'iommufd vIOMMU alloc on the IOMMU with a paging domain as nest parent; `id` names the object',
    args: { id: required('u16'), parent_domid: required('u16') },
    returns: 'int',
    variants: SERIES_S,
    run: (m, iommu, a) => {
      // iommufd looks the parent HWPT up by ID first: an unknown one is -ENOENT.
      const parent = m.pagingDomains.get(a.parent_domid);
      if (!parent) return -Errno.ENOENT;
      const { ret, viommu } = amd_iommufd_viommu_init(m.driver, seriesS(m), iommu, parent, {
        out_vfmmio_mmap_offset: 0n,
      });
      if (viommu) m.viommus.set(a.id, { iommu, viommu });
      if (viommu) m.nestParentIds.add(parent.id);
      return ret;
    },
  }),
  entry({
    name: 'amd_iommufd_viommu_destroy',
    doc:
      'IOMMU_DESTROY of the vIOMMU object `id`: 0, -ENOENT for no such object, -EBUSY while a nested domain, a ' +
      'vDEVICE or a HW queue uses it',
    args: { id: required('u16') },
    returns: 'int',
    variants: SERIES_S,
    run: (m, _iommu, a) => {
      const v = m.viommus.get(a.id);
      if (!v) return -Errno.ENOENT;
      // Nested HWPTs, vDEVICEs and HW queues hold a reference on their vIOMMU object (iommufd core,
      // drivers/iommu/iommufd/viommu.c @ 0d1e9d72): IOMMU_DESTROY of a used object is -EBUSY.
      if ([...m.nestedDomains.values()].some((n) => n.viommuId === a.id)) return -Errno.EBUSY;
      if (m.vdevices.get(a.id)?.size || m.hwQueues.get(a.id)?.length) return -Errno.EBUSY;
      amd_iommufd_viommu_destroy(m.driver, seriesS(m), v.iommu, v.viommu);
      m.viommus.delete(a.id);
      return 0;
    },
  }),
  entry({
    name: 'amd_iommufd_vdevice_init',
    doc:
      'iommufd vDEVICE of PCI function `devid` on vIOMMU object `id` with guest ID `virt_id` (-EEXIST when the ' +
      'device has a vDEVICE or the vIOMMU one with that virt_id)',
    args: { id: required('u16'), devid: required('devid'), virt_id: required('address') },
    returns: 'int',
    variants: SERIES_S,
    run: (m, iommu, a) => {
      const v = m.viommus.get(a.id);
      if (!v) return -Errno.ENOENT;
      // iommufd_vdevice_alloc_ioctl (0d1e9d72): one vDEVICE per device (idev->vdev), one per virt_id in
      // viommu->vdevs; the driver's vdevice_init last, its failure aborting the object.
      if ([...m.vdevices.values()].some((vs) => [...vs.values()].some((d) => d.iommu === iommu && d.devid === a.devid)))
        return -Errno.EEXIST;
      const vdevs = m.vdevices.get(a.id) ?? new Map<bigint, { iommu: AmdIommu; devid: number }>();
      if (vdevs.has(a.virt_id)) return -Errno.EEXIST;
      const dev = m.device(iommu, a.devid);
      const ret = _amd_viommu_vdevice_init(m.driver, seriesS(m), v.iommu, v.viommu, dev, a.virt_id);
      if (ret) return ret;
      m.vdevices.set(a.id, vdevs.set(a.virt_id, { iommu, devid: a.devid }));
      return 0;
    },
  }),
  entry({
    name: 'iommufd_vdevice_destroy',
    doc:
      'IOMMU_DESTROY of the vDEVICE with `virt_id` on vIOMMU object `id` (-ENOENT if none): the AMD driver sets no ' +
      'destroy op at S, so only the iommufd object goes',
    args: { id: required('u16'), virt_id: required('address') },
    returns: 'int',
    variants: SERIES_S,
    run: (m, _iommu, a) => {
      // iommufd_vdevice_abort (0d1e9d72): vdev->destroy if set (never, at S), off viommu->vdevs, the vIOMMU's
      // reference dropped, idev->vdev cleared. The DevID mapping and dev_data->gid stay (the sheet's bug 8).
      if (!m.vdevices.get(a.id)?.delete(a.virt_id)) return -Errno.ENOENT;
      return 0;
    },
  }),
  entry({
    name: 'amd_iommufd_hw_queue_init',
    doc: 'iommufd HW queue of vIOMMU object `id`: a guest buffer at GPA `base` with a 4-bit length code',
    args: {
      id: required('u16'),
      type: required('queue_type'),
      base: required('address'),
      length: required('u16'),
      flags: { type: 'queue_flags', required: false },
    },
    returns: 'int',
    variants: SERIES_S,
    run: (m, _iommu, a) => {
      const v = m.viommus.get(a.id);
      if (!v) return -Errno.ENOENT;
      const flags = new Set(a.flags ? a.flags.split(',') : []);
      const ret = amd_iommufd_hw_queue_init(m.driver, seriesS(m), v.iommu, v.viommu, a.type, {
        base_addr: a.base,
        length: a.length,
        flags,
      });
      // _iommufd_hw_queue_init (0d1e9d72) takes the vIOMMU reference before the driver's op and keeps the
      // object when the op fails (the ioctl's abort destroys it, dropping the reference again).
      if (!ret) m.hwQueues.set(a.id, [...(m.hwQueues.get(a.id) ?? []), a.type]);
      return ret;
    },
  }),
  entry({
    name: 'iommufd_hw_queue_destroy',
    doc:
      'IOMMU_DESTROY of a HW queue of type `type` on vIOMMU object `id` (-ENOENT if none): AMD sets no destroy op, ' +
      "so the queue's VF_CNTL register keeps its base and enable bits (the sheet's bug 7)",
    args: { id: required('u16'), type: required('queue_type') },
    returns: 'int',
    variants: SERIES_S,
    run: (m, _iommu, a) => {
      // iommufd_hw_queue_destroy (0d1e9d72): hw_queue->destroy if set (never, for AMD), the access (none: AMD
      // uses hw_queue_init, not _phys), the vIOMMU's reference.
      const queues = m.hwQueues.get(a.id) ?? [];
      const i = queues.indexOf(a.type);
      if (i < 0) return -Errno.ENOENT;
      queues.splice(i, 1);
      return 0;
    },
  }),
  entry({
    name: 'amd_iommu_alloc_domain_nested',
    doc:
      'IOMMU_HWPT_ALLOC of nested domain `id` on vIOMMU object `viommu` from the guest DTE `dte0`..`dte3` ' +
      '(IOMMU_HWPT_DATA_AMD_GUEST); 0 or the errno (a NULL domain oopses in iommufd, as the core dereferences it)',
    args: {
      id: required('u16'),
      viommu: required('u16'),
      dte0: required('address'),
      dte1: required('address'),
      dte2: optional('address'),
      dte3: optional('address'),
    },
    returns: 'int',
    variants: SERIES_S,
    run: (m, _iommu, a) => {
      const v = m.viommus.get(a.viommu);
      if (!v) return -Errno.ENOENT;
      if (m.nestedDomains.has(a.id)) return -Errno.EEXIST;
      const dom = amd_iommu_alloc_domain_nested(
        m.driver,
        v.viommu,
        0,
        {
          type: IOMMU_HWPT_DATA_AMD_GUEST,
          dte: [a.dte0, a.dte1, a.dte2 ?? 0n, a.dte3 ?? 0n],
        },
        seriesS(m).nestedFixes(),
      );
      const ndom = iommufd_viommu_alloc_hwpt_nested(m.k, dom);
      if (typeof ndom === 'number') return ndom;
      m.nestedDomains.set(a.id, { ndom, viommuId: a.viommu });
      return 0;
    },
  }),
  entry({
    name: 'nested_attach_device',
    doc: "attach PCI function `devid` to nested domain `id`: the nested DTE, then the guest DomID's mapping",
    args: { id: required('u16'), devid: required('devid') },
    returns: 'int',
    variants: SERIES_S,
    run: (m, iommu, a) => {
      const n = m.nestedDomains.get(a.id);
      if (!n) return -Errno.ENOENT;
      return nested_attach_device(m.driver, seriesS(m), iommu, n.ndom, m.device(iommu, a.devid));
    },
  }),
  entry({
    name: 'nested_domain_free',
    doc: "the nested domain `id`'s free op (what iommufd calls when its HWPT goes): 0, or -ENOENT for no such object",
    args: { id: required('u16') },
    returns: 'int',
    variants: SERIES_S,
    run: (m, _iommu, a) => {
      const n = m.nestedDomains.get(a.id);
      if (!n) return -Errno.ENOENT;
      m.nestedDomains.delete(a.id);
      nested_domain_free(m.driver, n.ndom, seriesS(m).nestedFixes());
      return 0;
    },
  }),
];
