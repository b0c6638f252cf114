import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planFile } from '../../app/runner.js';

const DIR = 'test/dsl/errors';
const cases = readdirSync(DIR).filter((f) => f.endsWith('.yaml') && !f.includes('.fragment.'));

/**
 * One broken spec per way input can be wrong, each with the exact rendered error in a `.err` file beside it.
 * UPDATE_ERR=1 rewrites the .err files; review them before committing.
 */
describe('bad specs give positioned errors', () => {
  it.each(cases)('%s', (file) => {
    const r = planFile(join(DIR, file), DIR);
    expect('invalid' in r).toBe(true);
    if (!('invalid' in r)) return;
    const text = r.invalid.errors.join('\n');
    const golden = join(DIR, file.replace(/\.yaml$/, '.err'));
    if (process.env['UPDATE_ERR'] || !existsSync(golden)) writeFileSync(golden, text);
    expect(text).toBe(readFileSync(golden, 'utf8'));
    expect(text).toMatch(new RegExp(`--> ${DIR}/[\\w.-]+:\\d+:\\d+`));
  });
});
