import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parse } from 'yaml';
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
    expect(Object.keys(iommuMap.then.properties.args.properties)).toEqual(['iova', 'pa', 'size', 'prot', 'domid']);
  });

  it('lets every invariant but the opt-in ones be disabled by name', () => {
    expect(schema.$defs['invariantName']!.enum).toEqual(INVARIANT_NAMES.filter((n) => n !== 'errno_discipline'));
  });

  it('has one expect: key per compiled expectation, each with a checker', () => {
    expect(Object.keys(schema.$defs['expect']!.properties!)).toEqual([...EXPECT_KEYS]);
    expect(Object.keys(EXPECTATIONS)).toEqual([...EXPECT_KEYS]);
  });
});

describe('the published schema accepts what the language accepts', () => {
  const validate = (() => {
    const require = createRequire(import.meta.url);
    const Ajv2020 = (require('ajv/dist/2020') as { default: typeof import('ajv').default }).default;
    return new Ajv2020({ allErrors: true, strict: true, strictRequired: false }).compile(
      JSON.parse(schemaText) as object,
    );
  })();
  const errorsOf = (value: unknown): string[] =>
    validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);

  const specFiles = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory()
        ? specFiles(join(dir, e.name))
        : /\.ya?ml$/.test(e.name) && !e.name.includes('.fragment.')
          ? [join(dir, e.name)]
          : [],
    );

  it.each(specFiles('specs'))('%s, as an editor sees it (extends not yet merged)', (file) => {
    expect(errorsOf(parse(readFileSync(file, 'utf8')))).toEqual([]);
  });

  it('every YAML example in the README', () => {
    const examples = [...readFileSync('README.md', 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(examples.length).toBeGreaterThan(1);
    for (const text of examples)
      expect([text.split('\n')[0], errorsOf(parse(text))]).toEqual([text.split('\n')[0], []]);
  });

  it('still rejects a spec with neither hardware nor a fragment to take it from', () => {
    expect(errorsOf({ name: 'x', steps: [{ call: 'amd_viommu_init' }] })).toContain(
      " must have required property 'hardware'",
    );
  });
});
