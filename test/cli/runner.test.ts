import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The runner's conventions through the built binary: skip/todo/only, --bail, --last-failed, --list,
 * durations and --slowest, `init` and `coverage`.
 */
const BIN = resolve('dist/bin/viommu-spec.cjs');

interface Result {
  code: number | null;
  out: string;
  err: string;
}

function bin(args: string[], cwd: string): Result {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: '1' },
    encoding: 'utf8',
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const lastLine = (text: string): string | undefined => text.trimEnd().split('\n').at(-1);

/** A fresh suite folder (marked as a suite root) with the shared fragment. */
function suite(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'viommu-runner-'));
  writeFileSync(join(dir, 'viommu-spec.config.json'), '{}\n');
  mkdirSync(join(dir, 'common'));
  cpSync('specs/common/one-iommu.fragment.yaml', join(dir, 'common/one-iommu.fragment.yaml'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const HEAD = 'extends: common/one-iommu.fragment.yaml\n';
const PASS = `${HEAD}steps: [{ name: init, call: amd_viommu_init, expect: 0 }]\n`;
const FAIL = `${HEAD}steps: [{ name: init, call: amd_viommu_init, expect: -ENOMEM }]\n`;

const MARKED = `name: marked
${HEAD}steps: [{ name: init, call: amd_viommu_init, expect: 0 }]
cases:
  - { name: runs }
  - { name: later, skip: "needs a second IOMMU" }
  - { name: wish, todo: "state the commands too" }
`;

describe('skip, todo and only in a spec or a case', () => {
  it('reports skipped and todo specs with their notes, counts them on a line before the plain summary', () => {
    const dir = suite({ 'a.yaml': MARKED });
    const r = bin(['run', '.'], dir);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines).toContain('SKIP a.yaml#later  marked [later]  (needs a second IOMMU)');
    expect(lines).toContain('TODO a.yaml#wish  marked [wish]  (state the commands too)');
    expect(lines.slice(-2)).toEqual(['1 marked skip, 1 todo (not run)', '1 passed, 0 failed']);
    const json = JSON.parse(bin(['run', '.', '--reporter', 'json'], dir).out) as {
      summary: Record<string, number>;
      specs: { id: string; status: string; reason?: string }[];
    };
    expect(json.summary).toEqual({ passed: 1, failed: 0, invalid: 0, skipped: 0, skip: 1, todo: 1 });
    expect(json.specs.map((s) => [s.id, s.status, s.reason])).toEqual([
      ['a.yaml#runs', 'passed', undefined],
      ['a.yaml#later', 'skipped', 'needs a second IOMMU'],
      ['a.yaml#wish', 'todo', 'state the commands too'],
    ]);
    const tap = bin(['run', '.', '--reporter', 'tap'], dir).out;
    expect(tap).toContain('ok 2 - a.yaml#later # SKIP needs a second IOMMU\n');
    expect(tap).toContain('not ok 3 - a.yaml#wish # TODO state the commands too\n');
    const junit = bin(['run', '.', '--reporter', 'junit'], dir).out;
    expect(junit).toContain('<skipped message="needs a second IOMMU"/>');
    expect(junit).toContain('skipped="2"');
  });

  it('a case marker replaces the spec marker: only: true on one case of a skipped spec runs that case', () => {
    const dir = suite({
      'a.yaml': `name: skipped spec\nskip: "broken"\n${PASS}cases:\n  - { name: one }\n  - { name: two, only: true }\n`,
      'b.yaml': `name: other\n${PASS}`,
    });
    const r = bin(['run', '.'], dir);
    expect([r.code, lastLine(r.out)]).toEqual([0, '1 passed, 0 failed, 2 skipped']);
    expect(r.out).toContain('PASS a.yaml#two');
    expect(r.out).not.toContain('b.yaml');
  });

  it('--ci fails a committed only: true at its line, and runs every spec', () => {
    const dir = suite({ 'a.yaml': `name: focused\nonly: true\n${PASS}`, 'b.yaml': `name: other\n${PASS}` });
    const r = bin(['run', '.', '--ci'], dir);
    expect(r.code).toBe(1);
    expect(r.out).toContain('FAIL a.yaml  focused');
    expect(r.out).toContain('`only: true` is committed');
    expect(r.out).toContain('--> a.yaml:2:7');
    expect(r.out).toContain('PASS b.yaml');
    expect(lastLine(r.out)).toBe('1 passed, 1 failed');
  });

  it('skip with only or todo in one mapping is a positioned error (exit 2), as is an empty reason', () => {
    const dir = suite({ 'a.yaml': `name: both\nskip: "x"\nonly: true\n${PASS}` });
    const r = bin(['run', '.'], dir);
    expect(r.code).toBe(2);
    expect(r.out).toContain('`only` contradicts `skip` here');
    expect(r.out).toContain('a.yaml:3:1');
    const empty = suite({ 'a.yaml': `name: empty\nskip: ""\n${PASS}` });
    expect(bin(['run', '.'], empty).code).toBe(2);
  });

  it('--list prints each id with its tags and marker, one line each, and runs nothing', () => {
    const dir = suite({ 'a.yaml': MARKED.replace('name: marked', 'name: marked\ntags: [t1, t2]') });
    const r = bin(['run', '.', '--list', '--reporter', 'json=never.json'], dir);
    expect(r.code).toBe(0);
    expect(r.out.split('\n')).toEqual([
      'run   a.yaml#runs  [t1, t2]',
      'run   a.yaml#later  [t1, t2]  skip: needs a second IOMMU',
      'run   a.yaml#wish  [t1, t2]  todo: state the commands too',
      '3 selected, 0 skipped',
      '',
    ]);
    expect(existsSync(join(dir, 'never.json'))).toBe(false);
  });
});

describe('--bail and --last-failed', () => {
  it('--bail stops after the first failure, --bail 2 after the second, and says how many did not run', () => {
    const dir = suite({ 'a.yaml': `name: a\n${FAIL}`, 'b.yaml': `name: b\n${FAIL}`, 'c.yaml': `name: c\n${PASS}` });
    const one = bin(['run', '.', '--bail'], dir);
    expect([one.code, lastLine(one.out)]).toEqual([1, '0 passed, 1 failed']);
    expect(one.err).toContain('--bail: stopped after 1 failed; 2 of 3 specs not run');
    // A path right after --bail stays a path.
    expect(lastLine(bin(['run', '--bail', '.'], dir).out)).toBe('0 passed, 1 failed');
    const two = bin(['run', '.', '--bail', '2'], dir);
    expect([two.code, lastLine(two.out)]).toEqual([1, '0 passed, 2 failed']);
    expect(bin(['run', '.', '--bail', '0'], dir).code).toBe(2);
    const threads = bin(['run', '.', '--bail', '--jobs', '2'], dir);
    expect(threads.code).toBe(1);
    expect(threads.err).toContain('--bail: stopped after');
  });

  it('--last-failed runs what failed last time, kept in .viommu-spec-cache at the suite root', () => {
    const dir = suite({ 'a.yaml': `name: a\n${FAIL}`, 'b.yaml': `name: b\n${PASS}` });
    expect(bin(['run', '.'], dir).code).toBe(1);
    const cache = join(dir, '.viommu-spec-cache');
    expect(JSON.parse(readFileSync(join(cache, 'last-failed.json'), 'utf8'))).toEqual({
      version: 1,
      failed: ['a.yaml'],
    });
    expect(readFileSync(join(cache, '.gitignore'), 'utf8')).toContain('*');
    const again = bin(['run', '.', '--last-failed'], dir);
    expect([again.code, lastLine(again.out)]).toEqual([1, '0 passed, 1 failed, 1 skipped']);
    // Fixed: the next --last-failed run finds nothing recorded and runs everything.
    writeFileSync(join(dir, 'a.yaml'), `name: a\n${PASS}`);
    expect(bin(['run', '.', '--last-failed'], dir).code).toBe(0);
    const all = bin(['run', '.', '--last-failed'], dir);
    expect([all.code, lastLine(all.out)]).toEqual([0, '2 passed, 0 failed']);
    expect(all.err).toContain('no failure recorded');
    // From another working directory the same cache is read.
    writeFileSync(join(dir, 'b.yaml'), `name: b\n${FAIL}`);
    bin(['run', dir], tmpdir());
    const elsewhere = bin(['run', '.', '--last-failed'], dir);
    expect(lastLine(elsewhere.out)).toBe('0 passed, 1 failed, 1 skipped');
  });

  it('--ci writes no cache; a cache that cannot be written costs a note, not the run', () => {
    const dir = suite({ 'a.yaml': `name: a\n${PASS}` });
    bin(['run', '.', '--ci'], dir);
    expect(existsSync(join(dir, '.viommu-spec-cache'))).toBe(false);
    writeFileSync(join(dir, '.viommu-spec-cache'), 'in the way\n');
    const r = bin(['run', '.'], dir);
    expect([r.code, lastLine(r.out)]).toEqual([0, '1 passed, 0 failed']);
    expect(r.err).toMatch(/^note: cannot record the failures for --last-failed: .*EEXIST/m);
  });
});

describe('durations', () => {
  it('stay out of every report unless asked, so reports are byte-identical between runs', () => {
    const dir = suite({ 'a.yaml': `name: a\n${PASS}`, 'b.yaml': `name: b\n${FAIL}` });
    for (const reporter of ['pretty', 'json', 'junit', 'tap', 'ktap']) {
      const first = bin(['run', '.', '--reporter', reporter], dir).out;
      expect(bin(['run', '.', '--reporter', reporter], dir).out).toBe(first);
      expect(first).not.toMatch(/duration|time=| ms\)/);
    }
  });

  it('--durations adds them to every report; --slowest N lists the slowest before the summary', () => {
    const dir = suite({ 'a.yaml': `name: a\n${PASS}`, 'b.yaml': `name: b\n${PASS}` });
    expect(bin(['run', '.', '--reporter', 'junit', '--durations'], dir).out).toMatch(
      /<testcase classname="a.yaml" name="a.yaml" time="\d+\.\d{3}">/,
    );
    const json = JSON.parse(bin(['run', '.', '--reporter', 'json', '--durations'], dir).out) as {
      specs: { duration_ms?: number }[];
    };
    expect(json.specs.every((s) => Number.isInteger(s.duration_ms))).toBe(true);
    expect(bin(['run', '.', '--reporter', 'tap', '--durations'], dir).out).toMatch(/ {2}duration_ms: \d+\n/);
    expect(bin(['run', '.', '--reporter', 'ktap', '--durations'], dir).out).toMatch(/^# duration_ms: \d+$/m);
    const slow = bin(['run', '.', '--slowest', '1'], dir).out.trimEnd().split('\n');
    expect(slow.at(-3)).toBe('slowest 1:');
    expect(slow.at(-2)).toMatch(/^ +[\d.]+ m?s {2}[ab]\.yaml$/);
    expect(slow.at(-1)).toBe('2 passed, 0 failed');
  });
});

describe('init', () => {
  it('writes a first spec, its fragment and the schema line into a new folder and runs it', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'viommu-init-'));
    const r = bin(['init', 'my-specs'], cwd);
    expect([r.code, lastLine(r.out)]).toEqual([0, '1 passed, 0 failed']);
    const spec = readFileSync(join(cwd, 'my-specs/first.yaml'), 'utf8');
    const schema = /^# yaml-language-server: \$schema=(.+)$/m.exec(spec)?.[1];
    expect(schema).toBeDefined();
    expect(resolve(cwd, 'my-specs', schema!)).toBe(resolve('schemas/spec.schema.json'));
    expect(spec).toContain('extends: machine.fragment.yaml');
    expect(existsSync(join(cwd, 'my-specs/machine.fragment.yaml'))).toBe(true);
  });

  it('refuses to overwrite a file: exit 2 with the file named, nothing written', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'viommu-init-'));
    mkdirSync(join(cwd, 'specs'));
    writeFileSync(join(cwd, 'specs/first.yaml'), 'mine\n');
    const r = bin(['init'], cwd);
    expect(r.code).toBe(2);
    expect(r.err).toContain('specs/first.yaml already exists; init never overwrites a file');
    expect(readFileSync(join(cwd, 'specs/first.yaml'), 'utf8')).toBe('mine\n');
    expect(existsSync(join(cwd, 'specs/machine.fragment.yaml'))).toBe(false);
    writeFileSync(join(cwd, 'a-file'), '');
    const notDir = bin(['init', 'a-file'], cwd);
    expect([notDir.code, notDir.err]).toEqual([2, expect.stringMatching(/^error: cannot write into a-file: /)]);
  });
});

