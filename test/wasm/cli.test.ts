import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../../app/cli.js';

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

/** A patch that only edits a function: nothing for the c variant to compile. */
const NOTHING_ADDED = `diff --git a/x.c b/x.c
--- a/x.c
+++ b/x.c
@@ -1,3 +1,3 @@
-static int f(void)
+int f(void)
{
`;

describe('build errors on the command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'viommu-spec-cli-c-'));
  const patch = join(dir, 'edit-only.patch');
  writeFileSync(patch, NOTHING_ADDED);

  it('build-driver: one line on stderr, exit 2', async () => {
    const r = await cli('build-driver', patch);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`error: ${patch}: the patch adds no complete function to a .c file\n`);
  });

  it('run, explain, points: the module is built first; a build error is exit 2 and nothing runs', async () => {
    const spec = join(dir, 'c.yaml');
    writeFileSync(
      spec,
      [
        'name: variant c on a patch that adds nothing',
        'hardware:',
        '  memory: [{ node: 0, base: 0, size: 1G }]',
        '  iommus: [{ devid: "0000:00:00.2" }]',
        '  driver: { variant: c, patch: edit-only.patch }',
        'steps:',
        '  - call: amd_viommu_init',
      ].join('\n'),
    );
    const r = await cli('run', spec, '--no-color');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /^error: .*c\.yaml: .*edit-only\.patch: the patch adds no complete function to a \.c file\n$/,
    );
    expect(r.out).toBe('');
    for (const command of ['explain', 'points']) {
      const x = await cli(command, spec);
      expect([x.code, x.err]).toEqual([2, r.err]);
    }
  });
});
