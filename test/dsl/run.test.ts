import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { planFile, runPlan } from '../../app/runner.js';
import type { SpecOutcome } from '../../runtime/report/outcome.js';

function run(file: string, mode = { update: false, ci: false }, root = 'test/dsl/fixtures'): SpecOutcome[] {
  const r = planFile(file, root);
  if ('invalid' in r) throw new Error(r.invalid.errors.join('\n'));
  return r.plans.map((p) => runPlan(p, mode));
}

describe('diffing a run against the spec', () => {
  it('passes when every stated expectation holds; unstated parts of the end state are not compared', () => {
    const [o] = run('test/dsl/fixtures/suite/pass.yaml', undefined, 'test/dsl/fixtures/suite');
    expect(o!.status).toBe('passed');
  });

  it('reports each mismatch at the spec line that stated it, with expected and actual', () => {
    const [o] = run('test/dsl/fixtures/suite/fail.yaml', undefined, 'test/dsl/fixtures/suite');
    expect(o!.status).toBe('failed');
    expect(o!.mismatches.map((m) => [m.title, `${m.at.file}:${m.at.line}:${m.at.col}`, m.expected, m.actual])).toEqual([
      ['step `init` returned 0', 'test/dsl/fixtures/suite/fail.yaml:6:13', ['-ENOMEM'], ['0']],
      ['commands executed by IOMMU 0 differ', 'test/dsl/fixtures/suite/fail.yaml:9:10', ['INVALIDATE_IOMMU_ALL'], []],
    ]);
    expect(o!.mismatches[0]!.at.text).toBe('    expect: -ENOMEM');
  });
});

describe('domains named in mappings', () => {
  it('must exist unless the spec says `absent`, so a mistyped domain ID cannot pass as "no mappings"', () => {
    const outcomes = run('test/dsl/fixtures/domains/named.yaml', undefined, 'test/dsl/fixtures/domains');
    expect(outcomes.map((o) => [o.status, o.mismatches.map((m) => [m.title, m.expected, m.actual])])).toEqual([
      ['passed', []],
      ['failed', [['domain 7 does not exist at the end', ['a live domain'], ['absent']]]],
      ['failed', [['domain 2 exists at the end', ['absent'], ['a live domain']]]],
    ]);
  });
});

describe('invariants in a plain spec', () => {
  it('compares every violation of the end state, as a sweep row lists them', () => {
    const outcomes = run('test/dsl/fixtures/domains/invariants.yaml', undefined, 'test/dsl/fixtures/domains');
    expect(outcomes.map((o) => [o.status, o.mismatches.map((m) => [m.title, m.expected, m.actual])])).toEqual([
      ['passed', []],
      ['failed', [['invariant violations differ', [], ['ids_balanced: domain IDs 2 still allocated']]]],
    ]);
  });
});

describe('check: after a step', () => {
  it('holds the end-state keys against the machine right after that step, named after it', () => {
    const outcomes = run('test/dsl/fixtures/domains/check.yaml', undefined, 'test/dsl/fixtures/domains');
    expect(outcomes.map((o) => [o.status, o.mismatches.map((m) => [m.title, `${m.at.line}:${m.at.col}`])])).toEqual([
      ['passed', []],
      ['failed', [['after `init`: domain 2 exists at the end', '19:35']]],
    ]);
  });
});

describe('flushed and not_flushed', () => {
  it('derive what the executed invalidations and waits achieved, merged per domain', () => {
    const outcomes = run('test/dsl/fixtures/domains/flushed.yaml', undefined, 'test/dsl/fixtures/domains');
    expect(outcomes.map((o) => [o.status, o.mismatches.map((m) => [m.title, m.expected, m.actual])])).toEqual([
      ['passed', []],
      ['failed', [['ranges IOMMU 0 flushed differ', ['domain=2 [0x0, +0x800000)'], ['domain=2 [0x0, +0x200000)']]]],
    ]);
  });
});

