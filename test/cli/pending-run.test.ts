import { describe, expect, it } from 'vitest';
import { discoverSpecs } from '../../app/discover.js';
import { loadUnits, pendingRun, runPending, selectUnits, useWorkers, type PlanUnit } from '../../app/runner.js';

function units(paths: string[], compact: boolean): PlanUnit[] {
  const found = discoverSpecs(paths);
  if (!found.ok) throw new Error(found.error);
  const loaded = loadUnits(found.files, { compact });
  if ('error' in loaded) throw new Error(loaded.error);
  return loaded.units.flatMap((u) => (u.kind === 'plan' ? [u] : []));
}

const mode = { update: false, ci: true };

describe('a suite run keeps outcomes, not plans', () => {
  it('a compact unit reads back the plan a plain load compiles, with the same facts', () => {
    const plain = units(['specs/viommu', 'specs/sweeps'], false);
    const compact = units(['specs/viommu', 'specs/sweeps'], true);
    expect(compact.map((u) => u.id)).toEqual(plain.map((u) => u.id));
    expect(compact.some((u) => u.facts.sweep)).toBe(true);
    expect(compact.some((u) => u.facts.golden !== undefined)).toBe(true);
    for (const [i, u] of compact.entries()) {
      expect(u.plan).toEqual(plain[i]!.plan);
      expect([u.name, u.tags, u.facts]).toEqual([plain[i]!.name, plain[i]!.tags, plain[i]!.facts]);
    }
  });

  it('lets go of each plan once it has run, and reports every spec in input order', async () => {
    const all = units(['specs/viommu'], true);
    const run = pendingRun(all, selectUnits(all, mode).chosen);
    expect(run.plans.every((p) => p !== undefined)).toBe(true);
    const r = await runPending(run, { ...mode, jobs: 1 }, undefined);
    expect(run.plans.filter((p) => p !== undefined)).toEqual([]);
    expect(r.outcomes.map((o) => o.id)).toEqual(all.map((u) => u.id));
    expect(r.outcomes.every((o) => o.status === 'passed')).toBe(true);
  });
});

describe('the --jobs default', () => {
  const plain = units(['specs/viommu'], true);
  const sweeps = units(['specs/sweeps'], true).filter((u) => u.facts.sweep);
  const indices = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
  const decide = (list: PlanUnit[], jobs: number, jobsByDefault: boolean): boolean =>
    useWorkers({ ...mode, jobs, jobsByDefault }, pendingRun(list, list), indices(list.length));

  it('runs one-scenario specs in one thread unless --jobs asks for more', () => {
    expect(plain.length).toBeGreaterThan(4);
    expect(decide(plain, 2, true)).toBe(false);
    expect(decide(plain, 2, false)).toBe(true);
    expect(decide(plain, 1, false)).toBe(false);
  });

  it('uses the threads by default when the selection holds a sweep for each', () => {
    expect(sweeps.length).toBeGreaterThanOrEqual(2);
    expect(decide([...plain, ...sweeps.slice(0, 2)], 2, true)).toBe(true);
    expect(decide([...plain, sweeps[0]!], 2, true)).toBe(false);
  });
});
