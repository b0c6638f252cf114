import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../app/cli.js';
import { shardOf } from '../app/runner.js';

async function cli(...args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    return { code: await main(['node', 'viommu-spec', ...args]), out };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'viommu-scale-'));
const file = (name: string): string => join(dir, name);

describe('parallel runs, shards and merged reports', () => {
  it('gives byte-identical pretty, JSON, JUnit and TAP output run after run, with one worker and with several', async () => {
    const outputs = [];
    for (const [run, jobs] of [
      [1, '1'],
      [2, '1'],
      [3, '3'],
    ] as const) {
      const r = await cli(
        'run',
        'specs/viommu',
        '--jobs',
        jobs,
        '--no-color',
        '--reporter',
        'pretty',
        '--reporter',
        `json=${file(`r${run}.json`)}`,
        '--reporter',
        `junit=${file(`r${run}.xml`)}`,
        '--reporter',
        `tap=${file(`r${run}.tap`)}`,
      );
      outputs.push([r.code, r.out, ...['json', 'xml', 'tap'].map((x) => readFileSync(file(`r${run}.${x}`), 'utf8'))]);
    }
    expect(outputs[1]).toEqual(outputs[0]);
    expect(outputs[2]).toEqual(outputs[0]);
    expect(outputs[0]![0]).toBe(0);
  });

  it('splits a suite into disjoint contiguous shards that cover it, and merges their reports into the full one', async () => {
    expect([1, 2, 3].map((i) => shardOf([1, 2, 3, 4, 5, 6, 7], [i, 3]))).toEqual([
      [1, 2],
      [3, 4],
      [5, 6, 7],
    ]);
    for (const i of [1, 2, 3])
      expect(
        (
          await cli(
            'run',
            'specs/viommu',
            '--jobs',
            '1',
            '--shard',
            `${i}/3`,
            '--reporter',
            `json=${file(`s${i}.json`)}`,
          )
        ).code,
      ).toBe(0);
    await cli('run', 'specs/viommu', '--jobs', '1', '--reporter', `json=${file('full.json')}`);
    const merged = await cli(
      'merge-reports',
      file('s1.json'),
      file('s2.json'),
      file('s3.json'),
      '--reporter',
      `json=${file('merged.json')}`,
    );
    expect(merged.code).toBe(0);
    expect(JSON.parse(readFileSync(file('merged.json'), 'utf8'))).toEqual(
      JSON.parse(readFileSync(file('full.json'), 'utf8')),
    );
  });

  it('refuses bad --jobs and --shard values', async () => {
    expect((await cli('run', 'specs', '--jobs', '0')).code).toBe(2);
    expect((await cli('run', 'specs', '--shard', '4/3')).code).toBe(2);
    expect((await cli('merge-reports', 'package.json')).code).toBe(2);
  });
});

describe('work budgets', () => {
  it.each([
    [
      '--max-pages',
      '1',
      'specs/viommu/init-happy.yaml',
      'step `init` went past its budget of 1 touched pages of simulated memory; raise it with --max-pages',
    ],
    [
      '--max-commands',
      '3',
      'specs/viommu/init-uninit.yaml',
      'step `uninit` went past its budget of 3 executed IOMMU commands; raise it with --max-commands',
    ],
    [
      '--max-steps',
      '100',
      'specs/viommu/teardown-flush-failure.yaml',
      'went past its budget of 100 steps (repetitions included); raise it with --max-steps',
    ],
  ])('%s stops a run that needs more, naming the budget and the flag', async (flag, value, spec, message) => {
    const r = await cli('run', spec, flag, value, '--no-color');
    expect(r.code).toBe(1);
    expect(r.out).toContain(message);
  });
});