describe('oops text by regular expression', () => {
  it('message and function may be `{match: regex}`; a non-matching one shows the pattern against the oops', () => {
    const outcomes = run('test/dsl/fixtures/oops/match.yaml', undefined, 'test/dsl/fixtures/oops');
    expect(outcomes.map((o) => o.status)).toEqual(['passed', 'failed']);
    expect(outcomes[1]!.mismatches.map((m) => [m.title, m.expected])).toEqual([
      ['a different oops happened', ['message: /^general protection/']],
    ]);
  });
});

describe('golden files', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const fixture = (): string => {
    dir = mkdtempSync(join(tmpdir(), 'viommu-golden-'));
    copyFileSync('test/dsl/fixtures/golden.yaml', join(dir, 'golden.yaml'));
    return join(dir, 'golden.yaml');
  };

  it('a missing golden file fails and, in --ci mode, is never written', () => {
    const spec = fixture();
    const [o] = run(spec, { update: true, ci: true }, dir);
    expect(o!.status).toBe('failed');
    expect(o!.mismatches[0]!.title).toContain('is missing');
    expect(existsSync(join(dir, 'golden.golden.json'))).toBe(false);
  });

  it('--update writes it atomically (no temp file left), after which the spec passes', () => {
    const spec = fixture();
    const [first] = run(spec, { update: true, ci: false }, dir);
    expect(resolve(first!.goldenWritten!)).toBe(join(dir, 'golden.golden.json'));
    expect(readdirSync(dir).sort()).toEqual(['golden.golden.json', 'golden.yaml']);
    const golden = JSON.parse(readFileSync(join(dir, 'golden.golden.json'), 'utf8')) as { steps: string[] };
    expect(golden.steps).toEqual(['init: amd_viommu_init -> 0']);
    expect(run(spec, { update: false, ci: true }, dir)[0]!.status).toBe('passed');
  });
});

describe('byte counts', () => {
  it('compares an unmap byte count written in decimal or hex with the actual count', () => {
    const [o] = run('bench/specs/map-1g-4k.yaml', undefined, '.');
    expect(o!.mismatches).toEqual([]);
  });
});

describe('values over symbols, entries by position, allocations and memory types by glob', () => {
  it('hold without a literal allocator address, and say what each wrong one resolved to', () => {
    const outcomes = run('test/dsl/fixtures/domains/symbols.yaml', undefined, 'test/dsl/fixtures/domains');
    expect(outcomes.map((o) => [o.status, o.mismatches.map((m) => [m.title, m.expected, m.actual])])).toEqual([
      ['passed', []],
      [
        'failed',
        [
          [
            'entry 0 of the level-2 table on the walk of 0x0 in domain 2 differs',
            ['0x6000000000207001'],
            ['0x6000000000207401'],
          ],
        ],
      ],
      ['failed', [['the walk of 0x0 in domain 2 reads no level-0 table', ['L0'], ['reads L2, L1']]]],
      [
        'failed',
        [
          [
            'PTE for 0x0 in domain 2 differs',
            ['alloc(**/alloc_private_subregion[*]/**, 9) (no allocation #9 at `**/alloc_private_subregion[*]/**`)'],
            ['0x7000000000400001'],
          ],
        ],
      ],
      [
        'failed',
        [
          [
            'allocations still live differ',
            ['** ×6'],
            [
              'amd_viommu_init/viommu_private_space_init/amd_iommu_domain_alloc_paging_v1/protection_domain_alloc/kzalloc',
              'amd_viommu_init/viommu_private_space_init/amd_iommu_domain_alloc_paging_v1/pt_iommu_amdv1_init/iommu_alloc_pages_node_sz order=0',
              'amd_viommu_init/viommu_private_space_init/alloc_private_subregion[0]/viommu_priv_alloc_map_flush/iommu_alloc_pages_node_sz order=9',
              'amd_viommu_init/viommu_private_space_init/alloc_private_subregion[0]/viommu_priv_alloc_map_flush/iommu_map/iommu_map_nosync/iommu_alloc_pages_node_sz order=0',
              'amd_viommu_init/viommu_private_space_init/alloc_private_subregion[1]/viommu_priv_alloc_map_flush/iommu_alloc_pages_node_sz order=9',
              'amd_viommu_init/viommu_private_space_init/alloc_private_subregion[2]/viommu_priv_alloc_map_flush/iommu_alloc_pages_node_sz order=9',
              'amd_viommu_init/viommu_private_space_init/alloc_private_subregion[3]/viommu_priv_alloc_map_flush/iommu_alloc_pages_node_sz order=9',
            ],
          ],
        ],
      ],
      [
        'failed',
        [
          [
            'memory types differ (pages that are not WB)',
            ['every stated page as stated, no other'],
            ['1536 pages that are not WB are not stated', 'pa=0x400000 size=0x800000 UC_MINUS'],
          ],
        ],
      ],
      ['failed', [['command ring of IOMMU 0 differs', ['pending: 1'], ['head: 0x0', 'tail: 0x0', 'pending: 0']]]],
      [
        'failed',
        [
          [
            'iommu0.viommu_priv_region differs',
            ['viommu_priv_region: [NULL, NULL, NULL, NULL]'],
            ['viommu_priv_region: [0xffff888000400000, 0xffff888000600000, 0xffff888000800000, 0xffff888000a00000]'],
          ],
          ['viommu1 does not exist at the end', ['present'], ['absent']],
        ],
      ],
      ['passed', []],
      [
        'failed',
        [
          [
            'kernel log lacks lines, in this order',
            ['debug: AMD-Vi: viommu_private_space_init: devid=0x2, pte_root=0x207000'],
            expect.arrayContaining(['debug: AMD-Vi: viommu_private_space_init: devid=0x2, pte_root=0x206000']),
          ],
        ],
      ],
    ]);
  });
});

