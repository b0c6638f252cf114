import { INVARIANTS, INVARIANT_NAMES } from '../runtime/check/invariants.js';
import { EXPECTATIONS } from '../runtime/check/diff.js';
import { FAILURE_POINTS, FAILURE_POINT_NAMES } from '../runtime/fault/points.js';
import { EXPECT_KEYS } from '../runtime/plan/expect.js';
import { REPORTERS } from '../runtime/report/index.js';
import { VENDORS } from '../runtime/vendors/index.js';
import { portedFrames } from '../runtime/linux/ported.js';

/**
 * The README's lists of vocabulary, rendered from the registries: entry points, failure points,
 * expectation keys, invariants, reporters, driver variants. `npm run gen:docs` writes them between the
 * README's `<!-- generated:NAME -->` markers, and a test fails when the README lags.
 */

const cell = (text: string): string => text.replace(/\|/g, '\\|');

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}

export const GENERATED_SECTIONS: Readonly<Record<string, () => string>> = {
  'entry-points': () =>
    table(
      ['entry point', 'args', 'returns', 'what it does'],
      Object.values(VENDORS).flatMap((v) =>
        v.entryPoints.map((e) => [
          `\`${e.name}\``,
          Object.entries(e.args)
            .map(([n, a]) => `${n}${a.required ? '' : '?'}: ${a.type}`)
            .join(', ') || '-',
          e.returns,
          e.doc,
        ]),
      ),
    ),
  'failure-points': () =>
    table(
      ['failure point', 'fails as', 'layer', 'what fails'],
      FAILURE_POINT_NAMES.map((n) => [
        `\`${n}\``,
        FAILURE_POINTS[n].kind,
        FAILURE_POINTS[n].layer,
        FAILURE_POINTS[n].doc,
      ]),
    ),
  expectations: () =>
    table(
      ['key', 'what it compares'],
      EXPECT_KEYS.map((k) => [`\`${k}\``, EXPECTATIONS[k].doc]),
    ),
  invariants: () =>
    table(
      ['invariant', 'what it checks'],
      INVARIANT_NAMES.map((n) => [`\`${n}\`${'optIn' in INVARIANTS[n] ? ' (opt-in)' : ''}`, INVARIANTS[n].doc]),
    ),
  reporters: () =>
    table(
      ['reporter', 'output'],
      Object.values(REPORTERS).map((r) => [`\`${r.name}\``, r.doc]),
    ),
  upstream: () => {
    const byFile = new Map<string, string[]>();
    for (const f of portedFrames()) {
      const { tree, file } = f.upstream;
      const key = `${file}|${tree.repo}|${tree.commit}`;
      byFile.set(key, [...(byFile.get(key) ?? []), `\`${f.name}\``]);
    }
    return table(
      ['file', 'tree @ commit', 'functions'],
      [...byFile.entries()]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([key, names]) => {
          const [file, repo, commit] = key.split('|') as [string, string, string];
          return [file, `${repo} @ ${commit.slice(0, 12)}`, names.sort().join(', ')];
        }),
    );
  },
  'driver-objects': () =>
    table(
      ['struct (key)', 'field', 'what it holds'],
      Object.values(VENDORS).flatMap((v) =>
        v.driverObjects.flatMap((o) =>
          Object.entries(o.fields).map(([name, doc], i) => [
            i === 0 ? `\`${o.prefix}N\`: ${o.doc}` : '',
            `\`${name}\``,
            doc,
          ]),
        ),
      ),
    ),
  'guest-vocabulary': () =>
    table(
      ['`guests:` field', 'names'],
      Object.values(VENDORS).flatMap((v) => [
        ['`vf_cntl`', v.guestVocabulary.vf_cntl.map((n) => `\`${n}\``).join(', ')],
        ['`vf`', v.guestVocabulary.vf.map((n) => `\`${n}\``).join(', ')],
        ...Object.entries(v.guestVocabulary.queues).map(([type, flags]) => [
          `\`queues.${type}.flags\``,
          flags.map((n) => `\`${n}\``).join(', '),
        ]),
      ]),
    ),
  variants: () =>
    table(
      ['driver variant', 'what it is'],
      Object.values(VENDORS).flatMap((v) => v.variants().map((x) => [`\`${x.name}\``, x.description])),
    ),
};

/** The README with every generated section rendered afresh; throws when a marker is missing. */
export function renderReadme(readme: string): string {
  let out = readme;
  for (const [name, render] of Object.entries(GENERATED_SECTIONS)) {
    const open = `<!-- generated:${name} -->`;
    const close = `<!-- /generated:${name} -->`;
    const start = out.indexOf(open);
    const end = out.indexOf(close);
    if (start < 0 || end < start) throw new Error(`README.md lacks the ${open} ... ${close} markers`);
    out = `${out.slice(0, start + open.length)}\n${render()}\n${out.slice(end)}`;
  }
  return out;
}
