import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const CLI = 'dist/bin/viommu-spec.cjs';
const SPECS = 6;
const OLD = '{ "old": true }\n';

/** A suite of SPECS golden specs whose golden files all hold OLD, in a fresh folder. */
function suite(): string {
  const dir = mkdtempSync(join(tmpdir(), 'viommu-kill-'));
  writeFileSync(join(dir, 'viommu-spec.config.json'), '{}\n');
  mkdirSync(join(dir, 'common'));
  cpSync('specs/common/one-iommu.fragment.yaml', join(dir, 'common/one-iommu.fragment.yaml'));
  const spec = readFileSync('specs/viommu/init-uninit.yaml', 'utf8');
  for (let i = 0; i < SPECS; i++) {
    const name = `s${i}`;
    writeFileSync(join(dir, `${name}.yaml`), spec.replace('../common/', 'common/'));
    writeFileSync(join(dir, `${name}.golden.json`), OLD);
  }
  return dir;
}

const goldens = (dir: string): string[] =>
  [...Array(SPECS).keys()].map((i) => readFileSync(join(dir, `s${i}.golden.json`), 'utf8'));

describe('golden files survive a run killed during --update', () => {
  // The tool's own failure point VIOMMU_SPEC_TEST_CRASH=golden-temp:K kills it (SIGKILL) at the worst
  // moment: the K-th golden file's new text is in its temporary file, not yet renamed into place.
  it.each([1, 3, SPECS])(
    'killed while writing golden file %i: the earlier ones are new, the rest old, none partial',
    (k) => {
      const reference = suite();
      expect(spawnSync(process.execPath, [CLI, 'run', reference, '--update', '--jobs', '1']).status).toBe(0);
      const NEW = goldens(reference)[0]!;
      expect(NEW).not.toBe(OLD);

      const dir = suite();
      const killed = spawnSync(process.execPath, [CLI, 'run', dir, '--update', '--jobs', '1'], {
        env: { ...process.env, VIOMMU_SPEC_TEST_CRASH: `golden-temp:${k}` },
      });
      expect(killed.signal).toBe('SIGKILL');
      expect(goldens(dir)).toEqual([...Array(SPECS).keys()].map((i) => (i < k - 1 ? NEW : OLD)));
      // The interrupted write left only its temporary file, which holds the complete new text.
      const temps = readdirSync(dir).filter((f) => f.endsWith('.tmp'));
      expect(temps).toEqual([expect.stringMatching(new RegExp(`^s${k - 1}\\.golden\\.json\\.\\d+\\.tmp$`))]);
      expect(readFileSync(join(dir, temps[0]!), 'utf8')).toBe(NEW);
      // The next run names the leftover, so nobody commits it by mistake.
      const next = spawnSync(process.execPath, [CLI, 'run', dir, '--update', '--jobs', '1', '--no-color'], {
        encoding: 'utf8',
      });
      expect(next.stdout).toMatch(
        new RegExp(`^OBSOLETE \\S*${temps[0]!.replace(/\./g, '\\.')}  \\(no spec refers to it\\)$`, 'm'),
      );
      expect(goldens(dir)).toEqual(Array(SPECS).fill(NEW));
    },
  );
});
