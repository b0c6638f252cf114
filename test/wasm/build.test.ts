import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KERNEL_IMPORT_NAMES } from '../../runtime/linux/amd/variants/c/imports.js';
import { buildDriver, checkImports, DriverBuildError, findToolchain } from '../../runtime/wasm/build.js';
import { rewriteIr } from '../../runtime/wasm/ir.js';
import { extractPatch, maskC } from '../../runtime/wasm/extract.js';
import { tagLoopCalls } from '../../runtime/wasm/source.js';

/** A diff as mail archives render one: context lines without their leading space. */
const PATCH = `diff --git a/drivers/iommu/amd/amd_iommu_types.h b/drivers/iommu/amd/amd_iommu_types.h
--- a/drivers/iommu/amd/amd_iommu_types.h
+++ b/drivers/iommu/amd/amd_iommu_types.h
@@ -1,3 +1,5 @@
#define OLD 1
+#define NEW_COUNT (4)
+#define NEW_SIZE (0x1000) /* 4K */
diff --git a/drivers/iommu/amd/iommu.c b/drivers/iommu/amd/iommu.c
--- a/drivers/iommu/amd/iommu.c
+++ b/drivers/iommu/amd/iommu.c
@@ -10,7 +10,7 @@
-static int flush_one(struct amd_iommu *iommu, u16 devid)
+int flush_one(struct amd_iommu *iommu, u16 devid)
{
return 0;
@@ -20,6 +20,12 @@
+/* added whole, with a brace in a comment { */
+static int helper(int x)
+{
+ return x + 1;
+}
+
+const struct ops my_ops = {
.a = b,
};
@@ -40,3 +46,7 @@ int outer(void)
+ ret = helper(2);
+ if (ret)
+ return ret;
`;

describe('extractPatch', () => {
  const x = extractPatch(PATCH);

  it('takes only definitions added whole: not a changed signature, an initializer or a call added to a body', () => {
    expect(x.functions.map((f) => f.name)).toEqual(['helper']);
    expect(x.functions[0]!.file).toBe('drivers/iommu/amd/iommu.c');
    expect(x.functions[0]!.text).toMatch(/^\/\* added whole.*\n.*static int helper\(int x\)\n\{\n return x \+ 1;\n\}$/);
  });

  it("takes the header hunks' added defines", () => {
    expect(x.defines).toEqual(['#define NEW_COUNT (4)', '#define NEW_SIZE (0x1000) /* 4K */']);
  });

  it('masks comments and strings to the same length', () => {
    const src = 'a /* { */ "}" b';
    expect(maskC(src)).toHaveLength(src.length);
    expect(maskC(src)).not.toMatch(/[{}]/);
  });
});

describe('tagLoopCalls', () => {
  const body = `{
 for (i = 0; i < 4; i++) {
  r[i] = g(x);
  if (!r[i]) {
   h(x);
   return -1;
  }
 }
 g(y);
}`;
  const out = tagLoopCalls(body, new Set(['g', 'h']));

  it('tags the call every iteration makes with the loop variable', () => {
    expect(out).toContain('r[i] = (__vs_iter(i), g)(x);');
  });

  it('leaves a call on the way out of the loop, and calls outside loops, untagged', () => {
    expect(out).toContain('\n   h(x);');
    expect(out).toContain('\n g(y);');
  });
});

describe('rewriteIr', () => {
  it('turns 64-bit pointer/integer conversions into the shim calls and leaves 32-bit ones', () => {
    const ir = '%5 = ptrtoint ptr %4 to i64\n%6 = ptrtoint ptr %4 to i32\n%7 = inttoptr i64 %3 to ptr';
    expect(rewriteIr(ir)).toBe(
      '%5 = call i64 @__vs_kaddr(ptr %4)\n%6 = ptrtoint ptr %4 to i32\n%7 = call ptr @__vs_kptr(i64 %3)',
    );
  });
});

