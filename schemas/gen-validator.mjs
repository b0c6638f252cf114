// Precompiles schemas/spec.schema.json into a standalone validator (CommonJS, so it loads synchronously)
// at build time: `viommu-spec` then skips loading and running Ajv's compiler on every start (~130 ms).
// dsl/validate.ts compiles at run time instead when the module is absent (running from source).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import standaloneCode from 'ajv/dist/standalone/index.js';

const schema = JSON.parse(readFileSync(new URL('./spec.schema.json', import.meta.url), 'utf8'));
const ajv = new Ajv2020.default({
  allErrors: true,
  strict: true,
  strictRequired: false,
  verbose: true,
  code: { source: true },
});
mkdirSync(new URL('../dist/dsl/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('../dist/dsl/spec-validator.generated.cjs', import.meta.url),
  standaloneCode.default(ajv, ajv.compile(schema)),
);
