import { describe, expect, it } from 'vitest';
import { sweepRow as row } from '../helpers.js';
import { planFile, runPlan } from '../../app/runner.js';
import type { Leaf } from '../../runtime/pt/enumerate.js';
import { DETAIL_LIMITS, domainDetail, type ReportDetail } from '../../runtime/report/detail.js';
import { REPORTERS } from '../../runtime/report/index.js';
import type { SpecOutcome } from '../../runtime/report/outcome.js';
import type { ReportInput } from '../../runtime/report/reporter.js';
import { decodeAmdv1Entry } from '../../runtime/vendor/amd/view.js';
import type { DomainView } from '../../runtime/vendor/view.js';

const html = REPORTERS['html']!;
const mode = { update: false, ci: true };

function outcomes(file: string, detail: boolean): SpecOutcome[] {
  const r = planFile(file, process.cwd());
  if ('invalid' in r) throw new Error(r.invalid.errors.join('\n'));
  return r.plans.map((p) => runPlan(p, mode, undefined, detail));
}

function report(detail: boolean): ReportInput {
  return {
    skipped: 0,
    outcomes: [
      ...outcomes('test/report/fixtures/failing-map.yaml', detail),
      ...outcomes('specs/viommu/completion-wait-timeout.yaml', detail),
      ...outcomes('specs/sweeps/viommu-init-teardown.yaml', detail),
    ],
  };
}

