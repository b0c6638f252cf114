import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { discoverSpecs } from '../../app/discover.js';
import { loadUnits } from '../../app/runner.js';
import { affectedSpecs, specDependencies, watchedFolders } from '../../app/watch.js';

/**
 * `run --watch`: what a spec depends on and which specs a change affects are pure functions, tested here
 * on a real folder with no timing; one test runs the watcher itself and waits, with no time limit of its
 * own, for the re-run a change must cause.
 */
function suite(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'viommu-watch-'));
  writeFileSync(join(dir, 'viommu-spec.config.json'), '{}\n');
  mkdirSync(join(dir, 'common'));
  cpSync('specs/common/one-iommu.fragment.yaml', join(dir, 'common/one-iommu.fragment.yaml'));
  cpSync('specs/common/one-iommu.fragment.yaml', join(dir, 'common/other.fragment.yaml'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const spec = (fragment: string, extra = ''): string =>
  `name: x\nextends: ${fragment}\nsteps: [{ name: init, call: amd_viommu_init, expect: 0 }]\n${extra}`;

function dependencies(dir: string): Map<string, Set<string>> {
  const found = discoverSpecs([dir]);
  if (!found.ok) throw new Error(found.error);
  const loaded = loadUnits(found.files);
  if ('error' in loaded) throw new Error(loaded.error);
  return specDependencies(loaded.units);
}

const display = (abs: string): string => relative('.', abs) || abs;

describe('what a spec depends on', () => {
  it('is its file, the fragment it extends and the golden files of its specs and cases', () => {
    const dir = suite({
      'a.yaml': spec('common/one-iommu.fragment.yaml', 'golden: true\n'),
      'sub/b.yaml': spec('../common/other.fragment.yaml', 'cases:\n  - { name: c1, golden: true }\n  - { name: c2 }\n'),
      'bad.yaml': spec('common/one-iommu.fragment.yaml', 'nonsense: 1\n'),
    });
    const deps = dependencies(dir);
    const rel = (f: string): string => display(join(dir, f));
    expect(new Map([...deps].map(([k, v]) => [k, [...v].sort()]))).toEqual(
      new Map([
        [rel('a.yaml'), [join(dir, 'a.golden.json'), join(dir, 'a.yaml'), join(dir, 'common/one-iommu.fragment.yaml')]],
        [rel('bad.yaml'), [join(dir, 'bad.yaml'), join(dir, 'common/one-iommu.fragment.yaml')]],
        [
          rel('sub/b.yaml'),
          [join(dir, 'common/other.fragment.yaml'), join(dir, 'sub/b.c1.golden.json'), join(dir, 'sub/b.yaml')],
        ],
      ]),
    );
  });
});

describe('which specs a change affects', () => {
  const dir = suite({
    'a.yaml': spec('common/one-iommu.fragment.yaml', 'golden: true\n'),
    'b.yaml': spec('common/one-iommu.fragment.yaml'),
    'c.yaml': spec('common/other.fragment.yaml'),
  });
  const deps = dependencies(dir);
  const affected = (...files: string[]): string[] =>
    affectedSpecs(
      deps,
      files.map((f) => join(dir, f)),
      display,
    ).map((f) => relative(display(dir), f));

  it('a spec: itself', () => expect(affected('b.yaml')).toEqual(['b.yaml']));
  it('a fragment: every spec that extends it', () => {
    expect(affected('common/one-iommu.fragment.yaml')).toEqual(['a.yaml', 'b.yaml']);
    expect(affected('common/other.fragment.yaml')).toEqual(['c.yaml']);
  });
  it('a golden file: its spec', () => expect(affected('a.golden.json')).toEqual(['a.yaml']));
  it('a fragment a spec extends before it exists: that spec, once it appears', () => {
    const early = suite({ 'd.yaml': spec('common/later.fragment.yaml') });
    const d = affectedSpecs(dependencies(early), [join(early, 'common/later.fragment.yaml')], display);
    expect(d).toEqual([display(join(early, 'd.yaml'))]);
  });
  it('a new spec file: itself; a file nothing depends on: nothing', () => {
    expect(affected('new.yaml', 'notes.txt', 'common/unused.fragment.yaml')).toEqual(['new.yaml']);
  });
  it('several changes: each affected spec once, sorted', () => {
    expect(affected('c.yaml', 'common/one-iommu.fragment.yaml', 'a.yaml')).toEqual(['a.yaml', 'b.yaml', 'c.yaml']);
  });
});

describe('the folders watched', () => {
  it('are the folders given, recursively, and the folders of dependencies outside them', () => {
    const deps = new Map([
      ['s/a.yaml', new Set(['/r/s/a.yaml', '/r/common/f.fragment.yaml'])],
      ['t/b.yaml', new Set(['/r/t/b.yaml'])],
    ]);
    const isDir = (p: string): boolean => p === '/r/s';
    expect(watchedFolders(['/r/s', '/r/t/b.yaml'], deps, isDir)).toEqual({
      recursive: ['/r/s'],
      flat: ['/r/common', '/r/t'],
    });
  });
});

describe('run --watch', () => {
  it('re-runs the specs that extend a fragment when it changes, and stops on SIGINT', async () => {
    const dir = suite({
      'a.yaml': spec('common/one-iommu.fragment.yaml'),
      'b.yaml': spec('common/other.fragment.yaml'),
    });
    const child = spawn(process.execPath, [resolve('dist/bin/viommu-spec.cjs'), 'run', '.', '--watch'], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1' },
    });
    let out = '';
    let err = '';
    const waiters: (() => void)[] = [];
    const poke = (): void => waiters.forEach((w) => w());
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      poke();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      poke();
    });
    /** Resolves once `rounds` summaries are on stdout and the watcher waits again (stdout and stderr are two pipes). */
    const rounds = (n: number): Promise<void> =>
      new Promise((ok) => {
        const check = (): void => {
          const summaries = out.match(/^\d+ passed, \d+ failed$/gm)?.length ?? 0;
          const waits = err.match(/waiting for changes/g)?.length ?? 0;
          if (summaries >= n && waits >= n) ok();
        };
        waiters.push(check);
        check();
      });
    const exited = new Promise<number | null>((ok) => child.on('exit', (code) => ok(code)));
    // The watchers are in place before the first round runs, so the change below cannot be missed.
    await rounds(1);
    expect(out).toBe('PASS a.yaml  x\nPASS b.yaml  x\n\n2 passed, 0 failed\n');
    const fragment = join(dir, 'common/other.fragment.yaml');
    writeFileSync(fragment, readFileSync(fragment, 'utf8').replace('variant: v3', 'variant: v3-err-ptr-fix'));
    await rounds(2);
    expect(err).toContain('common/other.fragment.yaml changed; running b.yaml\n');
    expect(out).toBe('PASS a.yaml  x\nPASS b.yaml  x\n\n2 passed, 0 failed\nPASS b.yaml  x\n\n1 passed, 0 failed\n');
    child.kill('SIGINT');
    expect(await exited).toBe(130);
  }, 60_000);
});
