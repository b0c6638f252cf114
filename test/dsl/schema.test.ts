import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generatedDefs, withGeneratedDefs } from '../../dsl/schema-gen.js';
import { INVARIANT_NAMES } from '../../runtime/check/invariants.js';
import { EXPECTATIONS } from '../../runtime/check/diff.js';
import { EXPECT_KEYS } from '../../runtime/plan/expect.js';
import { AMD_ENTRY_POINTS } from '../../runtime/vendor/amd/entry-points.js';

const schemaText = readFileSync('schemas/spec.schema.json', 'utf8');
const schema = JSON.parse(schemaText) as {
  $defs: Record<string, { properties?: Record<string, unknown>; enum?: unknown[] }>;
};

describe('the spec schema and the runtime registries', () => {
  it('holds the vocabularies the registries generate (run `npm run gen:schema` after adding an entry point or invariant)', () => {
    expect(schemaText).toBe(withGeneratedDefs(JSON.parse(schemaText) as Parameters<typeof withGeneratedDefs>[0]));
  });

  it('names every entry point, with each one its own arguments', () => {
    expect(schema.$defs['callName']!.enum).toEqual(AMD_ENTRY_POINTS.map((e) => e.name));
    const map = (
      generatedDefs()['callArgs'] as {
        allOf: {
          if: { properties: { call: { const: string } } };
          then: { properties: { args: { properties: object } } };
        }[];
      }
    ).allOf;
    const iommuMap = map.find((b) => b.if.properties.call.const === 'iommu_map')!;
    expect(Object.keys(iommuMap.then.properties.args.properties)).toEqual(['iova', 'pa', 'size', 'prot']);
  });

  it('lets every invariant but the opt-in ones be disabled by name', () => {
    expect(schema.$defs['invariantName']!.enum).toEqual(INVARIANT_NAMES.filter((n) => n !== 'errno_discipline'));
  });

  it('has one expect: key per compiled expectation, each with a checker', () => {
    expect(Object.keys(schema.$defs['expect']!.properties!)).toEqual([...EXPECT_KEYS]);
    expect(Object.keys(EXPECTATIONS)).toEqual([...EXPECT_KEYS]);
  });
});
