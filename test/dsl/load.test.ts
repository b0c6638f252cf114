import { describe, expect, it } from 'vitest';
import { generateSpecTypes } from '../../schemas/gen-types.mjs';
import { readFileSync } from 'node:fs';
import { planFile } from '../../app/runner.js';
import { parseAddress } from '../../dsl/units.js';
import type { Plan } from '../../runtime/plan/plan.js';

function plans(file: string, root = 'test/dsl/fixtures'): Plan[] {
  const r = planFile(file, root);
  if ('invalid' in r) throw new Error(r.invalid.errors.join('\n'));
  return r.plans;
}

describe('spec values', () => {
  it('parses sizes and addresses: hex, decimal, K/M/G/T and KiB units, underscores; refuses 65 bits', () => {
    expect(parseAddress('2M')).toBe(0x20_0000n);
    expect(parseAddress('4KiB')).toBe(0x1000n);
    expect(parseAddress('64G')).toBe(64n << 30n);
    expect(parseAddress('0xFFFF_FFFF_FFFF_F000')).toBe(0xffff_ffff_ffff_f000n);
    expect(parseAddress(4096)).toBe(4096n);
    expect(parseAddress('0x10000000000000000')).toBeUndefined();
    expect(parseAddress('2X')).toBeUndefined();
  });

  it('loads 64-bit hex and decimal literals without losing precision', () => {
    const [plan] = plans('test/dsl/fixtures/wide.yaml');
    const [, top, dec] = plan!.steps;
    expect(top!.action).toMatchObject({
      kind: 'call',
      fn: 'iommu_map',
      args: { iova: 0xffff_ffff_ffff_f000n, size: 0x1000n },
    });
    expect(dec!.action).toMatchObject({ args: { iova: 0xffff_ffff_ffff_f000n } });
  });

  it('merges the extended fragment and expands cases into named plans', () => {
    const ids = plans('specs/viommu/subregion-alloc-failure.yaml', 'specs').map((p) => p.id);
    expect(ids).toEqual([
      'specs/viommu/subregion-alloc-failure.yaml#index-0',
      'specs/viommu/subregion-alloc-failure.yaml#index-1',
      'specs/viommu/subregion-alloc-failure.yaml#index-2',
      'specs/viommu/subregion-alloc-failure.yaml#index-3',
    ]);
  });
});

describe('schema and TypeScript types', () => {
  it('dsl/spec.generated.ts is what the schema generates (run `npm run gen:types` after editing the schema)', async () => {
    expect(readFileSync('dsl/spec.generated.ts', 'utf8')).toBe(await generateSpecTypes());
  });
});
