import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { extractPatch, functionsOfSource, type Extracted } from './extract.js';
import { instrumentDerefs, rewriteIr } from './ir.js';
import { translationUnit } from './source.js';

/** Why a driver could not be built: each is one line that says what to do. */
export type DriverBuildErrorKind = 'toolchain' | 'input' | 'unknown-symbol' | 'shim-lacks' | 'compile';

export class DriverBuildError extends Error {
  constructor(
    readonly kind: DriverBuildErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'DriverBuildError';
  }
}

export interface Toolchain {
  readonly clang: string;
  readonly wasmLd: string;
  /** `clang --version`, first line: part of the cache key. */
  readonly version: string;
}

const CLANGS = ['clang-19', 'clang-18', 'clang-17', 'clang-16', 'clang'];
const LINKERS = ['wasm-ld-19', 'wasm-ld-18', 'wasm-ld-17', 'wasm-ld-16', 'wasm-ld'];

function runs(cmd: string): string | undefined {
  const r = spawnSync(cmd, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n')[0]!.trim() : undefined;
}

/** clang and wasm-ld, from VIOMMU_SPEC_CLANG / VIOMMU_SPEC_WASM_LD or the PATH; undefined when absent. */
export function findToolchain(env: NodeJS.ProcessEnv = process.env): Toolchain | undefined {
  const clangs = env.VIOMMU_SPEC_CLANG ? [env.VIOMMU_SPEC_CLANG] : CLANGS;
  const linkers = env.VIOMMU_SPEC_WASM_LD ? [env.VIOMMU_SPEC_WASM_LD] : LINKERS;
  for (const clang of clangs) {
    const version = runs(clang);
    if (version === undefined) continue;
    const wasmLd = linkers.find((l) => runs(l) !== undefined);
    if (wasmLd !== undefined) return { clang, wasmLd, version };
  }
  return undefined;
}

export const TOOLCHAIN_HINT =
  'install clang and lld with WebAssembly support (Debian: apt-get install -y clang-19 lld-19), or set VIOMMU_SPEC_CLANG and VIOMMU_SPEC_WASM_LD';

/** The package root (where package.json is), found from this file in the source tree or in dist/. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('viommu-spec: no package.json above the build module');
    dir = up;
  }
  return dir;
}

/** wasm-ld layout: a small stack, and nothing below 4 KiB, where a pointer is NULL plus an offset. */
const BUILD_FLAGS = ['-z', 'stack-size=16384', '--global-base=4096'];

export const SHIM_DIR = (): string => join(packageRoot(), 'runtime', 'linux', 'shim');

/** Where built modules are kept, by content hash: VIOMMU_SPEC_CACHE, else node_modules/.cache/viommu-spec. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.VIOMMU_SPEC_CACHE ?? join(packageRoot(), 'node_modules', '.cache', 'viommu-spec', 'drivers');
}

/** The functions and defines of a patch (.patch/.diff/.mbox) or of a plain C file. */
export function extractDriver(file: string, text: string): Extracted {
  if (file.endsWith('.c')) return { defines: [], functions: functionsOfSource(text, file) };
  const extracted = extractPatch(text);
  if (!extracted.functions.length)
    throw new DriverBuildError('input', `${file}: the patch adds no complete function to a .c file`);
  return extracted;
}

export interface BuiltDriver {
  readonly wasm: Uint8Array;
  /** The module's file in the cache. */
  readonly path: string;
  readonly functions: readonly string[];
  readonly cached: boolean;
}

/** An undeclared function or a member the mirror lacks, from clang's first error, as one line. */
function compileError(file: string, stderr: string): DriverBuildError {
  const first = stderr.split('\n').find((l) => /error:/.test(l)) ?? stderr.trim().split('\n')[0] ?? '';
  const undeclared = /call to undeclared (?:library )?function '(\w+)'|use of undeclared identifier '(\w+)'/.exec(
    first,
  );
  if (undeclared) {
    const name = undeclared[1] ?? undeclared[2]!;
    return new DriverBuildError(
      'unknown-symbol',
      `${file}: unknown kernel symbol '${name}': the shim (runtime/linux/shim/kernel.h) does not provide it`,
    );
  }
  const member = /no member named '(\w+)' in '(struct \w+)'/.exec(first);
  if (member)
    return new DriverBuildError(
      'shim-lacks',
      `${file}: the shim's ${member[2]} has no member '${member[1]}' (runtime/linux/shim/kernel.h mirrors only what ported code touches)`,
    );
  const incomplete =
    /incomplete (?:definition of )?type '(struct \w+)'|variable has incomplete type '(struct \w+)'/.exec(first);
  if (incomplete)
    return new DriverBuildError(
      'shim-lacks',
      `${file}: the shim does not define ${incomplete[1] ?? incomplete[2]} (runtime/linux/shim/kernel.h)`,
    );
  return new DriverBuildError('compile', `${file}: the shim cannot compile it: ${first.replace(/^.*?error: /, '')}`);
}

function tool(cmd: string, args: string[], file: string): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) throw new DriverBuildError('toolchain', `${cmd}: ${r.error.message}; ${TOOLCHAIN_HINT}`);
  if (r.status !== 0) throw compileError(file, `${r.stderr}\n${r.stdout}`);
}

