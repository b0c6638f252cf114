// Generates dsl/spec.generated.ts from schemas/spec.schema.json: the schema is the one source of truth
// for spec syntax, and test/dsl/schema-types.test.ts fails when the committed types lag behind it.
import { readFileSync, writeFileSync } from 'node:fs';
import { compile } from 'json-schema-to-typescript';

const BANNER = '/* Generated from schemas/spec.schema.json by `npm run gen:types`. Do not edit. */';

export async function generateSpecTypes() {
  const schema = JSON.parse(readFileSync(new URL('./spec.schema.json', import.meta.url), 'utf8'));
  return compile(schema, 'Spec', {
    bannerComment: BANNER,
    additionalProperties: false,
    unreachableDefinitions: false,
    style: { singleQuote: true, printWidth: 120 },
  });
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, ''))) {
  writeFileSync(new URL('../dsl/spec.generated.ts', import.meta.url), await generateSpecTypes());
}
