// Writes the generated vocabularies ($defs callName, callArgs, invariantName) into schemas/spec.schema.json
// from the runtime's registries, as built in dist/ (`npm run gen:schema` builds first).
// test/dsl/schema.test.ts fails when the committed schema lags behind the registries.
import { readFileSync, writeFileSync } from 'node:fs';
import { withGeneratedDefs } from '../dist/dsl/schema-gen.js';

const url = new URL('./spec.schema.json', import.meta.url);
writeFileSync(url, withGeneratedDefs(JSON.parse(readFileSync(url, 'utf8'))));