/**
 * Builds (or takes from the cache) the WebAssembly module for a patch or C file. `knownImports` is the
 * registry of kernel functions the TypeScript side binds: a module that imports anything else is refused.
 */
export function buildDriver(
  file: string,
  knownImports: ReadonlySet<string>,
  opts: { readonly env?: NodeJS.ProcessEnv; readonly toolchain?: Toolchain } = {},
): BuiltDriver {
  const env = opts.env ?? process.env;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new DriverBuildError('input', `${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const extracted = extractDriver(file, text);
  const functions = extracted.functions.map((f) => f.name);
  const shim = SHIM_DIR();
  const source = translationUnit(extracted);
  const toolchain = opts.toolchain ?? findToolchain(env);
  if (toolchain === undefined) throw new DriverBuildError('toolchain', `no clang/wasm-ld found: ${TOOLCHAIN_HINT}`);
  const key = createHash('sha256')
    .update(source)
    .update(readFileSync(join(shim, 'kernel.h')))
    .update(readFileSync(join(shim, 'harness.h')))
    .update(toolchain.version)
    .update(rewriteIr.toString())
    .update(instrumentDerefs.toString())
    .update(BUILD_FLAGS.join(' '))
    .digest('hex')
    .slice(0, 24);
  const dir = cacheDir(env);
  const path = join(dir, `${key}.wasm`);
  if (existsSync(path)) {
    const wasm = readFileSync(path);
    checkImports(file, wasm, knownImports);
    return { wasm, path, functions, cached: true };
  }
  const work = mkdtempSync(join(tmpdir(), 'viommu-spec-driver-'));
  try {
    const c = join(work, 'driver.c');
    const ll = join(work, 'driver.ll');
    const obj = join(work, 'driver.o');
    const out = join(work, 'driver.wasm');
    writeFileSync(c, source);
    const common = ['--target=wasm32', '-ffreestanding', '-nostdlib', '-fno-builtin', '-std=gnu11'];
    tool(
      toolchain.clang,
      [
        ...common,
        '-O0',
        '-Xclang',
        '-disable-O0-optnone',
        '-I',
        shim,
        '-Werror=implicit-function-declaration',
        '-S',
        '-emit-llvm',
        c,
        '-o',
        ll,
      ],
      file,
    );
    writeFileSync(ll, rewriteIr(readFileSync(ll, 'utf8')));
    tool(toolchain.clang, [...common, '-O2', '-c', ll, '-o', obj], file);
    tool(
      toolchain.wasmLd,
      [
        '--no-entry',
        '--allow-undefined',
        ...functions.map((f) => `--export=${f}`),
        `--export=__vs_abi_${SHIM_ABI}`,
        '--export=__vs_layout',
        '--export=__vs_arena',
        '--export=__vs_arena_size',
        '--export=__stack_pointer',
        ...BUILD_FLAGS,
        obj,
        '-o',
        out,
      ],
      file,
    );
    const wasm = readFileSync(out);
    checkImports(file, wasm, knownImports);
    mkdirSync(dir, { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, wasm);
    renameSync(tmp, path);
    return { wasm, path, functions, cached: false };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The version of the shim's harness interface (runtime/linux/shim/harness.h `__vs_abi_N` export). */
export const SHIM_ABI = 1;
const HARNESS_EXPORTS = [
  'memory',
  '__stack_pointer',
  `__vs_abi_${SHIM_ABI}`,
  '__vs_layout',
  '__vs_arena',
  '__vs_arena_size',
];

/**
 * A module this version can run: built by build-driver against this shim (its harness exports, its
 * interface version), and every import a kernel function the TypeScript side binds.
 */
export function checkImports(file: string, wasm: Uint8Array, known: ReadonlySet<string>): void {
  let module: WebAssembly.Module;
  try {
    module = new WebAssembly.Module(wasm);
  } catch (e) {
    throw new DriverBuildError('input', `${file}: not a WebAssembly module (${(e as Error).message})`);
  }
  const exported = new Set(WebAssembly.Module.exports(module).map((x) => x.name));
  const lacking = HARNESS_EXPORTS.filter((x) => !exported.has(x));
  if (lacking.length)
    throw new DriverBuildError(
      'input',
      `${file}: not built by this viommu-spec's build-driver (no ${lacking.join(', ')}): rebuild it`,
    );
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind !== 'function' || imp.module !== 'kernel' || !known.has(imp.name))
      throw new DriverBuildError(
        'unknown-symbol',
        `${file}: unknown kernel symbol '${imp.name}' (${imp.module}): the model binds no such function`,
      );
  }
}