function patchFile(name: string, body: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'viommu-spec-build-test-'));
  const file = join(dir, name);
  writeFileSync(file, body);
  return file;
}

function buildError(file: string, env: NodeJS.ProcessEnv = process.env): DriverBuildError {
  try {
    buildDriver(file, KERNEL_IMPORT_NAMES, { env: { ...env, VIOMMU_SPEC_CACHE: mkdtempSync(join(tmpdir(), 'c-')) } });
  } catch (e) {
    if (e instanceof DriverBuildError) return e;
    throw e;
  }
  throw new Error('expected a build error');
}

const added = (lines: string): string =>
  `diff --git a/x.c b/x.c\n--- a/x.c\n+++ b/x.c\n@@ -1,1 +1,9 @@\n${lines
    .split('\n')
    .map((l) => `+${l}`)
    .join('\n')}\n`;

describe('build errors are one line that names the problem', () => {
  it('a missing toolchain', () => {
    const e = buildError(patchFile('a.patch', added('int f(void)\n{\n return 0;\n}')), {
      VIOMMU_SPEC_CLANG: '/nonexistent/clang',
    });
    expect(e.kind).toBe('toolchain');
    expect(e.message).toMatch(/^no clang\/wasm-ld found: install clang and lld .*apt-get install -y clang-19 lld-19/);
  });

  it('a module not built by this build-driver (an older shim, another tool)', () => {
    const empty = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    expect(() => checkImports('old.wasm', empty, KERNEL_IMPORT_NAMES)).toThrow(
      /^old\.wasm: not built by this viommu-spec's build-driver \(no memory, __stack_pointer, __vs_abi_1, /,
    );
  });

  it('a patch that adds no function', () => {
    const e = buildError(patchFile('b.patch', added('#define X 1')));
    expect(e.kind).toBe('input');
  });

  describe.skipIf(findToolchain() === undefined)('with clang', () => {
    it('a kernel function the shim does not declare', () => {
      const e = buildError(
        patchFile('c.patch', added('int f(struct amd_iommu *iommu)\n{\n return frobnicate(iommu);\n}')),
      );
      expect(e.kind).toBe('unknown-symbol');
      expect(e.message).toMatch(/unknown kernel symbol 'frobnicate'/);
      expect(e.message).not.toContain('\n');
    });

    it('a symbol declared by the C itself but bound by no import', () => {
      const e = buildError(patchFile('d.c', 'extern int secret(void);\nint f(void)\n{\n return secret();\n}\n'));
      expect(e.kind).toBe('unknown-symbol');
      expect(e.message).toMatch(/unknown kernel symbol 'secret'/);
    });

    it('a member the shim does not mirror', () => {
      const e = buildError(
        patchFile('e.patch', added('int f(struct amd_iommu *iommu)\n{\n return iommu->gid_count;\n}')),
      );
      expect(e.kind).toBe('shim-lacks');
      expect(e.message).toMatch(/struct amd_iommu has no member 'gid_count'/);
    });

    it('builds, exports every added function, and serves a rebuild from the cache', () => {
      const file = patchFile(
        'f.patch',
        added('int f(int x)\n{\n return x * 2;\n}\nint g(int x)\n{\n return f(x) + 1;\n}'),
      );
      const env = { ...process.env, VIOMMU_SPEC_CACHE: mkdtempSync(join(tmpdir(), 'c-')) };
      const first = buildDriver(file, KERNEL_IMPORT_NAMES, { env });
      const again = buildDriver(file, KERNEL_IMPORT_NAMES, { env });
      expect([first.cached, again.cached]).toEqual([false, true]);
      expect(first.functions).toEqual(['f', 'g']);
      const exports = WebAssembly.Module.exports(new WebAssembly.Module(first.wasm)).map((x) => x.name);
      expect(exports).toEqual(expect.arrayContaining(['f', 'g', '__vs_layout', '__vs_arena']));
    });
  });
});
