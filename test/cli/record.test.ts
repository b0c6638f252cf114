import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { record } from '../../app/record.js';
import { planFile, runPlan } from '../../app/runner.js';

const dir = mkdtempSync(join(tmpdir(), 'viommu-record-'));
cpSync('specs/common', join(dir, 'common'), { recursive: true });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The spec with its `expect:` (and golden) replaced by what `record` printed for it. */
function recorded(spec: string): string {
  const r = planFile(spec, 'specs');
  if ('invalid' in r) throw new Error(r.invalid.errors.join('\n'));
  const block = parse(record(r.plans[0]!)) as { expect: unknown };
  const source = parse(readFileSync(spec, 'utf8')) as Record<string, unknown>;
  delete source['golden'];
  const out = join(dir, basename(dirname(spec)), basename(spec));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, stringify({ ...source, expect: block.expect }, { lineWidth: 0 }));
  return out;
}

describe('record', () => {
  it.each([
    'specs/viommu/init-happy.yaml',
    'specs/viommu/init-uninit.yaml',
    'specs/viommu/teardown-flush-failure.yaml',
    'specs/viommu/attach-device.yaml',
    'specs/series-s/three-guests.yaml',
  ])('prints an expect: block that %s then passes, every key stated', (spec) => {
    const file = recorded(spec);
    const r = planFile(file, dir);
    if ('invalid' in r) throw new Error(r.invalid.errors.join('\n'));
    const o = runPlan(r.plans[0]!, { update: false, ci: true });
    expect(o.mismatches.map((m) => m.title)).toEqual([]);
    expect(r.plans[0]!.expect.map((e) => e.key)).toContain('driver');
    expect(r.plans[0]!.expect.map((e) => e.key)).toContain('guests');
  });

  it('writes allocator addresses as symbols, so the block does not name them', () => {
    const r = planFile('specs/viommu/init-happy.yaml', 'specs');
    if ('invalid' in r) throw new Error(r.invalid.errors.join('\n'));
    const text = record(r.plans[0]!);
    expect(text).toContain('"0": 0x6000000000000401 | table(2, L1, 0x0)');
    expect(text).toContain('viommu_pdom: domain(2)');
    expect(text).not.toContain('0xffff888000400000');
  });
});
