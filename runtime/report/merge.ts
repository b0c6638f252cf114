import { readFileSync } from 'node:fs';
import type { Mismatch } from '../check/mismatch.js';
import type { SpecOutcome, Status } from './outcome.js';
import type { ReportInput } from './reporter.js';

interface JsonReport {
  version: 1;
  summary: { skipped: number };
  specs: {
    id: string;
    file: string;
    name: string;
    tags: string[];
    status: Status;
    reason?: string;
    duration_ms?: number;
    errors: string[];
    mismatches: { title: string; location: string; expected: string[]; actual: string[] }[];
  }[];
}

/** Reads a JSON report (schemas/report.schema.json) back into reporter input, or says why it cannot. */
export function readReport(file: string): ReportInput | string {
  let report: JsonReport;
  try {
    report = JSON.parse(readFileSync(file, 'utf8')) as JsonReport;
  } catch (e) {
    return `not a readable JSON report (${(e as Error).message})`;
  }
  if (report?.version !== 1 || !Array.isArray(report.specs)) return 'not a viommu-spec JSON report (version 1)';
  const outcomes: SpecOutcome[] = report.specs.map((s) => ({
    id: s.id,
    file: s.file,
    name: s.name,
    tags: s.tags,
    status: s.status,
    ...(s.reason === undefined ? {} : { reason: s.reason }),
    ...(s.duration_ms === undefined ? {} : { durationMs: s.duration_ms }),
    errors: s.errors,
    mismatches: s.mismatches.map((m): Mismatch => {
      const [, file = '', line = '0', col = '0'] = /^(.*):(\d+):(\d+)$/.exec(m.location) ?? [];
      return {
        at: { file, line: Number(line), col: Number(col), text: '' },
        title: m.title,
        expected: m.expected,
        actual: m.actual,
      };
    }),
  }));
  return { outcomes, skipped: report.summary.skipped };
}
