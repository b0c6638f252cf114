import { markedLine, summaryLine, type Reporter } from './reporter.js';

function yamlBlock(lines: readonly string[]): string[] {
  return ['  ---', ...lines.map((l) => `  ${l}`), '  ...'];
}

/**
 * TAP version 13: one test point per spec, a YAML block for failures; `# SKIP` and `# TODO` directives for
 * specs so marked; with --durations, a YAML block with `duration_ms` for each spec that ran.
 */
export const tapReporter: Reporter = {
  name: 'tap',
  doc: 'TAP version 13, a YAML block per failure',
  render(input, { durations }) {
    const out = ['TAP version 13', `1..${input.outcomes.length}`];
    input.outcomes.forEach((o, i) => {
      if (o.status === 'skipped' || o.status === 'todo') {
        // A todo spec is not run; TAP's TODO directive on `not ok` says it is not expected to pass yet.
        out.push(
          `${o.status === 'todo' ? 'not ok' : 'ok'} ${i + 1} - ${o.id} # ${o.status === 'todo' ? 'TODO' : 'SKIP'} ${o.reason ?? ''}`,
        );
        return;
      }
      out.push(`${o.status === 'passed' ? 'ok' : 'not ok'} ${i + 1} - ${o.id}`);
      const duration = durations && o.durationMs !== undefined ? [`duration_ms: ${Math.round(o.durationMs)}`] : [];
      if (o.status === 'passed' && duration.length) out.push(...yamlBlock(duration));
      if (o.status === 'failed')
        out.push(
          ...yamlBlock([
            ...(duration.length ? [...duration, 'failures:'] : []),
            ...o.mismatches.flatMap((m) => [
              `- message: ${JSON.stringify(m.title)}`,
              `  at: ${JSON.stringify(`${m.at.file}:${m.at.line}:${m.at.col}`)}`,
            ]),
          ]),
        );
      if (o.status === 'invalid')
        out.push(...yamlBlock([`message: invalid spec`, `errors: ${JSON.stringify(o.errors.join('\n'))}`]));
    });
    const marked = markedLine(input);
    if (marked) out.push(`# ${marked}`);
    out.push(`# ${summaryLine(input)}`);
    return out.join('\n') + '\n';
  },
};
