import { mkdirSync, writeFileSync } from 'node:fs';
import { allocatorBench } from './allocator.js';
import { cDriverBench } from './c-driver.js';
import { pageTableBench } from './page-table.js';
import { iommuHwBench } from './iommu-hw.js';
import { jobsBench, memoryBench, suiteBench, sweepBench } from './suite.js';
import { sweepScaleBench } from './sweep-scale.js';
import type { BenchResult } from './harness.js';

/** `npm run bench`: prints a table and writes bench/results/latest.json. Never part of `npm test`. */
const suites: [string, () => BenchResult[]][] = [
  ['allocator', allocatorBench],
  ['page table', pageTableBench],
  ['iommu hardware', iommuHwBench],
  ['spec suite', suiteBench],
  ['--jobs', jobsBench],
  ['sweep', sweepBench],
  ['sweep scale', sweepScaleBench],
  ['c driver', cDriverBench],
  ['memory', memoryBench],
];

// `npm run bench -- memory --jobs`: only the suites named (all when none is).
const only = process.argv.slice(2);
const results: BenchResult[] = [];
for (const [name, run] of suites.filter(([name]) => only.length === 0 || only.includes(name))) {
  process.stderr.write(`bench: ${name}\n`);
  results.push(...run());
}

const fmt = (n: number): string => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2));
const rows = results.map((r) => [
  r.name,
  `${fmt(r.value)} ${r.unit}`,
  r.baseline ? `${r.baseline.ratio.toFixed(3)} x ${r.baseline.name}` : '',
  r.target === undefined ? '' : `${r.target}${r.pass === undefined ? '' : r.pass ? '  PASS' : '  MISS'}`,
]);
const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c]!.length), 6));
for (const row of [['figure', 'value', 'vs baseline', 'target'], ...rows]) {
  process.stdout.write(
    row
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join('  ')
      .trimEnd() + '\n',
  );
}
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/latest.json', JSON.stringify({ node: process.version, results }, null, 2) + '\n');
