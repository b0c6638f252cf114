import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GENERATED_SECTIONS, renderReadme } from '../app/docs.js';

describe('the README', () => {
  it("lists exactly the registries' vocabulary (run `npm run gen:docs` after changing a registry)", () => {
    const readme = readFileSync('README.md', 'utf8');
    expect(readme).toBe(renderReadme(readme));
  });

  it('renders every entry point and invariant by name', () => {
    expect(GENERATED_SECTIONS['entry-points']!()).toContain(
      '| `iommu_map` | iova: address, pa: addressOrAlloc, size: address, prot: prot, domid?: u16 | int |',
    );
    expect(GENERATED_SECTIONS['invariants']!()).toContain('| `errno_discipline` (opt-in) |');
  });
});
