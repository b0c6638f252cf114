#!/usr/bin/env node
/**
 * The installed `viommu-spec` command (package.json `bin`). It runs the CLI bundled into one CommonJS file at
 * build time (bin/bundle.ts writes dist/bin/viommu-spec.bundle.cjs), and the precompiled spec validator,
 * each compiled with the V8 code cache the build wrote beside it: a start then reads a few files instead of
 * resolving and compiling some 230 modules, and V8 skips compiling the functions a run needs. V8 checks a
 * cache against the source and its own version and flags, and ignores one that does not fit (another Node,
 * a rebuilt bundle): the start is then only slower. Without a bundle (a `tsc`-only build) it runs the
 * unbundled entry, dist/bin/main.js.
 *
 * A CommonJS file on purpose: Node 20 has no code cache for ES modules, and starting its ES module loader
 * for the entry alone costs about 5 ms.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Script } from 'node:vm';

const BUNDLE = join(__dirname, 'viommu-spec.bundle.cjs');
/** Built by schemas/gen-validator.mjs; dsl/validate.ts requires it by this path, and finds it loaded here. */
const VALIDATOR = join(__dirname, '..', 'dsl', 'spec-validator.generated.cjs');
/** Set by the build's warm-up run (bin/bundle.ts) to write the code caches; never by a user. */
const WRITE_CACHE = 'VIOMMU_SPEC_WRITE_CODE_CACHE';

const compiled: { readonly script: Script; readonly cacheFile: string }[] = [];

/** Runs a CommonJS file as Node's loader would, compiled with its code cache when it has one. */
function load(file: string): Module {
  const cacheFile = `${file}.v8cache`;
  const cachedData = existsSync(cacheFile) ? readFileSync(cacheFile) : undefined;
  // The wrapper Node's own loader puts around a module, so the file sees the same five names.
  const source = `(function (exports, require, module, __filename, __dirname) {${readFileSync(file, 'utf8')}\n})`;
  const script = new Script(source, { filename: file, ...(cachedData ? { cachedData } : {}) });
  compiled.push({ script, cacheFile });
  const mod = new Module(file);
  mod.filename = file;
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run(mod.exports, createRequire(file), mod, file, dirname(file));
  mod.loaded = true;
  return mod;
}

if (existsSync(BUNDLE)) {
  if (existsSync(VALIDATOR)) require.cache[VALIDATOR] = load(VALIDATOR);
  load(BUNDLE);
  // Written after the run, a cache also holds the functions the run compiled, not only the top level.
  if (process.env[WRITE_CACHE] === '1')
    process.on('exit', () => compiled.forEach((c) => writeFileSync(c.cacheFile, c.script.createCachedData())));
} else void import(pathToFileURL(join(__dirname, 'main.js')).href);
