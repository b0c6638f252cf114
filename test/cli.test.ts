import { describe, expect, it, vi } from 'vitest';
import { main } from '../dsl/cli.js';

/** Runs the CLI in-process and captures what it writes. */
async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    const code = await main(['node', 'viommu-spec', ...args]);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

const lastLine = (text: string): string => text.trimEnd().split('\n').at(-1)!;

describe('viommu-spec CLI', () => {
  it('exits 0 when every spec passes, and ends with the plain summary line', async () => {
    const r = await cli('run', 'test/dsl/fixtures/suite/pass.yaml', '--no-color');
    expect([r.code, lastLine(r.out)]).toEqual([0, '1 passed, 0 failed']);
  });

  it('exits 1 when a spec fails', async () => {
    const r = await cli('run', 'test/dsl/fixtures/suite', '--no-color');
    expect([r.code, lastLine(r.out)]).toEqual([1, '1 passed, 1 failed']);
  });

  it('exits 2 for an invalid spec and runs nothing', async () => {
    const r = await cli('run', 'test/dsl/errors/unknown-key.yaml', '--no-color');
    expect(r.code).toBe(2);
    expect(r.out).toContain('--> test/dsl/errors/unknown-key.yaml:5:5');
    expect(lastLine(r.out)).toBe('0 passed, 1 failed');
  });

  it('exits 2 for usage errors: a missing path, an unknown reporter, --update with --ci', async () => {
    expect((await cli('run', 'no/such/dir')).code).toBe(2);
    expect((await cli('run', 'specs', '--reporter', 'xml')).code).toBe(2);
    expect((await cli('run', 'specs', '--update', '--ci')).code).toBe(2);
  });

  it('filters by text and tag, counting the rest as skipped', async () => {
    const byTag = await cli('run', 'test/dsl/fixtures/suite', '--tag', 'smoke', '--no-color');
    expect([byTag.code, lastLine(byTag.out)]).toEqual([0, '1 passed, 0 failed, 1 skipped']);
    const byText = await cli('run', 'test/dsl/fixtures/suite', '--filter', 'fails on', '--no-color');
    expect([byText.code, lastLine(byText.out)]).toEqual([1, '0 passed, 1 failed, 1 skipped']);
  });

  it('validates without running', async () => {
    expect(await cli('validate', 'specs')).toMatchObject({ code: 0 });
    expect((await cli('validate', 'test/dsl/errors/wrong-type.yaml')).code).toBe(2);
  });

  it('answers --version and --help', async () => {
    expect((await cli('--version')).out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect((await cli('--help')).out).toContain('run [options] [paths...]');
  });
});
