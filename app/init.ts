import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { packageFile } from '../dsl/package-file.js';

/** The files `viommu-spec init` writes, by name inside the new folder. */
export const FIRST_SPEC = 'first.yaml';
export const FIRST_FRAGMENT = 'machine.fragment.yaml';

const FRAGMENT_TEXT = `# The machine the specs of this folder share (\`extends: ${FIRST_FRAGMENT}\`); a spec deep-merges its own
# hardware over it. One AMD IOMMU (PCI 0000:00:00.2) with vIOMMU support on a single 64 GiB NUMA node,
# driven by the v3 09/22 private-region patch as posted.
hardware:
  memory:
    - { node: 0, base: 0, size: 64G }
  iommus:
    - devid: "0000:00:00.2"
      node: 0
      hats: 4
      viommu: true
      processor: immediate
  driver:
    variant: v3
`;

function specText(schema: string, spec: string): string {
  return `# yaml-language-server: $schema=${schema}
# A first spec: boot the vIOMMU private space, tear it down, and state the end state. Change a value under
# \`expect:\` and run it again to see a failure; \`viommu-spec explain ${spec}\` prints the whole end state.
name: the vIOMMU private space comes up as four UC 2 MiB subregions and goes away cleanly
tags: [first]
extends: ${FIRST_FRAGMENT}
steps:
  - { name: init, call: amd_viommu_init, expect: 0 }
  - { name: uninit, call: viommu_private_space_uninit, expect: void }
expect:
  oops: false
  memtypes: []
  leaks: []
`;
}

/**
 * Writes a first spec, the fragment it extends and the editor's schema line into `dir` (created when
 * missing). Refuses, writing nothing, when either file is there already; returns the files written or why not.
 */
export function initFolder(dir: string): { ok: true; files: string[] } | { ok: false; error: string } {
  const spec = join(dir, FIRST_SPEC);
  const fragment = join(dir, FIRST_FRAGMENT);
  const taken = [spec, fragment].filter((f) => existsSync(f));
  if (taken.length)
    return {
      ok: false,
      error: `${taken.join(' and ')} already exist${taken.length === 1 ? 's' : ''}; init never overwrites a file: choose a new folder (viommu-spec init <dir>)`,
    };
  // The schema as the installed package ships it, relative so the folder can move with its checkout.
  const schema = relative(dir, packageFile('schemas/spec.schema.json')).split(sep).join('/');
  try {
    mkdirSync(dir, { recursive: true });
    // `wx`: a file that appeared since the check above is still not overwritten.
    writeFileSync(fragment, FRAGMENT_TEXT, { flag: 'wx' });
    writeFileSync(spec, specText(schema, spec.split(sep).join('/')), { flag: 'wx' });
  } catch (e) {
    return { ok: false, error: `cannot write into ${dir}: ${(e as Error).message}` };
  }
  return { ok: true, files: [spec, fragment] };
}
