import { mkdtempSync, readdirSync, readFileSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { planFile } from '../../app/runner.js';

const seeds = readdirSync('specs/viommu')
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => readFileSync(join('specs/viommu', f), 'utf8').replace('../common/', 'common/'));

const dir = mkdtempSync(join(tmpdir(), 'viommu-fuzz-'));
cpSync('specs/common', join(dir, 'common'), { recursive: true });

type Mutation = (text: string) => string;
const at = (text: string, frac: number): number => Math.floor(frac * text.length);
const value = fc.oneof(
  fc.constantFrom(
    '0x10000000000000000',
    '-1',
    '18446744073709551616',
    '1e400',
    '-0x1',
    '99999999999999999999999',
    'NaN',
    '.inf',
    'null',
    '~',
    '[]',
    '{}',
    '"x"',
    '!!binary aGk=',
    '&a [*a]',
  ),
  fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }).map(String),
  fc.string({ maxLength: 20 }),
);
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.double({ min: 0, max: 1, noNaN: true }).map((f) => (t: string) => t.slice(0, at(t, f))),
  fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.uint8Array({ minLength: 1, maxLength: 16 })).map(
    ([f, bytes]) =>
      (t: string) =>
        t.slice(0, at(t, f)) + String.fromCharCode(...bytes) + t.slice(at(t, f)),
  ),
  fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), value).map(([f, v]) => (t: string) => {
    // Replace the value after the colon nearest to a random point.
    const i = t.indexOf(': ', at(t, f));
    return i < 0 ? t : t.slice(0, i + 2) + v + t.slice(t.indexOf('\n', i) < 0 ? t.length : t.indexOf('\n', i));
  }),
  fc.constantFrom<Mutation>(
    (t) => `${t}\nbogus_key: 1\n`,
    (t) => `${t}\nname: twice\n`,
    (t) => `${t}\nx: ${'['.repeat(200)}${']'.repeat(200)}\n`,
    (t) =>
      `a: &a ["x","x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n${t}`,
    (t) => `${t}\n# ${'y'.repeat(10_000)}\n`,
    (t) => t.replace(/\n {2}/g, '\n   '),
    (t) => t.replace(/:/g, ''),
    () => '',
    () => '\u0000\u0001\u0002',
  ),
);

describe('hostile and broken specs', () => {
  it('always end in a valid plan or positioned errors: never an exception and never a hang', () => {
    let n = 0;
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 3 }), (seed, mutations) => {
        const text = mutations.reduce((t, m) => m(t), seed);
        const file = join(dir, `f${n++}.yaml`);
        writeFileSync(file, text);
        const r = planFile(file, dir);
        if ('invalid' in r) {
          expect(r.invalid.status).toBe('invalid');
          expect(r.invalid.errors.length).toBeGreaterThan(0);
          const lines = Math.max(1, text.split(/\r?\n/).length);
          for (const e of r.invalid.errors) {
            const m = /--> (.+):(\d+):(\d+)\n/.exec(e);
            expect(m, e).not.toBeNull();
            expect(Number(m![2])).toBeLessThanOrEqual(lines + 1);
          }
        } else {
          expect(r.plans.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 400, seed: 20261124, interruptAfterTimeLimit: 30_000 },
    );
  });
});
