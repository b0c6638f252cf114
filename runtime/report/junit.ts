import { unifiedDiff } from '../check/mismatch.js';
import { counts, type Reporter } from './reporter.js';

function xml(text: string): string {
  // XML 1.0 cannot carry most control characters even escaped: drop them.
  return (
    text
      // eslint-disable-next-line no-control-regex -- these are exactly the characters XML forbids
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
  );
}

/** Seconds with millisecond precision, as JUnit's `time` attribute has them. */
const seconds = (ms: number): string => (ms / 1000).toFixed(3);

/**
 * JUnit XML as CI servers read it: one testsuite, a testcase per spec, failures and errors with text, and
 * `<skipped>` for specs marked `skip:` or `todo:`. `time` attributes only with `--durations`: durations
 * would make the report differ from run to run, and a constant would lie.
 */
export const junitReporter: Reporter = {
  name: 'junit',
  doc: 'JUnit XML as CI servers read it: a testcase per spec, failures with their diffs',
  render(input, { durations }) {
    const c = counts(input);
    const time = (ms: number | undefined): string => (durations && ms !== undefined ? ` time="${seconds(ms)}"` : '');
    const total = time(input.outcomes.reduce((sum, o) => sum + (o.durationMs ?? 0), 0));
    const cases = input.outcomes.map((o) => {
      const open = `    <testcase classname="${xml(o.file)}" name="${xml(o.id)}"${time(o.durationMs)}>`;
      if (o.status === 'passed') return `${open}</testcase>`;
      if (o.status === 'skipped' || o.status === 'todo')
        return `${open}\n      <skipped message="${xml(`${o.status === 'todo' ? 'todo: ' : ''}${o.reason ?? ''}`)}"/>\n    </testcase>`;
      if (o.status === 'invalid')
        return `${open}\n      <error message="invalid spec" type="invalid">${xml(o.errors.join('\n'))}</error>\n    </testcase>`;
      const body = o.mismatches
        .map((m) => `${m.title} (${m.at.file}:${m.at.line}:${m.at.col})\n${unifiedDiff(m)}`)
        .join('\n\n');
      return `${open}\n      <failure message="${xml(o.mismatches[0]?.title ?? 'failed')}" type="mismatch">${xml(body)}</failure>\n    </testcase>`;
    });
    // Specs left out by the selection, and those marked skip or todo.
    const skipped = c.skipped + c.skip + c.todo;
    return [
      '<?xml version="1.0" encoding="UTF-8"?>',
      `<testsuites name="viommu-spec" tests="${input.outcomes.length}" failures="${c.failed - c.invalid}" errors="${c.invalid}" skipped="${skipped}"${total}>`,
      `  <testsuite name="viommu-spec" tests="${input.outcomes.length}" failures="${c.failed - c.invalid}" errors="${c.invalid}" skipped="${skipped}"${total}>`,
      ...cases,
      '  </testsuite>',
      '</testsuites>',
      '',
    ].join('\n');
  },
};