describe('coverage', () => {
  const KZALLOC =
    'amd_viommu_init/viommu_private_space_init/amd_iommu_domain_alloc_paging_v1/protection_domain_alloc/kzalloc';
  const IDA =
    'amd_viommu_init/viommu_private_space_init/amd_iommu_domain_alloc_paging_v1/protection_domain_alloc/ida_alloc_range';
  const files = {
    'plain.yaml': `name: plain\n${PASS}`,
    'sweep.yaml': `name: sweep\n${HEAD}steps: [{ name: init, call: amd_viommu_init }]\nsweep: { sites: "**/kzalloc" }\n`,
    'fault.yaml': `name: fault\n${HEAD}faults: [{ site: "**/ida_alloc_range", nth: 1 }]\nsteps: [{ name: init, call: amd_viommu_init, expect: -ENOMEM }]\n`,
    'later.yaml': `name: later\nskip: "not yet"\n${PASS}`,
  };

  it('lists every point the scenarios pass with the specs and sweeps that fail it, and those none fails', () => {
    const dir = suite(files);
    const r = bin(['coverage', '.'], dir);
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^failure point +passed by +failed by$/);
    expect(lines.find((l) => l.startsWith(`${KZALLOC}#1 `))).toMatch(/ 3 specs +sweep\.yaml \(sweep\)$/);
    expect(lines.find((l) => l.startsWith(`${IDA}#1 `))).toMatch(/ 3 specs +fault\.yaml$/);
    const never = lines.slice(lines.findIndex((l) => l.startsWith('never failed by any spec')));
    expect(never.some((l) => l.includes('request_mem_region#1'))).toBe(true);
    expect(never.some((l) => l.includes(`${KZALLOC}#1`))).toBe(false);
    expect(r.out).toContain('not run (skip or todo): later.yaml');
    expect(lastLine(r.out)).toMatch(/^\d+ failure points: 2 failed by a spec or sweep, \d+ never failed$/);
  });

  it('--json gives the same, per point with site and call number', () => {
    const dir = suite(files);
    const r = bin(['coverage', '.', '--json'], dir);
    const json = JSON.parse(r.out) as {
      summary: { points: number; failed: number; never_failed: number };
      points: {
        point: string;
        site: string;
        call: number;
        passed_by: string[];
        failed_by: { id: string; by: string }[];
      }[];
      never_failed: string[];
    };
    const ida = json.points.find((p) => p.point === `${IDA}#1`);
    expect(ida).toEqual({
      point: `${IDA}#1`,
      site: IDA,
      call: 1,
      passed_by: ['fault.yaml', 'plain.yaml', 'sweep.yaml'],
      failed_by: [{ id: 'fault.yaml', by: 'faults' }],
    });
    expect(json.summary.failed).toBe(2);
    expect(json.summary.points).toBe(json.points.length);
    expect(json.never_failed).toHaveLength(json.summary.never_failed);
  });

  it('--html also writes the table as one page: each point a row, those never failed marked', () => {
    const dir = suite(files);
    const r = bin(['coverage', '.', '--html', 'coverage.html'], dir);
    expect(r.code).toBe(0);
    expect(lastLine(r.out)).toMatch(/failed by a spec or sweep/);
    const html = readFileSync(join(dir, 'coverage.html'), 'utf8');
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/);
    expect(html).toContain(
      `<tr data-failed="yes"><td class="mono">${IDA}#1</td><td>fault.yaml, plain.yaml, sweep.yaml</td>`,
    );
    expect(html).toMatch(/<tr data-failed="no" class="row-bad"><td class="mono">[^<]*request_mem_region#1</);
    expect(html.match(/<tr data-failed=/g)).toHaveLength(
      (JSON.parse(bin(['coverage', '.', '--json'], dir).out) as { points: unknown[] }).points.length,
    );
    expect(bin(['coverage', '.', '--html', 'no/such/dir/c.html'], dir).code).toBe(2);
  });
});
