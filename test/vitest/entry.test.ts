import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The published `viommu-spec/vitest` entry as a user meets it: a child Vitest runs
 * fixtures/suite.spec-suite.ts (which imports the package by name) and its JSON reporter says which tests
 * there were, how each ended, and what a failure printed; the CLI's text for the same spec must be in it.
 */

interface Assertion {
  fullName: string;
  title: string;
  status: string;
  failureMessages: string[];
}

function childVitest(): Assertion[] {
  const out = join(mkdtempSync(join(tmpdir(), 'viommu-vitest-')), 'report.json');
  const vitest = resolve('node_modules/vitest/vitest.mjs');
  const r = spawnSync(
    process.execPath,
    [vitest, 'run', '--config', 'test/vitest/fixtures/vitest.config.ts', '--reporter=json', `--outputFile=${out}`],
    { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', CI: '' } },
  );
  // One spec fails on purpose, so the child exits 1; anything else (2: a config error) is a broken setup.
  expect(r.status, r.stderr).toBe(1);
  const report = JSON.parse(readFileSync(out, 'utf8')) as { testResults: { assertionResults: Assertion[] }[] };
  return report.testResults.flatMap((f) => f.assertionResults);
}

describe('viommu-spec/vitest', () => {
  it('is exported from the package and resolves to the built entry', () => {
    const require = createRequire(import.meta.url);
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { exports: Record<string, { default: string }> };
    const target = resolve(pkg.exports['./vitest']!.default);
    expect(target).toBe(resolve('dist/app/vitest.js'));
    expect(existsSync(target)).toBe(true);
    expect(require.resolve('viommu-spec/package.json')).toBe(resolve('package.json'));
  });

  it('makes one test per spec and case, named by id, with the CLI diff as the failure', () => {
    const tests = childVitest();
    const byTitle = Object.fromEntries(tests.map((t) => [t.title, t]));
    expect(Object.keys(byTitle).sort()).toEqual([
      'test/cli/fixtures/selection/ok.yaml',
      'test/report/fixtures/failing-map.yaml',
      'test/vitest/fixtures/marked.yaml#later (needs a second IOMMU)',
      'test/vitest/fixtures/marked.yaml#runs',
      'test/vitest/fixtures/marked.yaml#wish (state the commands too)',
    ]);
    expect(byTitle['test/cli/fixtures/selection/ok.yaml']!.status).toBe('passed');
    expect(byTitle['test/vitest/fixtures/marked.yaml#runs']!.status).toBe('passed');
    expect(byTitle['test/vitest/fixtures/marked.yaml#later (needs a second IOMMU)']!.status).toBe('skipped');
    expect(byTitle['test/vitest/fixtures/marked.yaml#wish (state the commands too)']!.status).toBe('todo');
    const failed = byTitle['test/report/fixtures/failing-map.yaml']!;
    expect(failed.status).toBe('failed');
    // The CLI's text for the same spec, from the line after its FAIL head to the blank line before the summary.
    const cli = spawnSync(
      process.execPath,
      [resolve('dist/bin/viommu-spec.cjs'), 'run', 'test/report/fixtures/failing-map.yaml', '--no-color'],
      { encoding: 'utf8' },
    );
    expect(cli.status).toBe(1);
    const block = cli.stdout.split('\n\n')[0]!.split('\n').slice(1).join('\n');
    expect(block).toContain('x mappings of domain 2 differ');
    expect(failed.failureMessages[0]).toContain(block);
  });
});
