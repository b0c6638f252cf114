import { copyFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { loadDriverModule, type CDriverSource } from '../runtime/linux/amd/variants/c/driver.js';
import { KERNEL_IMPORT_NAMES } from '../runtime/linux/amd/variants/c/imports.js';
import { buildDriver, DriverBuildError } from '../runtime/wasm/build.js';
import type { Plan } from '../runtime/plan/plan.js';
import type { Unit } from './runner.js';
import { ExitCode } from './exit-code.js';

/**
 * `viommu-spec build-driver <patch-or-c-file> [-o driver.wasm]`: the functions the patch adds, compiled to
 * WebAssembly against the kernel shim. A missing toolchain, an unknown kernel symbol or a construct the
 * shim lacks is one line and exit 2, like a bad spec.
 */
export function buildDriverCommand(file: string, out: string | undefined): number {
  try {
    const built = buildDriver(file, KERNEL_IMPORT_NAMES);
    const target = out ?? `${basename(file).replace(/\.(patch|diff|c|mbox|eml)$/, '')}.wasm`;
    copyFileSync(built.path, target);
    process.stdout.write(
      `${target}: ${built.functions.length} functions (${built.functions.join(', ')})${built.cached ? ', from the cache' : ''}\n`,
    );
    return ExitCode.ok;
  } catch (e) {
    if (!(e instanceof DriverBuildError)) throw e;
    process.stderr.write(`error: ${e.message}\n`);
    return ExitCode.usage;
  }
}

/**
 * Builds the `c` variant's modules the chosen plans need before any runs, so a build error is one line and
 * exit 2 instead of a failure in the middle of a suite; the error message, or undefined.
 */
export function prepareDrivers(plans: readonly Plan[]): string | undefined {
  const seen = new Set<string>();
  for (const plan of plans) {
    const source = (plan.machine.vendor.driver as { source?: CDriverSource }).source;
    if (source === undefined) continue;
    const key = JSON.stringify(source);
    if (seen.has(key)) continue;
    seen.add(key);
    try {
      loadDriverModule(source);
    } catch (e) {
      if (e instanceof DriverBuildError) return `${plan.file}: ${e.message}`;
      throw e;
    }
  }
  return undefined;
}

/**
 * `run --c-driver <file>`: every spec written for the port `v3` runs on variant c built from `file` (a
 * patch, a .c file, or a module from build-driver), against the same expectations and golden files;
 * specs on other variants run as written.
 */
export function withCDriver(units: readonly Unit[], file: string): Unit[] {
  const path = resolve(file);
  const source = path.endsWith('.wasm') ? { module: path } : { patch: path };
  return units.map((u) => {
    if (u.kind !== 'plan') return u;
    const v3 = u.plan;
    if (v3.machine.vendor.driver.variant !== 'v3') return u;
    const vendor = v3.machine.vendor;
    const plan: Plan = {
      ...v3,
      machine: { ...v3.machine, vendor: { ...vendor, driver: { ...vendor.driver, variant: 'c', source } } },
    };
    return { ...u, kind: 'plan', plan, facts: { ...u.facts, builtDriver: true } };
  });
}
