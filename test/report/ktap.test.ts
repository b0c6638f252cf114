import { describe, expect, it } from 'vitest';
import { sweepRow as row } from '../helpers.js';
import type { SweepRow, SweepTable } from '../../runtime/check/sweep.js';
import type { SpecOutcome } from '../../runtime/report/outcome.js';
import { REPORTERS } from '../../runtime/report/index.js';
import type { ReportInput } from '../../runtime/report/reporter.js';

/**
 * The KTAP reporter against text written by hand from Documentation/dev-tools/ktap.rst (KTAP version 1):
 * version and plan lines at every level (a nested level headed by KUnit's `# Subtest: <name>`, the form
 * tools/testing/kunit/kunit_parser.py prefers), subtests indented two spaces before their parent's result line,
 * `# SKIP` and `# ERROR` directives, diagnostic lines right before the result they explain.
 */

const table = (rows: SweepRow[], baseline = row('(none)')): SweepTable => ({
  baseline,
  rows,
  points: rows.length,
  discovered: 0,
  complete: true,
});

const spec = (id: string, status: SpecOutcome['status'], extra: Partial<SpecOutcome> = {}): SpecOutcome => ({
  id,
  file: id.split('#')[0]!,
  name: id,
  tags: [],
  status,
  mismatches: [],
  errors: [],
  ...extra,
});

const input: ReportInput = {
  skipped: 0,
  outcomes: [
    spec('a.yaml', 'passed', { durationMs: 12 }),
    spec('b.yaml#one', 'passed'),
    spec('b.yaml#two', 'failed', {
      mismatches: [
        {
          at: { file: 'b.yaml', line: 7, col: 3, text: '  log:' },
          title: 'kernel log differs',
          expected: ['err: a'],
          actual: ['err: b'],
        },
      ],
    }),
    spec('b.yaml#three', 'skipped', { reason: 'no hardware' }),
    spec('c.yaml', 'invalid', { errors: ['error: unknown key `x`\n --> c.yaml:1:1\n'] }),
    spec('s.yaml', 'passed', {
      sweep: table([
        row('x/kzalloc#1', { violations: ['no_leak: 1 page leaked'] }),
        row('x/kzalloc#2', { fired: false }),
      ]),
    }),
    spec('t.yaml', 'todo', { reason: 'write it' }),
  ],
};

describe('ktap reporter', () => {
  it('nests cases and sweep runs as subtests, with SKIP and ERROR directives and diagnostics', () => {
    expect(REPORTERS['ktap']!.render(input, { color: false })).toBe(
      [
        'KTAP version 1',
        '1..5',
        'ok 1 a.yaml',
        '  KTAP version 1',
        '  # Subtest: b.yaml',
        '  1..3',
        '  ok 1 one',
        '  # kernel log differs (b.yaml:7:3)',
        '  # --- expected',
        '  # +++ actual',
        '  # @@ -1,1 +1,1 @@',
        '  # -err: a',
        '  # +err: b',
        '  not ok 2 two',
        '  ok 3 three # SKIP no hardware',
        'not ok 2 b.yaml',
        '# error: unknown key `x`',
        '#  --> c.yaml:1:1',
        'not ok 3 c.yaml # ERROR invalid spec',
        '  KTAP version 1',
        '  # Subtest: s.yaml',
        '  1..3',
        '  ok 1 baseline (no fault)',
        '  # no_leak: 1 page leaked',
        '  ok 2 x/kzalloc:1',
        '  ok 3 x/kzalloc:2 # SKIP the point was not reached',
        'ok 4 s.yaml',
        'ok 5 t.yaml # SKIP todo: write it',
        '# Totals: pass:3 fail:2 skip:2 total:7',
        '',
      ].join('\n'),
    );
  });

  it('fails the runs of a failing sweep that broke an invariant, and shows durations only when asked', () => {
    const failing: ReportInput = {
      skipped: 0,
      outcomes: [
        spec('s.yaml', 'failed', {
          durationMs: 1500.4,
          sweep: table([row('f#1', { violations: ['no_oops: oops in g'], oops: 'NULL pointer in g' })]),
        }),
      ],
    };
    expect(REPORTERS['ktap']!.render(failing, { color: false, durations: true })).toBe(
      [
        'KTAP version 1',
        '1..1',
        '  KTAP version 1',
        '  # Subtest: s.yaml',
        '  1..2',
        '  ok 1 baseline (no fault)',
        '  # oops: NULL pointer in g',
        '  # no_oops: oops in g',
        '  not ok 2 f:1',
        '# duration_ms: 1500',
        'not ok 1 s.yaml',
        '# Totals: pass:0 fail:1 skip:0 total:1',
        '',
      ].join('\n'),
    );
    expect(REPORTERS['ktap']!.render(failing, { color: false })).not.toContain('duration');
  });
});
