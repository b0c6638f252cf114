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

/**
 * JUnit XML as CI servers read it: one testsuite, a testcase per spec, failures and errors with text. No
 * `time` attributes: durations would make the report differ from run to run, and a constant would lie.
 */
export const junitReporter: Reporter = {
  name: 'junit',
  doc: 'JUnit XML as CI servers read it: a testcase per spec, failures with their diffs',
  render(input) {
    const c = counts(input);
    const cases = input.outcomes.map((o) => {
      const open = `    <testcase classname="${xml(o.file)}" name="${xml(o.id)}">`;
      if (o.status === 'passed') return `${open}</testcase>`;
      if (o.status === 'invalid')
        return `${open}\n      <error message="invalid spec" type="invalid">${xml(o.errors.join('\n'))}</error>\n    </testcase>`;
      const body = o.mismatches
        .map((m) => `${m.title} (${m.at.file}:${m.at.line}:${m.at.col})\n${unifiedDiff(m)}`)
        .join('\n\n');
      return `${open}\n      <failure message="${xml(o.mismatches[0]?.title ?? 'failed')}" type="mismatch">${xml(body)}</failure>\n    </testcase>`;
    });
    return [
      '<?xml version="1.0" encoding="UTF-8"?>',
      `<testsuites name="viommu-spec" tests="${input.outcomes.length}" failures="${c.failed - c.invalid}" errors="${c.invalid}" skipped="${c.skipped}">`,
      `  <testsuite name="viommu-spec" tests="${input.outcomes.length}" failures="${c.failed - c.invalid}" errors="${c.invalid}" skipped="${c.skipped}">`,
      ...cases,
      '  </testsuite>',
      '</testsuites>',
      '',
    ].join('\n');
  },
};
