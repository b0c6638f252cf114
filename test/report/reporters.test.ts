import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { XMLValidator } from 'fast-xml-parser';
import { createRequire } from 'node:module';
import type { SpecOutcome } from '../../runtime/report/outcome.js';
import { REPORTERS } from '../../runtime/report/index.js';
import type { ReportInput } from '../../runtime/report/reporter.js';

const require = createRequire(import.meta.url);

/** Fixture outcomes, built by hand: reporters are tested on data, not on a run. */
const input: ReportInput = {
  skipped: 1,
  outcomes: [
    { id: 'a.yaml', file: 'a.yaml', name: 'first', tags: [], status: 'passed', mismatches: [], errors: [] },
    {
      id: 'b.yaml#case',
      file: 'b.yaml',
      name: 'second <with> "quotes" & more',
      tags: ['x'],
      status: 'failed',
      errors: [],
      mismatches: [
        {
          at: { file: 'b.yaml', line: 7, col: 3, text: '  log:' },
          title: 'kernel log differs',
          expected: ['err: a'],
          actual: ['err: b\u0001'],
        },
      ],
    },
    {
      id: 'c.yaml',
      file: 'c.yaml',
      name: 'c.yaml',
      tags: [],
      status: 'invalid',
      mismatches: [],
      errors: ['error: unknown key `x`\n --> c.yaml:1:1\n'],
    },
  ] as SpecOutcome[],
};

describe('reporters', () => {
  it('pretty: one line per spec, the mismatch with its spec line and a unified diff, the summary last', () => {
    const text = REPORTERS['pretty']!.render(input, { color: false });
    expect(text).toBe(
      [
        'PASS a.yaml  first',
        'FAIL b.yaml#case  second <with> "quotes" & more',
        '  x kernel log differs',
        '     --> b.yaml:7:3',
        '    7 |   log:',
        '    --- expected',
        '    +++ actual',
        '    @@ -1,1 +1,1 @@',
        '    -err: a',
        '    +err: b\u0001',
        'INVALID c.yaml',
        '  error: unknown key `x`',
        '   --> c.yaml:1:1',
        '',
        '1 passed, 2 failed, 1 skipped',
        '',
      ].join('\n'),
    );
  });

  it('junit: well-formed XML with a testcase per spec, failures and errors counted', () => {
    const xml = REPORTERS['junit']!.render(input, { color: false });
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(xml).toContain('<testsuites name="viommu-spec" tests="3" failures="1" errors="1" skipped="1">');
    expect(xml).toContain('name="b.yaml#case"');
    expect(xml).not.toContain('\u0001');
  });

  it('json: matches schemas/report.schema.json', () => {
    const Ajv2020 = (require('ajv/dist/2020') as { default: typeof import('ajv').default }).default;
    const validate = new Ajv2020({ strict: true }).compile(
      JSON.parse(readFileSync('schemas/report.schema.json', 'utf8')) as object,
    );
    const report = JSON.parse(REPORTERS['json']!.render(input, { color: false })) as { summary: unknown };
    expect(validate(report)).toBe(true);
    expect(report.summary).toEqual({ passed: 1, failed: 2, invalid: 1, skipped: 1, skip: 0, todo: 0 });
  });

  it('tap: a test point per spec and the plan line', () => {
    const lines = REPORTERS['tap']!.render(input, { color: false }).split('\n');
    expect(lines.slice(0, 4)).toEqual(['TAP version 13', '1..3', 'ok 1 - a.yaml', 'not ok 2 - b.yaml#case']);
    expect(lines).toContain('not ok 3 - c.yaml');
  });

  it('skipped and todo specs: shown with their notes everywhere, the JSON still the schema, durations only when asked', () => {
    const marked: ReportInput = {
      skipped: 0,
      outcomes: [
        { ...input.outcomes[0]!, durationMs: 12.4 },
        {
          id: 'd.yaml',
          file: 'd.yaml',
          name: 'later',
          tags: [],
          status: 'skipped',
          reason: 'no VF',
          mismatches: [],
          errors: [],
        },
        {
          id: 'e.yaml',
          file: 'e.yaml',
          name: 'wish',
          tags: [],
          status: 'todo',
          reason: 'write it',
          mismatches: [],
          errors: [],
        },
      ],
    };
    expect(REPORTERS['pretty']!.render(marked, { color: false })).toBe(
      [
        'PASS a.yaml  first',
        'SKIP d.yaml  later  (no VF)',
        'TODO e.yaml  wish  (write it)',
        '',
        '1 marked skip, 1 todo (not run)',
        '1 passed, 0 failed',
        '',
      ].join('\n'),
    );
    expect(REPORTERS['pretty']!.render(marked, { color: false, durations: true })).toContain(
      'PASS a.yaml  first  (12 ms)\n',
    );
    const Ajv2020 = (require('ajv/dist/2020') as { default: typeof import('ajv').default }).default;
    const validate = new Ajv2020({ strict: true }).compile(
      JSON.parse(readFileSync('schemas/report.schema.json', 'utf8')) as object,
    );
    for (const durations of [false, true]) {
      const report = JSON.parse(REPORTERS['json']!.render(marked, { color: false, durations })) as {
        specs: { duration_ms?: number }[];
      };
      expect(validate(report)).toBe(true);
      expect(report.specs[0]!.duration_ms).toBe(durations ? 12 : undefined);
    }
    const xml = REPORTERS['junit']!.render(marked, { color: false });
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(xml).toContain('<skipped message="todo: write it"/>');
    expect(xml).not.toContain('time=');
    expect(REPORTERS['junit']!.render(marked, { color: false, durations: true })).toContain(
      '<testcase classname="a.yaml" name="a.yaml" time="0.012">',
    );
  });
});
