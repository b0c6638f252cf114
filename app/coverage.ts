import type { Coverage } from '../runtime/check/coverage.js';

/** `coverage --json`: every point with who passes and fails it, then those no spec fails. */
export function coverageJson(c: Coverage): string {
  const never = c.points.filter((p) => p.failedBy.length === 0).map((p) => p.point);
  const report = {
    version: 1,
    summary: { points: c.points.length, failed: c.points.length - never.length, never_failed: never.length },
    points: c.points.map((p) => ({
      point: p.point,
      site: p.site,
      call: p.call,
      passed_by: [...p.passedBy],
      failed_by: p.failedBy.map((f) => ({ id: f.id, by: f.by })),
    })),
    never_failed: never,
    not_run: [...c.notRun],
    stopped: c.stopped.map((s) => ({ id: s.id, why: s.why })),
  };
  return JSON.stringify(report, null, 2) + '\n';
}

const plural = (n: number, one: string): string => `${n} ${one}${n === 1 ? '' : 's'}`;

/** `coverage`: a table of points (who fails each), the points no spec fails, and a plain last line. */
export function coverageTable(c: Coverage): string {
  const failed = (p: Coverage['points'][number]): string =>
    p.failedBy.length ? p.failedBy.map((f) => (f.by === 'sweep' ? `${f.id} (sweep)` : f.id)).join(', ') : '-';
  const rows = c.points.map((p) => [p.point, plural(p.passedBy.length, 'spec'), failed(p)] as const);
  const head = ['failure point', 'passed by', 'failed by'] as const;
  const w0 = Math.max(head[0].length, ...rows.map((r) => r[0].length));
  const w1 = Math.max(head[1].length, ...rows.map((r) => r[1].length));
  const line = (r: readonly [string, string, string]): string => `${r[0].padEnd(w0)}  ${r[1].padEnd(w1)}  ${r[2]}`;
  const never = c.points.filter((p) => p.failedBy.length === 0);
  const out = [line(head), ...rows.map(line), ''];
  if (never.length) {
    out.push(`never failed by any spec (${never.length}):`);
    out.push(...never.map((p) => `  ${p.point}  (passed by ${p.passedBy.join(', ') || '-'})`), '');
  }
  if (c.notRun.length) out.push(`not run (skip or todo): ${c.notRun.join(', ')}`);
  for (const s of c.stopped) out.push(`stopped by a budget, covered in part: ${s.id}: ${s.why}`);
  out.push(
    `${plural(c.points.length, 'failure point')}: ${c.points.length - never.length} failed by a spec or sweep, ${never.length} never failed`,
  );
  return out.join('\n') + '\n';
}
