import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';

/**
 * The CLI's contract, through the built binary as a user runs it: exit codes, output streams, signals,
 * paths, selection. Each case here failed on the first round's tool.
 */
const BIN = resolve('dist/bin/viommu-spec.cjs');

interface Result {
  code: number | null;
  out: string;
  err: string;
}

function bin(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Result {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? process.cwd(),
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    encoding: 'utf8',
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** No output of the tool is ever a JavaScript stack trace. */
function noStackTrace(r: Result): void {
  expect(`${r.out}\n${r.err}`).not.toMatch(/^\s+at .+\(.*:\d+:\d+\)$|node:internal|^\w*Error: /m);
}

/** A fresh suite folder (marked as a suite root) with the shared fragment. */
function suite(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'viommu-cli-'));
  writeFileSync(join(dir, 'viommu-spec.config.json'), '{}\n');
  mkdirSync(join(dir, 'common'));
  cpSync('specs/common/one-iommu.fragment.yaml', join(dir, 'common/one-iommu.fragment.yaml'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const INIT = 'extends: common/one-iommu.fragment.yaml\nsteps: [{ name: init, call: amd_viommu_init, expect: 0 }]\n';

describe('exit codes: 0 pass, 1 spec failed, 2 bad spec or usage, 3 internal error', () => {
  it('0 when every spec passes', () => {
    expect(bin(['run', 'test/dsl/fixtures/suite/pass.yaml']).code).toBe(0);
  });

  it('1 when a spec fails', () => {
    expect(bin(['run', 'test/dsl/fixtures/suite/fail.yaml']).code).toBe(1);
  });

  it('2 for a bad spec and for bad usage', () => {
    expect(bin(['run', 'test/dsl/errors/unknown-key.yaml']).code).toBe(2);
    expect(bin(['run', '--jobs', 'zero', 'specs']).code).toBe(2);
  });

  it('3 with one line, never a stack trace, for an error of the tool itself', () => {
    const r = bin(['run', 'test/dsl/fixtures/suite/pass.yaml'], { env: { VIOMMU_SPEC_TEST_CRASH: 'throw' } });
    expect(r.code).toBe(3);
    expect(r.err).toMatch(
      /^viommu-spec: internal error: TypeError: a deliberate internal error .*please report it.*\n$/,
    );
    expect(r.err.split('\n')).toHaveLength(2);
    noStackTrace(r);
  });
});

describe('a run that selects no spec', () => {
  it('fails with a clear message (empty folder, --filter matching nothing), unless --pass-with-no-specs', () => {
    const empty = mkdtempSync(join(tmpdir(), 'viommu-empty-'));
    const r = bin(['run', empty]);
    expect([r.code, r.err]).toEqual([2, expect.stringContaining('no spec to run: no spec files in')]);
    const filtered = bin(['run', 'test/dsl/fixtures/suite', '--filter', 'no such spec']);
    expect([filtered.code, filtered.err]).toEqual([2, expect.stringContaining('the selection leaves out all 2 specs')]);
    expect(bin(['run', empty, '--pass-with-no-specs']).code).toBe(0);
  });
});

describe('machine-readable reports on stdout', () => {
  it('json on stdout is the report alone; the summary goes to stderr', () => {
    const r = bin(['run', 'test/dsl/fixtures/suite', '--reporter', 'json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.out) as { summary: { passed: number; failed: number } };
    expect(report.summary).toMatchObject({ passed: 1, failed: 1 });
    expect(r.err.trimEnd().split('\n').at(-1)).toBe('1 passed, 1 failed');
  });

  it('junit on stdout is well-formed XML alone, with no made-up durations', () => {
    const r = bin(['run', 'test/dsl/fixtures/suite', '--reporter', 'junit']);
    expect(XMLValidator.validate(r.out)).toBe(true);
    const xml = new XMLParser({ ignoreAttributes: false }).parse(r.out) as { testsuites: Record<string, unknown> };
    expect(xml.testsuites['@_tests']).toBe('2');
    expect(r.out).not.toContain('time=');
  });

  it('tap on stdout is TAP alone', () => {
    const r = bin(['run', 'test/dsl/fixtures/suite', '--reporter', 'tap']);
    expect(r.out.startsWith('TAP version 13\n1..2\n')).toBe(true);
    expect(r.out).not.toMatch(/^\d+ passed/m);
  });

  it('refuses two reporters on stdout', () => {
    const r = bin(['run', 'test/dsl/fixtures/suite', '--reporter', 'json', '--reporter', 'pretty']);
    expect([r.code, r.err]).toEqual([2, expect.stringContaining('only one reporter can write to stdout')]);
  });
});

describe('output into a closed pipe', () => {
  it('ends quietly when the reader goes away (explain | head)', async () => {
    const child = spawn(process.execPath, [BIN, 'explain', 'specs/sweeps/viommu-init-teardown.yaml'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // The reader closes before the tool has written a byte: every write meets a closed pipe.
    child.stdout.destroy();
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((done) => child.on('close', (c) => done(c)));
    expect(err).toBe('');
    expect(code).toBe(0);
  });
});

describe('signals', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('on %s, reports what was done and exits %d, golden files old or new', (signal, exit) => {
    const dir = suite(
      Object.fromEntries(['a', 'b', 'c', 'd'].map((n) => [`${n}.yaml`, `name: spec ${n}\ngolden: true\n${INIT}`])),
    );
    const r = bin(['run', dir, '--update', '--jobs', '1'], { env: { VIOMMU_SPEC_TEST_CRASH: `signal:${signal}:2` } });
    expect(r.code).toBe(exit);
    expect(r.err).toContain(`stopped by ${signal} after 2 of 4 specs; golden files written: `);
    expect(r.err).toMatch(/a\.golden\.json, .*b\.golden\.json\n/);
    expect(r.out.trimEnd().split('\n').at(-1)).toBe('2 passed, 0 failed');
    noStackTrace(r);
  });
});

describe('golden files', () => {
  it('a golden path that is a directory is a failed spec with a message, in a run and in --update', () => {
    const dir = suite({ 'g.yaml': `name: golden\ngolden: true\n${INIT}` });
    mkdirSync(join(dir, 'g.golden.json'));
    for (const extra of [[], ['--update']]) {
      const r = bin(['run', dir, ...extra]);
      expect(r.code).toBe(1);
      expect(r.out).toContain('g.golden.json is a directory');
      noStackTrace(r);
    }
  });

  it('--update leaves the golden file of a spec whose own expectations fail', () => {
    const dir = suite({ 'g.yaml': `name: golden\ngolden: true\n${INIT}expect:\n  domain_ids: [7]\n` });
    writeFileSync(join(dir, 'g.golden.json'), '{ "old": true }\n');
    const r = bin(['run', dir, '--update']);
    expect(r.code).toBe(1);
    expect(readFileSync(join(dir, 'g.golden.json'), 'utf8')).toBe('{ "old": true }\n');
    expect(r.out).toContain("not updated: the spec's own expectations fail");
  });
});

describe('the suite root', () => {
  it('is the nearest folder holding package.json, not the current directory', () => {
    const r = bin(['run', 'init-happy.yaml'], { cwd: 'specs/viommu' });
    expect([r.code, r.out.trimEnd().split('\n').at(-1)]).toEqual([0, '1 passed, 0 failed']);
  });

  it('never reads or echoes a file outside it, wherever viommu-spec runs from', () => {
    const dir = suite({
      'escape.yaml': 'name: escape\nextends: ../../../../../../../../etc/passwd\nsteps: [{ call: amd_viommu_init }]\n',
    });
    const r = bin(['run', join(dir, 'escape.yaml')], { cwd: '/' });
    expect(r.code).toBe(2);
    expect(r.out).toContain('is outside the suite root');
    expect(r.out).not.toContain('root:');
  });
});

describe('selection', () => {
  it('runs and explains the ids it prints (file#case)', () => {
    const run = bin(['run', 'specs/viommu/subregion-alloc-failure.yaml#index-2']);
    expect(run.out).toMatch(/^PASS specs\/viommu\/subregion-alloc-failure\.yaml#index-2 /);
    expect(run.out.trimEnd().split('\n').at(-1)).toBe('1 passed, 0 failed');
    const explain = bin(['explain', 'specs/viommu/subregion-alloc-failure.yaml#index-2']);
    expect(explain.out).toContain('id: specs/viommu/subregion-alloc-failure.yaml#index-2');
    expect(explain.out).not.toContain('#index-1');
    const unknown = bin(['run', 'specs/viommu/subregion-alloc-failure.yaml#index-9']);
    expect([unknown.code, unknown.err]).toEqual([
      2,
      expect.stringContaining("has no case named 'index-9'; its cases: index-0"),
    ]);
  });

  it('takes one tag per --tag, so a path after it stays a path', () => {
    const r = bin(['run', '--tag', 'smoke', 'test/dsl/fixtures/suite']);
    expect([r.code, r.out.trimEnd().split('\n').at(-1)]).toEqual([0, '1 passed, 0 failed, 1 skipped']);
  });

  it('does not let an invalid spec outside the selection block the selected ones, and lists what it skips', () => {
    const r = bin(['run', '--tag', 'smoke', 'test/cli/fixtures/selection']);
    expect([r.code, r.out.trimEnd().split('\n').at(-1)]).toEqual([0, '1 passed, 0 failed, 1 skipped']);
    const unselected = bin(['run', 'test/cli/fixtures/selection']);
    expect(unselected.code).toBe(2);
    const list = bin(['run', '--tag', 'smoke', '--list', 'test/cli/fixtures/selection']);
    expect(list.out).toBe(
      [
        'skip  test/cli/fixtures/selection/broken.yaml  [wip]  invalid',
        'run   test/cli/fixtures/selection/ok.yaml  [smoke]',
        '1 selected, 1 skipped',
        '',
      ].join('\n'),
    );
  });
});

describe('budgets', () => {
  // iova and pa differ in bit 12, so every leaf is a 4 KiB page.
  it('stop a step that would exhaust memory, naming the step (1 TiB mapped in 4 KiB pages)', () => {
    const dir = suite({
      'big.yaml': `name: a terabyte in 4K pages\n${INIT.replace(
        '}]',
        '}, { name: map-1t, call: iommu_map, args: { iova: 0x100001000, pa: 0x0, size: 1T, prot: rw } }]',
      )}`,
    });
    const r = bin(['run', dir, '--max-pages', '20000']);
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      'step `map-1t` went past its budget of 20000 touched pages of simulated memory; raise it with --max-pages',
    );
  });

  it('cover the captured end state: leaves enumerated, log lines', () => {
    const dir = suite({
      'leaves.yaml': `name: many leaves\n${INIT.replace(
        '}]',
        '}, { name: map, call: iommu_map, args: { iova: 0x40000000, pa: 0x1000, size: 8M, prot: rw } }]',
      )}expect:\n  mappings: { "2": [] }\n`,
      'log.yaml': `name: a noisy step\n${INIT.replace('}]', '}, { name: uninit, call: viommu_private_space_uninit, repeat: 3 }]')}`,
    });
    const leaves = bin(['run', join(dir, 'leaves.yaml'), '--max-leaves', '100']);
    expect(leaves.out).toContain(
      'the end-state capture went past its budget of 100 page-table leaves enumerated for the end state; raise it with --max-leaves',
    );
    const log = bin(['run', join(dir, 'log.yaml'), '--max-log-lines', '3']);
    expect(log.out).toContain('step `init` went past its budget of 3 kernel log lines; raise it with --max-log-lines');
  });

  it('stop a spec that runs past its wall time (--timeout)', () => {
    const dir = suite({
      'slow.yaml': `name: slow\n${INIT.replace(
        '}]',
        '}, { name: map, call: iommu_map, args: { iova: 0x1000, pa: 0x1000, size: 64G, prot: rw } }]',
      )}`,
    });
    const r = bin(['run', dir, '--timeout', '0.001']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/went past its time limit of 0\.001 s; raise it with --timeout/);
  });
});

describe('a planned fault that never fires says why', () => {
  const TWO_STEPS =
    'steps: [{ name: init, call: amd_viommu_init }, { name: uninit, call: viommu_private_space_uninit }]\n';
  it.each([
    ['{ site: "set_iommu_dte/**", nth: 1 }', 'site never reached'],
    [
      '{ site: "**/alloc_private_subregion[*]/**/iommu_alloc_pages_node_sz", nth: 50 }',
      'reached 5 times, nth: 50 not reached',
    ],
    [
      '{ site: "**/_set_memory_uc", probability: { percent: 0.001, seed: 7 } }',
      'probability never drew (seed 7, 4 tries)',
    ],
    [
      '{ site: "**/protection_domain_alloc/kzalloc", nth: 1, window: { from: uninit } }',
      'reached 1 time, never inside the step window',
    ],
    [
      '{ site: "**/pt_iommu_amdv1_init/iommu_alloc_pages_node_sz", nth: 1, min_order: 1 }',
      'reached 1 time, never by an allocation of order 1 or more',
    ],
  ])('%s', (fault, reason) => {
    const dir = suite({
      'f.yaml': `name: unfired\nextends: common/one-iommu.fragment.yaml\nfaults: [${fault}]\n${TWO_STEPS}`,
    });
    const r = bin(['run', dir]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('planned fault #1 never fired');
    expect(r.out).toContain(`+${reason}`);
  });
});

describe('the spec language, as a user writes it', () => {
  it('takes sizes and void as return values, pasted mapping lines, and repeats accesses', () => {
    const r = bin(['run', 'test/cli/fixtures/forms.yaml']);
    expect([r.code, r.out.trimEnd().split('\n').at(-1)]).toEqual([0, '1 passed, 0 failed']);
  });

  it('names each default once in run --help', () => {
    const help = bin(['run', '--help']).out;
    expect(help).not.toMatch(/\(default[^)]*\) \(default/);
    expect(help).toContain('--timeout <s>');
  });
});
