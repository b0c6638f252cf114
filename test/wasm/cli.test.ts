import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../in-process-cli.js';
import { findToolchain } from '../../runtime/wasm/build.js';

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

describe('run --c-driver', () => {
  it('is refused with --update: the golden files it checks against are v3', async () => {
    const r = await cli('run', 'specs/viommu/init-happy.yaml', '--c-driver', 'x.patch', '--update');
    expect([r.code, r.err]).toEqual([2, "error: --c-driver cannot be used with --update: the golden files are v3's\n"]);
  });

  it.skipIf(findToolchain() === undefined)('runs the specs written for v3 on the C given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'viommu-spec-cli-c-'));
    const other = join(dir, 'other.c');
    // An alloc_private_subregion of its own that logs otherwise and fails: the v3 spec must see both.
    writeFileSync(
      other,
      [
        'void *alloc_private_subregion(struct amd_iommu *iommu, u64 base, size_t size)',
        '{',
        ' pr_debug("%s: base=%#llx\\n", __func__, base);',
        ' return NULL;',
        '}',
      ].join('\n'),
    );
    const r = await cli('run', 'specs/viommu/init-happy.yaml', '--c-driver', other, '--no-color');
    expect(r.code).toBe(1);
    expect(r.out).toContain('+debug: AMD-Vi: alloc_private_subregion: base=0x0');
  });
});
