/**
 * Where each ported function comes from. A ported function runs as one frame of the simulated call path
 * (`k.call(F.name, ...)`), and a frame can only be made here, together with the upstream file and commit
 * it follows; so every frame a failure-point site can name is known before anything runs, and the list of
 * ported functions with their sources is derived, never kept by hand.
 */

/** A source tree at one commit. */
export interface Tree {
  readonly repo: string;
  readonly commit: string;
}

export interface Upstream {
  readonly tree: Tree;
  readonly file: string;
}

export interface Frame {
  readonly name: string;
  readonly upstream: Upstream;
}

/** AMDESE/linux-iommu at the snapshot that carries the vIOMMU series (the base tree of the AMD driver). */
export const AMDESE_S: Tree = { repo: 'AMDESE/linux-iommu', commit: '06c926bd6396d604004056313e0ace3925aaae5f' };
/**
 * nested.c as the fact sheet names it (§1.3: AMDESE/linux-iommu @ 1e91ed15, copy id 67615232805): no nested.c is
 * stored at the base tree, and this is the version with the gDomID → hDomID mapping the base tree's flush uses.
 */
export const AMDESE_NESTED: Tree = {
  repo: 'AMDESE/linux-iommu',
  commit: '1e91ed151e5ed4af9534424a758d73fb102c92ac',
};
/**
 * trans_devid.c with the reservation half of the pool (AMDESE/linux-iommu @ 1299b22d, the sheet's §1.3, copy id
 * 66653492885): the base tree's amd_iommu_attach_device calls it, and no trans_devid.c is stored at the base tree.
 */
export const AMDESE_TRANS_DEVID: Tree = {
  repo: 'AMDESE/linux-iommu',
  commit: '1299b22dfb414c2fc1f003914b812f17de0f89ab',
};
/** Mainline Linux, for the platform code whose behaviour has been stable for years. */
export const MAINLINE: Tree = { repo: 'torvalds/linux', commit: 'v6.19' };
/** generic_pt's iommu_pt.h at the newest text found (joergroedel/linux-iommu), for the map and unmap walks. */
export const IOMMUPT: Tree = { repo: 'joergroedel/linux-iommu', commit: '8ef3f77c440005c7f04229a75976bfc078364247' };
/**
 * drivers/iommu/iommu.c as of upstream 0735c54804c7 ("iommu: Handle unmap error when iommu_debug is enabled")
 * on top of b948a87228: iommu_map_nosync calls map_range and always unwinds with iommu_unmap.
 */
export const IOMMU_CORE: Tree = { repo: 'torvalds/linux', commit: '0735c54804c709d1b292f3b6947cfb560b2ce552' };
/** What viommu-spec itself adds: harness frames with no kernel counterpart. */
export const HARNESS: Tree = { repo: 'viommu-spec', commit: '-' };

const frames = new Map<string, Frame>();

/**
 * Declares the frames of one ported file: `const F = portedFrom(tree, 'drivers/iommu/amd/iommu.c', [...])`.
 * A name declared twice must come from the same file.
 */
export function portedFrom<const N extends string>(
  tree: Tree,
  file: string,
  names: readonly N[],
): { readonly [K in N]: Frame } {
  const out = {} as Record<N, Frame>;
  for (const name of names) {
    const known = frames.get(name);
    if (known && known.upstream.file !== file)
      throw new Error(`frame ${name} declared for ${known.upstream.file} and ${file}`);
    const frame = known ?? { name, upstream: { tree, file } };
    frames.set(name, frame);
    out[name] = frame;
  }
  return out;
}

/** Every frame declared so far (all of them, once the vendor registries are imported). */
export function portedFrames(): readonly Frame[] {
  return [...frames.values()];
}
