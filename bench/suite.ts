import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { discoverSpecs } from '../app/discover.js';
import { loadUnits, pendingRun, planFile, runPlan, useWorkers } from '../app/runner.js';
import type { Plan } from '../runtime/plan/plan.js';
import { against, measureRate, nodeStartMs, wallMsInTurns, type BenchResult } from './harness.js';

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
  // The start and its yardstick in turns: a ratio of two series taken apart follows the load, not the code.
  const spec = ['run', 'specs/viommu/init-happy.yaml', '--no-color'];
  const [nodeStart, oneSpec] = wallMsInTurns(
    [
      ['node', '-e', '0'],
      ['node', CLI, ...spec],
    ],
    9,
  ) as [number, number];
  // The same run through npm: npx, and npm exec, which npx is (both run the bin of this package).
  const [npx, npmExec, direct] = wallMsInTurns(
    [
      ['npx', 'viommu-spec', ...spec],
      ['npm', 'exec', '--', 'viommu-spec', ...spec],
      ['node', CLI, ...spec],
    ],
    3,
  ) as [number, number, number];
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
    { name: 'the same start through npx', value: npx, unit: 'ms', baseline: against('node <bin>', direct, npx) },
    {
      name: 'the same start through npm exec',
      value: npmExec,
      unit: 'ms',
      baseline: against('node <bin>', direct, npmExec),
    },
  ];
}

/** The command as installed (package.json `bin`). */
const CLI = 'dist/bin/viommu-spec.cjs';

/**
 * A suite of `n` copies of a shipped one-scenario spec, with the fragment it extends, in a temporary
 * folder that is a suite root of its own; the path of its spec folder.
 */
function generatedSuite(n: number): string {
  const root = mkdtempSync(join(tmpdir(), `viommu-bench-${n}-`));
  writeFileSync(join(root, 'package.json'), '{}\n');
  mkdirSync(join(root, 'common'));
  copyFileSync('specs/common/one-iommu.fragment.yaml', join(root, 'common', 'one-iommu.fragment.yaml'));
  mkdirSync(join(root, 'specs'));
  const spec = readFileSync('specs/viommu/init-happy.yaml', 'utf8');
  for (let i = 0; i < n; i++) writeFileSync(join(root, 'specs', `s${String(i).padStart(5, '0')}.yaml`), spec);
  return join(root, 'specs');
}

const removeSuite = (specs: string): void => rmSync(join(specs, '..'), { recursive: true, force: true });

/** How many threads a `run` of these paths takes when --jobs is not given (runner.ts, useWorkers). */
function defaultThreads(path: string): number {
  const found = discoverSpecs([path]);
  if (!found.ok) throw new Error(found.error);
  const loaded = loadUnits(found.files, { compact: true });
  if ('error' in loaded) throw new Error(loaded.error);
  const run = pendingRun(loaded.units, loaded.units);
  const opts = { update: false, ci: false, jobs: availableParallelism(), jobsByDefault: true };
  return useWorkers(
    opts,
    run,
    run.plans.map((_, i) => i),
  )
    ? opts.jobs
    : 1;
}

/**
 * Wall times of 1000 generated specs and of the shipped suite on one thread and on two, in turns; the
 * default `--jobs` should pick (about) the faster of the two, whichever that is on this machine.
 */
