import { describe, expect, it } from 'vitest';
import { cli } from './in-process-cli.js';

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

  it('lists the failure points of a scenario with the step that passes each', async () => {
    const r = await cli('points', 'test/check/fixtures/init-teardown.yaml');
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toBe('test/check/fixtures/init-teardown.yaml: 26 failure points');
    expect(lines[3]).toBe(
      '  init  amd_viommu_init/viommu_private_space_init/amd_iommu_domain_alloc_paging_v1/protection_domain_alloc/kzalloc#1  (null, order 0)',
    );
    expect(lines.at(-1)).toBe(
      '  uninit  viommu_private_space_uninit/viommu_priv_unmap_flush_free[3]/set_memory_wb/_set_memory_wb#1  (errno)',
    );
  });

  it('says that a sweep tried every point', async () => {
    const r = await cli('run', 'specs/sweeps/viommu-init-teardown.yaml', '--no-color');
    expect(r.out).toContain('[sweep: 36 runs, 26 points + 10 found under faults, all tried]');
  });

  it('explains a spec: the compiled plan, each live page table decoded, the full end state', async () => {
    const r = await cli('explain', 'specs/viommu/init-happy.yaml');
    expect(r.code).toBe(0);
    expect(r.out).toContain('variant: v3');
    expect(r.out).toContain('root: "0x206000"');
    expect(r.out).toContain('- iova=0x200000 size=0x200000 pa=0x600000 entry=0x7000000000600001');
    expect(r.out).toContain('end_state:');
  });

  it('answers --version and --help', async () => {
    expect((await cli('--version')).out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect((await cli('--help')).out).toContain('run [options] [paths...]');
  });
});
