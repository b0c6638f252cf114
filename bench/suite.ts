import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { discoverSpecs } from '../app/discover.js';
import { planFile, runPlan } from '../app/runner.js';
import type { Plan } from '../runtime/plan/plan.js';
import { against, measureRate, nodeStartMs, wallMs, type BenchResult } from './harness.js';

/** Rates normalised by node start-ups per second: both follow the machine's single-core speed. */
const perNodeStart = (rate: number) => against('node -e 0 starts/s', 1000 / nodeStartMs(), rate);

export function suiteBench(): BenchResult[] {
  const found = discoverSpecs(['specs']);
  if (!found.ok) throw new Error(found.error);
  const plans: Plan[] = found.files.flatMap((f) => {
    const r = planFile(f.file, f.root);
    return 'plans' in r ? r.plans : [];
  });
  const mode = { update: false, ci: true };
  const specsPerSecond = measureRate(() => plans.forEach((p) => runPlan(p, mode)), plans.length, 1000);
  const nodeStart = nodeStartMs();
  const oneSpec = wallMs(['dist/bin/viommu-spec.cjs', 'run', 'specs/viommu/init-happy.yaml', '--no-color']);
  const suite = wallMs(['dist/bin/viommu-spec.cjs', 'run', 'specs/', '--no-color'], 3);
  return [
    {
      name: `shipped suite in one process (${plans.length} specs)`,
      value: specsPerSecond,
      unit: 'specs/s',
      baseline: perNodeStart(specsPerSecond),
    },
    {
      name: 'cold start: viommu-spec run on one spec',
      value: oneSpec,
      unit: 'ms',
      baseline: against('node -e 0', nodeStart, oneSpec),
      target: '<= 2 x node -e 0',
      pass: oneSpec <= 2 * nodeStart,
    },
    {
      name: 'cold start: viommu-spec run specs/',
      value: suite,
      unit: 'ms',
      baseline: against('node -e 0', nodeStart, suite),
      target: '< 1000 ms',
      pass: suite < 1000,
    },
  ];
}

/** Runs per second of the shipped init+teardown sweep, and its wall time for one variant. */
export function sweepBench(): BenchResult[] {
  const r = planFile('specs/sweeps/viommu-init-teardown.yaml', '.');
  if (!('plans' in r)) throw new Error('sweep spec invalid');
  const p = r.plans[0]!;
  const t0 = performance.now();
  const rows = runPlan(p, { update: false, ci: true }).sweep!.rows.length + 1;
  const ms = performance.now() - t0;
  return [
    {
      name: `sweep: amd_viommu_init + teardown, v3 (${rows} runs)`,
      value: ms,
      unit: 'ms',
      baseline: against('node -e 0', nodeStartMs(), ms),
      target: '< 1000 ms',
      pass: ms < 1000,
    },
    { name: 'sweep runs', value: rows / (ms / 1000), unit: 'runs/s', baseline: perNodeStart(rows / (ms / 1000)) },
  ];
}

/** Peak RSS of a spec run in its own process, in MiB: memory follows pages touched, not simulated RAM. */
function peakRssMiB(spec?: string): number {
  const child = spawnSync(process.execPath, ['dist/bench/rss-child.js', ...(spec ? [spec] : [])], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`peak RSS run of ${spec} failed: ${child.stderr}`);
  return Number(child.stderr.trim()) / 1024;
}

export function memoryBench(): BenchResult[] {
  const idle = peakRssMiB();
  const baseline = (v: number) => against('idle viommu-spec process', idle, v);
  const big = peakRssMiB('bench/specs/map-64g-2m.yaml');
  const small = peakRssMiB('bench/specs/map-1g-4k.yaml');
  return [
    {
      name: 'peak RSS: map+unmap 64 GiB in 2 MiB pages (1 TiB of simulated RAM)',
      value: big,
      unit: 'MiB',
      baseline: baseline(big),
    },
    {
      name: 'peak RSS: map+unmap 1 GiB in 4 KiB pages (1 TiB of simulated RAM)',
      value: small,
      unit: 'MiB',
      baseline: baseline(small),
    },
  ];
}
