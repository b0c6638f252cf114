import { ErrPtr, type KPtr } from '../../linux/kptr.js';
import type { AmdIommu } from '../../linux/amd/amd-iommu.js';
import type { AmdIommuViommu } from '../../linux/amd/viommu-guest.js';
import type { DriverObjectKind } from '../vendor.js';
import type { DriverField } from '../view.js';

/**
 * The driver structs a spec can observe with `driver:`, and how each field is read: the one registry the
 * schema's documentation, the compiler's field check and the diff come from. A pointer reads as the kernel
 * address C would hold (an ERR_PTR as its value), NULL as null.
 */

interface Field<T> {
  readonly doc: string;
  read(o: T): DriverField;
}

const ptr = (p: KPtr<{ readonly va: bigint }> | undefined): bigint | null =>
  p === null || p === undefined ? null : p instanceof ErrPtr ? p.address : p.va;

const IOMMU_FIELDS: Readonly<Record<string, Field<AmdIommu>>> = {
  viommu_pdom: {
    doc: 'the vIOMMU private domain (the domain object, NULL or an ERR_PTR)',
    read: (i) => ptr(i.viommu_pdom),
  },
  viommu_priv_region: { doc: 'the four private subregions (kernel addresses)', read: (i) => [...i.viommu_priv_region] },
  viommu_dev_data: { doc: "the IOMMU's own iommu_dev_data (series-s)", read: (i) => i.viommu_dev_data?.va ?? null },
  ext_ir_table: { doc: 'the extended interrupt-remapping table (series-s)', read: (i) => i.ext_ir_table },
  vf_base: { doc: 'the VF BAR as ioremapped', read: (i) => i.vf_base },
  vfctrl_base: { doc: 'the VF_CNTL BAR as ioremapped', read: (i) => i.vfctrl_base },
  gids: {
    doc: 'the guest IDs allocated from gid_ida, ascending',
    read: (i) => (i.gid_ida?.allocated() ?? []).map(BigInt),
  },
};

const VIOMMU_FIELDS: Readonly<Record<string, Field<AmdIommuViommu>>> = {
  gid: { doc: 'its guest ID', read: (v) => BigInt(v.gid) },
  parent: { doc: 'the nest parent (domain object)', read: (v) => ptr(v.parent) },
  devid_table: { doc: 'the DevID map table (kernel address)', read: (v) => v.devid_table },
  domid_table: { doc: 'the DomID map table (kernel address)', read: (v) => v.domid_table },
  trans_devid: { doc: 'the translate device ID', read: (v) => BigInt(v.trans_devid) },
};

const readAll = <T>(fields: Readonly<Record<string, Field<T>>>, o: T): Record<string, DriverField> =>
  Object.fromEntries(Object.entries(fields).map(([name, f]) => [name, f.read(o)]));

const docs = <T>(fields: Readonly<Record<string, Field<T>>>): Record<string, string> =>
  Object.fromEntries(Object.entries(fields).map(([name, f]) => [name, f.doc]));

export const AMD_DRIVER_OBJECTS: readonly DriverObjectKind[] = [
  { prefix: 'iommu', doc: 'struct amd_iommu of the IOMMU with that index', fields: docs(IOMMU_FIELDS) },
  {
    prefix: 'viommu',
    doc: 'struct amd_iommu_viommu of the iommufd vIOMMU object with that ID',
    fields: docs(VIOMMU_FIELDS),
  },
];

/** Every observable driver struct of a machine, by key. */
export function readDriverObjects(
  iommus: readonly AmdIommu[],
  viommus: ReadonlyMap<number, { readonly viommu: AmdIommuViommu }>,
): Map<string, Record<string, DriverField>> {
  const out = new Map<string, Record<string, DriverField>>();
  for (const i of iommus) out.set(`iommu${i.index}`, readAll(IOMMU_FIELDS, i));
  for (const [id, v] of [...viommus].sort((a, b) => a[0] - b[0]))
    out.set(`viommu${id}`, readAll(VIOMMU_FIELDS, v.viommu));
  return out;
}
