import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layering of the source tree, enforced: a folder may import from folders of a lower rank, or of the
 * same rank when no cycle results; never upward. Ranks follow the design: bin -> app -> dsl and report ->
 * check -> exec -> plan -> vendors -> the model (driver port, generic_pt, kernel platform, hardware,
 * memory, failure points, base).
 */
const RANKS: [folder: string, rank: number][] = [
  ['bin', 90],
  ['app', 80],
  ['dsl', 70],
  ['runtime/report', 70],
  ['runtime/check', 60],
  ['runtime/exec', 50],
  ['runtime/plan', 40],
  ['runtime/vendors', 35],
  ['runtime/vendor/amd', 32],
  ['runtime/vendor', 31],
  ['runtime/linux/amd', 30],
  ['runtime/pt', 25],
  ['runtime/linux', 24],
  ['runtime/hw', 23],
  ['runtime/mem', 22],
  ['runtime/fault', 22],
  ['runtime/wasm', 21],
  ['runtime/base', 20],
];

function rankOf(folder: string): number {
  const hit = RANKS.filter(([f]) => folder === f || folder.startsWith(`${f}/`)).sort(
    (a, b) => b[0].length - a[0].length,
  )[0];
  if (!hit) throw new Error(`folder ${folder} has no rank; add it to RANKS`);
  return hit[1];
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? sources(p) : /\.ts$/.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"](\.{1,2}\/[^'"]+)['"]/g;

/** Folder-to-folder import edges of the shipped code, with one file that makes each. */
function folderEdges(): Map<string, Map<string, string>> {
  const edges = new Map<string, Map<string, string>>();
  for (const file of ['bin', 'app', 'dsl', 'runtime'].flatMap(sources)) {
    const from = dirname(file);
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const spec = m[1] ?? m[2] ?? m[3]!;
      const to = dirname(normalize(join(from, spec)));
      if (to === from) continue;
      if (!edges.has(from)) edges.set(from, new Map());
      edges.get(from)!.set(relative('.', to), file);
    }
  }
  return edges;
}

describe('source layering', () => {
  const edges = folderEdges();

  it('imports never point up a layer', () => {
    const upward: string[] = [];
    for (const [from, tos] of edges) {
      for (const [to, file] of tos)
        if (rankOf(to) > rankOf(from)) upward.push(`${file} imports ${to} (rank ${rankOf(to)} > ${rankOf(from)})`);
    }
    expect(upward).toEqual([]);
  });

  it('folders import each other in no cycle', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (f: string, path: string[]): void => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        cycles.push([...path.slice(path.indexOf(f)), f].join(' -> '));
        return;
      }
      state.set(f, 'open');
      for (const to of edges.get(f)?.keys() ?? []) visit(to, [...path, f]);
      state.set(f, 'done');
    };
    for (const f of edges.keys()) visit(f, []);
    expect(cycles).toEqual([]);
  });

  it('the check itself can fail: an upward import is seen', () => {
    expect(rankOf('runtime/mem')).toBeLessThan(rankOf('runtime/exec'));
    const fake = 'import { execute } from "../exec/executor.js";';
    const m = [...fake.matchAll(IMPORT)][0]!;
    expect(rankOf(dirname(normalize(join('runtime/mem', m[1]!))))).toBeGreaterThan(rankOf('runtime/mem'));
  });
});
