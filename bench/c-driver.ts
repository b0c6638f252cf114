import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { planFile, runPlan } from '../app/runner.js';
import type { Plan } from '../runtime/plan/plan.js';
import { findToolchain } from '../runtime/wasm/build.js';
import { against, measureRate, type BenchResult } from './harness.js';

/** The seed patch beside the checkout (it is GPL and not part of the project). */
function seedPatch(): string | undefined {
  return [
    process.env.VIOMMU_SPEC_SEED_PATCH,
    resolve('../shared/reference/viommu-private-ipa-region.patch'),
    resolve('../../shared/reference/viommu-private-ipa-region.patch'),
  ].find((p): p is string => p !== undefined && existsSync(p));
}

/**
 * The init+teardown sweep on the compiled seed patch (variant c) against the same sweep on the TypeScript
 * port (v3): runs per second, best of several passes; the module is built (or taken from the cache) and
 * compiled before timing starts.
 */
export function cDriverBench(): BenchResult[] {
  const patch = seedPatch();
  if (findToolchain() === undefined || patch === undefined) {
    process.stderr.write('bench: c driver skipped (no clang/wasm-ld, or no ../shared seed patch)\n');
    return [];
  }
  const r = planFile('specs/sweeps/viommu-init-teardown.yaml', '.');
  if (!('plans' in r)) throw new Error('sweep spec invalid');
  const port = r.plans.find((p) => p.id.endsWith('#v3'))!;
  const vendor = port.machine.vendor;
  const c: Plan = {
    ...port,
    machine: { ...port.machine, vendor: { ...vendor, driver: { ...vendor.driver, variant: 'c', source: { patch } } } },
  };
  const mode = { update: false, ci: true };
  const runs = runPlan(port, mode).sweep!.rows.length + 1;
  runPlan(c, mode);
  // Alternating rounds, best of each: the machine's other load then weighs on both alike.
  let portRate = 0;
  let cRate = 0;
  for (let round = 0; round < 6; round++) {
    portRate = Math.max(
      portRate,
      measureRate(() => runPlan(port, mode), runs, 200),
    );
    cRate = Math.max(
      cRate,
      measureRate(() => runPlan(c, mode), runs, 200),
    );
  }
  return [
    { name: `sweep on the TypeScript port v3 (${runs} runs)`, value: portRate, unit: 'runs/s' },
    {
      name: `sweep on the compiled seed patch, variant c (${runs} runs)`,
      value: cRate,
      unit: 'runs/s',
      baseline: against('v3 runs/s', portRate, cRate),
      target: '>= 0.667 x v3 (within 1.5x)',
    },
  ];
}
