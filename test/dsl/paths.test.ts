import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planFile } from '../../app/runner.js';

const HW =
  'hardware: { memory: [{ node: 0, base: 0, size: 1G }], iommus: [{ devid: "0000:00:00.2" }] }\nsteps: [{ call: amd_viommu_init }]\n';

/** A suite root holding one spec that extends `target`, and a fragment outside the root. */
function suite(target: string): { root: string; spec: string } {
  const base = mkdtempSync(join(tmpdir(), 'viommu-paths-'));
  const root = join(base, 'suite');
  mkdirSync(root);
  writeFileSync(join(base, 'outside.fragment.yaml'), 'tags: [outside]\n');
  const spec = join(root, 's.yaml');
  writeFileSync(spec, `name: escape\nextends: ${target}\n${HW}`);
  return { root, spec };
}

function errorOf(root: string, spec: string): string {
  const r = planFile(spec, root);
  if (!('invalid' in r)) throw new Error('expected an invalid spec');
  return r.invalid.errors.join('\n');
}

describe('extends cannot leave the suite root', () => {
  it('refuses an absolute path', () => {
    const { root, spec } = suite('/etc/hostname');
    expect(errorOf(root, spec)).toContain('absolute paths are not allowed; write a path relative to the spec');
  });

  it('refuses ../ out of the root, whether or not the target exists', () => {
    const { root, spec } = suite('../outside.fragment.yaml');
    expect(errorOf(root, spec)).toContain('../outside.fragment.yaml is outside the suite root');
    const missing = suite('../../nowhere.yaml');
    expect(errorOf(missing.root, missing.spec)).toContain('is outside the suite root');
  });

  it('refuses a symbolic link inside the root that leads out of it', () => {
    const { root, spec } = suite('link.fragment.yaml');
    symlinkSync(join(root, '..', 'outside.fragment.yaml'), join(root, 'link.fragment.yaml'));
    expect(errorOf(root, spec)).toContain('link.fragment.yaml leads outside the suite root');
  });

  it('accepts a fragment inside the root', () => {
    const { root, spec } = suite('inside.fragment.yaml');
    writeFileSync(join(root, 'inside.fragment.yaml'), 'tags: [inside]\n');
    const r = planFile(spec, root);
    expect('plans' in r && r.plans[0]!.tags).toEqual(['inside']);
  });
});
