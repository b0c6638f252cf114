import { counts, type Reporter } from './reporter.js';

/** Machine-readable results; the shape is schemas/report.schema.json. */
export const jsonReporter: Reporter = {
  name: 'json',
  doc: 'machine-readable results (schemas/report.schema.json); `merge-reports` reads them back',
  render(input, { durations }) {
    const report = {
      version: 1,
      summary: counts(input),
      specs: input.outcomes.map((o) => ({
        id: o.id,
        file: o.file,
        name: o.name,
        tags: [...o.tags],
        status: o.status,
        ...(o.reason === undefined ? {} : { reason: o.reason }),
        ...(durations && o.durationMs !== undefined ? { duration_ms: Math.round(o.durationMs) } : {}),
        errors: [...o.errors],
        mismatches: o.mismatches.map((m) => ({
          title: m.title,
          location: `${m.at.file}:${m.at.line}:${m.at.col}`,
          expected: [...m.expected],
          actual: [...m.actual],
        })),
      })),
    };
    return JSON.stringify(report, null, 2) + '\n';
  },
};
