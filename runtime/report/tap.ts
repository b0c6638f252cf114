import { summaryLine, type Reporter } from './reporter.js';

function yamlBlock(lines: readonly string[]): string[] {
  return ['  ---', ...lines.map((l) => `  ${l}`), '  ...'];
}

/** TAP version 13: one test point per spec, a YAML block for failures. */
export const tapReporter: Reporter = {
  name: 'tap',
  doc: 'TAP version 13, a YAML block per failure',
  render(input) {
    const out = ['TAP version 13', `1..${input.outcomes.length}`];
    input.outcomes.forEach((o, i) => {
      out.push(`${o.status === 'passed' ? 'ok' : 'not ok'} ${i + 1} - ${o.id}`);
      if (o.status === 'failed')
        out.push(
          ...yamlBlock(
            o.mismatches.flatMap((m) => [
              `- message: ${JSON.stringify(m.title)}`,
              `  at: ${JSON.stringify(`${m.at.file}:${m.at.line}:${m.at.col}`)}`,
            ]),
          ),
        );
      if (o.status === 'invalid')
        out.push(...yamlBlock([`message: invalid spec`, `errors: ${JSON.stringify(o.errors.join('\n'))}`]));
    });
    out.push(`# ${summaryLine(input)}`);
    return out.join('\n') + '\n';
  },
};