describe('html reporter', () => {
  const first = report(true);
  const text = html.render(first, { color: false });

  it('is one self-contained page: inline style and script, nothing fetched', () => {
    expect(text.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(text).toContain('<style>');
    expect(text).toContain('<script>');
    expect(text).not.toMatch(/https?:\/\//);
    expect(text).not.toMatch(/<(link|img|iframe)\b|\bsrc=/);
  });

  it('gives the same bytes for the same run, and shows durations only when asked', () => {
    const again = html.render(report(true), { color: false });
    expect(again).toBe(text);
    const timed: ReportInput = { ...first, outcomes: first.outcomes.map((o) => ({ ...o, durationMs: 1234 })) };
    expect(html.render(timed, { color: false })).toBe(text);
    expect(html.render(timed, { color: false, durations: true })).toContain('(1.2 s)');
  });

  it('shows each part of a run: strip data, tree, timeline, memory types, allocations, log, diff and sweep', () => {
    for (const part of ['class="iova"', 'class="tree"', 'class="tl"', 'Memory types', 'Allocations by site']) {
      expect(text).toContain(part);
    }
    expect(text).toContain('Kernel log');
    expect(text).toContain('class="cols"><div class="diff">');
    expect(text).toContain('x mappings of domain 2 differ');
    expect(text).toContain('class="sweep"');
    expect(text).toContain('Completion-Wait loop timed out');
  });

  it('escapes what a spec says: a name cannot inject markup, data cannot end its script', () => {
    const o: SpecOutcome = {
      id: 'x.yaml',
      file: 'x.yaml',
      name: '<img src=x onerror=alert(1)> & "q"',
      tags: [],
      status: 'passed',
      mismatches: [],
      errors: [],
    };
    const t = html.render({ skipped: 0, outcomes: [o] }, { color: false });
    expect(t).toContain('&lt;img src=x onerror=alert(1)&gt; &amp; &quot;q&quot;');
    expect(t).not.toContain('<img');
  });

  it('marks the sweep rows a failed expectation is about, and each row by outcome', () => {
    const at = { file: 's.yaml', line: 9, col: 5, text: '- point: a#1' };
    const o: SpecOutcome = {
      id: 's.yaml',
      file: 's.yaml',
      name: 'a sweep',
      tags: [],
      status: 'failed',
      errors: [],
      mismatches: [{ at, title: 'a#1 did not oops', expected: ['true'], actual: ['no oops'], point: 'a#1' }],
      sweep: {
        baseline: row('(none)'),
        rows: [row('a#1'), row('a#12', { oops: 'NULL pointer in f' }), row('b#1', { violations: ['no-leak: x'] })],
        points: 3,
        discovered: 0,
        complete: true,
      },
    };
    const t = html.render({ skipped: 0, outcomes: [o] }, { color: false });
    const rows = [...t.matchAll(/<tr data-outcome="([a-z-]+)" data-mismatch="([01])"/g)].map((m) => `${m[1]} ${m[2]}`);
    expect(rows).toEqual(['ok 0', 'ok 1', 'oops 0', 'violations 0']);
  });

  it('leaves the other reporters as they were: the detail is only collected when asked, and ignored', () => {
    const plain = report(false);
    expect(plain.outcomes.every((o) => o.detail === undefined)).toBe(true);
    expect(first.outcomes.some((o) => o.detail !== undefined)).toBe(true);
    for (const name of ['json', 'junit', 'tap', 'ktap', 'pretty']) {
      expect(REPORTERS[name]!.render(first, { color: false })).toBe(REPORTERS[name]!.render(plain, { color: false }));
    }
    expect(
      Object.entries(REPORTERS)
        .filter(([, r]) => r.wantsDetail)
        .map(([n]) => n),
    ).toEqual(['html']);
  });

  it("collects the failing spec's detail: merged ranges, the tree's leaf runs, the timeline", () => {
    const d: ReportDetail = first.outcomes[0]!.detail!;
    expect(d.domains.map((x) => x.ranges.map((r) => `${r.start} ${r.size} ${r.lg2} ${r.perm} ${r.leaves}`))).toEqual([
      [
        '0x0 0x800000 21 rw 4',
        '0x10000000 0x2000 13 rw 1',
        '0x10002000 0x1000 12 rw 1',
        '0x10010000 0x4000 14 r 1',
        '0x40000000 0x400000 22 rw 1',
      ],
    ]);
    // The 16 KiB leaf's four copies are one row (fact sheet §1.3: each copy holds the same value).
    const l1 = d.domains[0]!.tree.entries[0]!.child!;
    const l0 = l1.entries.find((e) => e.child)!.child!;
    expect(l0.entries.map((e) => `${e.index} x${e.count} ${e.raw}`)).toEqual([
      '0 x2 0x7000000080000e01',
      '2 x1 0x7000000080002001',
      '16 x4 0x3000000080011e01',
    ]);
    expect(d.iommus[0]!.items.map((i) => i.kind)).toEqual(['executed', 'wait', 'executed', 'wait']);
    expect(first.outcomes[1]!.detail!.timeouts).toHaveLength(4);
  });
});

describe('report detail caps', () => {
  /** A domain with `n` separate 4 KiB leaves, 2 pages apart, in one level-0 table per 256 leaves. */
  function fakeDomain(n: number): DomainView {
    const leaves: Leaf[] = Array.from({ length: n }, (_, i) => ({
      iova: BigInt(i) * 0x2000n,
      lg2: 12,
      pa: 0x1000_0000n + BigInt(i) * 0x2000n,
      read: true,
      write: true,
      entry: 0n,
    }));
    // Level-0 table t at 0x200000 + t * 4 KiB holds leaves t*256 .. t*256+255 at its even slots.
    return {
      id: 7,
      objectVa: 0n,
      top: { pa: 0x100000n, level: 1, mode: 2 },
      tablePages: () => [],
      leaves: () => leaves,
      entryFor: () => 0n,
      walk: () => [],
      itemLg2: (level) => 12 + 9 * level,
      tableEntries: (pa, level) =>
        Array.from({ length: 512 }, (_, i) => {
          if (level === 1) return i < Math.ceil(n / 256) ? 0x6000000000000201n | (0x200000n + BigInt(i) * 0x1000n) : 0n;
          const leaf = Number((pa - 0x200000n) / 0x1000n) * 256 + i / 2;
          return i % 2 === 0 && leaf < n ? 0x6000000000000001n | (0x10000000n + BigInt(leaf) * 0x2000n) : 0n;
        }),
      decodeEntry: (entry, level) => decodeAmdv1Entry(entry, level),
    };
  }

  it('keeps a domain of many leaves bounded and says what it left out', () => {
    const notes: string[] = [];
    const d = domainDetail(fakeDomain(5000), notes);
    expect(d.ranges).toHaveLength(DETAIL_LIMITS.rangesPerDomain);
    const rows = (t: ReportDetail['domains'][number]['tree']): number =>
      t.entries.reduce((n, e) => n + 1 + (e.child ? rows(e.child) : 0), 0);
    // Each of the first 11 level-0 tables: its row at the top and 256 leaf rows (2827); the 12th: its row and
    // 172 leaf rows, its other 84 leaves and the 8 later tables counted, not listed.
    expect(rows(d.tree)).toBe(DETAIL_LIMITS.treeRowsPerDomain);
    expect(notes).toEqual([
      'domain 7 mapped ranges: the first 2000 of 5000 shown',
      'domain 7 page table: the first 3000 rows shown; 92 more entries not listed',
    ]);
  });

  it('merges a contiguous run of leaves into one range, so a large mapping stays one row', () => {
    const leaves: Leaf[] = Array.from({ length: 100_000 }, (_, i) => ({
      iova: BigInt(i) << 12n,
      lg2: 12,
      pa: BigInt(i) << 12n,
      read: true,
      write: false,
      entry: 0n,
    }));
    const d = { ...fakeDomain(0), leaves: () => leaves };
    const notes: string[] = [];
    expect(domainDetail(d, notes).ranges).toEqual([
      { start: '0x0', size: '0x186a0000', lg2: 12, perm: 'r', pa: '0x0', leaves: 100_000 },
    ]);
    expect(notes).toEqual([]);
  });
});

describe('AMD v1 entries decoded for the report (amd-iommu-facts §1.2, §1.3)', () => {
  it('reads table pointers and leaves of each size encoding', () => {
    expect(decodeAmdv1Entry(0x6000000012345401n, 2)).toEqual({
      kind: 'table',
      target: 0x12345000n,
      lg2: 30,
      fields: 'PR NL=2 OA=0x12345000 IR IW',
    });
    expect(decodeAmdv1Entry(0x7000000400009e01n, 0)).toEqual({
      kind: 'leaf',
      target: 0x400008000n,
      lg2: 14,
      fields: 'PR NL=7 OA=0x400009000 pa=0x400008000 size=0x4000 FC IR IW',
    });
    expect(decodeAmdv1Entry(0x7000000100200001n, 1)).toEqual({
      kind: 'leaf',
      target: 0x100200000n,
      lg2: 21,
      fields: 'PR NL=0 OA=0x100200000 pa=0x100200000 size=0x200000 FC IR IW',
    });
    expect(decodeAmdv1Entry(0n, 0).kind).toBe('empty');
  });
});