export function jobsBench(): BenchResult[] {
  const generated = generatedSuite(1000);
  const rows: BenchResult[] = [];
  for (const [what, path, runs] of [
    ['1000 generated one-scenario specs', generated, 3],
    ['the shipped suite', 'specs/', 3],
  ] as const) {
    const [one, two] = wallMsInTurns(
      [
        ['node', CLI, 'run', path, '--jobs', '1', '--no-color'],
        ['node', CLI, 'run', path, '--jobs', '2', '--no-color'],
      ],
      runs,
    ) as [number, number];
    const threads = defaultThreads(path);
    const chosen = threads === 1 ? one : two;
    const faster = Math.min(one, two);
    rows.push(
      { name: `${what}: --jobs 1`, value: one, unit: 'ms', baseline: against('node -e 0', nodeStartMs(), one) },
      { name: `${what}: --jobs 2`, value: two, unit: 'ms', baseline: against('--jobs 1', one, two) },
      {
        name: `${what}: the default (${threads === 1 ? 'one thread' : `${threads} threads`})`,
        value: chosen,
        unit: 'ms',
        baseline: against(`the faster (--jobs ${one <= two ? 1 : 2})`, faster, chosen),
        target: '<= 1.1 x the faster',
        pass: chosen <= 1.1 * faster,
      },
    );
  }
  removeSuite(generated);
  const suite = rows.at(-1)!.value;
  rows.push({
    name: 'cold start: viommu-spec run specs/ (the default --jobs)',
    value: suite,
    unit: 'ms',
    baseline: against('node -e 0', nodeStartMs(), suite),
    target: '< 1000 ms',
    pass: suite < 1000,
  });
  return rows;
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

/** Peak RSS of a `run` of some specs in its own process, in MiB (no path: an idle process). */
function peakRssMiB(...paths: string[]): number {
  const child = spawnSync(process.execPath, ['dist/bench/rss-child.js', ...paths], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`peak RSS run of ${paths.join(' ')} failed: ${child.stderr}`);
  return Number(child.stderr.trim().split('\n').at(-1)) / 1024;
}

/**
 * Peak RSS (KiB) of a spec's run in its own process, the least of three (where the collector happens to
 * run moves the peak by a tenth), and the simulated pages it holds at the end.
 */
function peakRssAndPages(spec: string): [number, number] {
  let least = Infinity;
  let pages = 0;
  for (let i = 0; i < 3; i++) {
    const child = spawnSync(process.execPath, ['dist/bench/rss-pages-child.js', spec], { encoding: 'utf8' });
    if (child.status !== 0) throw new Error(`peak RSS run of ${spec} failed: ${child.stderr}`);
    const [kib, touched] = child.stdout.trim().split(' ').map(Number);
    least = Math.min(least, kib!);
    pages = touched!;
  }
  return [least, pages];
}

/**
 * What RSS grows by per simulated page touched, less the page's own 4 KiB: the slope between mapping 16 and
 * 64 GiB in 4 KiB pages (24 576 more table pages), so the process's fixed costs (code, the young
 * generation) cancel out and what is left is the model's cost around each page: its record and views, the
 * allocation and the failure point that made it.
 */
function rssPerPageBeyondPage(): number {
  const [smallKiB, smallPages] = peakRssAndPages('bench/specs/map-16g-4k-keep.yaml');
  const [bigKiB, bigPages] = peakRssAndPages('bench/specs/map-64g-4k-keep.yaml');
  return ((bigKiB - smallKiB) * 1024) / (bigPages - smallPages) - 4096;
}

export function memoryBench(): BenchResult[] {
  const idle = peakRssMiB();
  const perPage = rssPerPageBeyondPage();
  const baseline = (v: number) => against('idle viommu-spec process', idle, v);
  const big = peakRssMiB('bench/specs/map-64g-2m.yaml');
  const small = peakRssMiB('bench/specs/map-1g-4k.yaml');
  // The runner's own memory: the same spec 1000 and 5000 times, in one thread.
  const suites = [1000, 5000].map(generatedSuite);
  const [few, many] = suites.map((s) => peakRssMiB(s)) as [number, number];
  suites.forEach(removeSuite);
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
    {
      name: 'RSS per touched 4 KiB page beyond the page (mapping 64 GiB against 16 GiB in 4 KiB pages)',
      value: perPage,
      unit: 'B',
      target: '<= 1536 B',
      pass: perPage <= 1536,
    },
    { name: 'peak RSS: run 1000 generated specs (--jobs 1)', value: few, unit: 'MiB', baseline: baseline(few) },
    {
      name: 'peak RSS: run 5000 generated specs (--jobs 1)',
      value: many,
      unit: 'MiB',
      baseline: against('1000 specs', few, many),
      target: 'flat: <= 1.5 x 1000 specs',
      pass: many <= 1.5 * few,
    },
  ];
}
