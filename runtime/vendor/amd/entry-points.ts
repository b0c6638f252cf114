import { attach_device, detach_device } from '../../linux/amd/attach.js';
import { amd_iommu_completion_wait, iommu_flush_dte, iommu_reset_vmmio } from '../../linux/amd/cmd.js';
import { amd_iommu_gid_alloc, amd_iommu_gid_free } from '../../linux/amd/gid.js';
import { iommu_map, iommu_unmap } from '../../linux/amd/iommu-core.js';
import { GFP_KERNEL } from '../../linux/gfp.js';
import { IOMMU_READ, IOMMU_WRITE } from '../../pt/defs.js';
import type { ArgSpec, ArgValues } from '../args.js';
import type { CallArgs, CallReturn, EntryPoint } from '../vendor.js';
import type { AmdIommu } from '../../linux/amd/amd-iommu.js';
import type { AmdMachine } from './machine.js';

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
  readonly run: (m: AmdMachine, iommu: AmdIommu, args: ArgValues<A>) => CallReturn;
}): EntryPoint<AmdMachine> {
  return {
    ...row,
    run: (m: AmdMachine, iommu: number, args: CallArgs) => row.run(m, m.iommu(iommu), args as ArgValues<A>),
  };
}

const required = <T extends ArgSpec[string]['type']>(type: T) => ({ type, required: true }) as const;

export const PROT: Readonly<Record<string, number>> = {
  r: IOMMU_READ,
  w: IOMMU_WRITE,
  rw: IOMMU_READ | IOMMU_WRITE,
  none: 0,
};

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
    doc: "map a range in the IOMMU's vIOMMU domain",
    args: {
      iova: required('address'),
      pa: required('addressOrAlloc'),
      size: required('address'),
      prot: required('prot'),
    },
    returns: 'int',
    run: (m, iommu, a) => iommu_map(m.k, iommu.viommu_pdom, a.iova, a.pa, a.size, a.prot, GFP_KERNEL),
  }),
  entry({
    name: 'iommu_unmap',
    doc: 'unmap a range of it; returns the bytes unmapped',
    args: { iova: required('address'), size: required('address') },
    returns: 'size',
    run: (m, iommu, a) => iommu_unmap(m.k, iommu.viommu_pdom, a.iova, a.size),
  }),
  entry({
    name: 'attach_device',
    doc: 'attach a device behind the IOMMU to its vIOMMU domain',
    args: { devid: required('devid') },
    returns: 'int',
    run: (m, iommu, a) =>
      attach_device(m.driver, iommu, m.device(iommu, a.devid), m.k.deref(iommu.viommu_pdom, PDOM_LOCK)),
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
    args: { gid: required('gid') },
    returns: 'void',
    run: (m, iommu, a) => {
      amd_iommu_gid_free(m.k, iommu, a.gid);
      return null;
    },
  }),
  entry({
    name: 'iommu_reset_vmmio',
    doc: "RESET_VMMIO of a guest's virtualised MMIO, then a completion wait",
    args: { gid: required('gid') },
    returns: 'void',
    run: (m, iommu, a) => {
      iommu_reset_vmmio(m.k, iommu, a.gid);
      return null;
    },
  }),
];