describe('after an oops', () => {
  it('later steps are not run unless the spec says `after_oops: continue`; a stated one says why', () => {
    const outcomes = run('test/dsl/fixtures/oops/after.yaml', undefined, 'test/dsl/fixtures/oops');
    expect(outcomes.map((o) => [o.status, o.mismatches.map((m) => [m.title, `${m.at.line}`])])).toEqual([
      ['passed', []],
      ['failed', [['step `uninit` was not run: step `init` oopsed', '6']]],
      ['passed', []],
    ]);
  });
});

describe('generic_pt steps, loops, prot lists and the domain top', () => {
  it('write loops out as steps, evaluate `repeat: {count, var}` per run, and compare every run', () => {
    const outcomes = run('test/dsl/fixtures/domains/generic-pt.yaml', undefined, 'test/dsl/fixtures/domains');
    expect(outcomes.map((o) => [o.status, o.mismatches.map((m) => [m.title, m.expected, m.actual])])).toEqual([
      ['passed', []],
      [
        'failed',
        [
          ['step `phys[i=1]` returned 0x0', ['0x1000'], ['0x0']],
          ['the top of domain 2 differs', ['level: 1', 'mode: 3'], ['level: 1', 'mode: 2']],
        ],
      ],
    ]);
  });

  it('name each written-out step by its loop values', () => {
    const r = planFile('test/dsl/fixtures/domains/generic-pt.yaml', 'test/dsl/fixtures/domains');
    if ('invalid' in r) throw new Error(r.invalid.errors.join('\n'));
    const plan = r.plans[0]!;
    expect(plan.steps.map((s) => s.name)).toEqual([
      'alloc',
      'map[len=4K]',
      'map[len=8K]',
      'map[len=2M]',
      'phys',
      'grow',
    ]);
    // 2M * 4 = 0x800000, 2M * 8 = 0x1000000; the prot list is IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE.
    expect(plan.steps[3]!.action).toMatchObject({
      args: { iova: 0x80_0000n, pa: 0x100_0000n, size: 0x20_0000n, prot: 7 },
    });
    expect(plan.steps[4]).toMatchObject({ repeat: 4, repeatVar: 'i' });
  });
});
