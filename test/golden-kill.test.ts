import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const CLI = 'dist/bin/viommu-spec.js';
const SPECS = 120;
const OLD = '{ "old": true }\n';

/** A suite of SPECS golden specs whose golden files all hold OLD, in a fresh folder. */
function suite(): string {
  const dir = mkdtempSync(join(tmpdir(), 'viommu-kill-'));
  mkdirSync(join(dir, 'common'));
  cpSync('specs/common/one-iommu.fragment.yaml', join(dir, 'common/one-iommu.fragment.yaml'));
  const spec = readFileSync('specs/viommu/init-uninit.yaml', 'utf8');
  for (let i = 0; i < SPECS; i++) {
    const name = `s${String(i).padStart(3, '0')}`;
    writeFileSync(join(dir, `${name}.yaml`), spec.replace('../common/', 'common/'));
    writeFileSync(join(dir, `${name}.golden.json`), OLD);
  }
  return dir;
}

function goldens(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.golden.json'))
    .sort()
    .map((f) => readFileSync(join(dir, f), 'utf8'));
}

/** Runs --update in `dir` and SIGKILLs it after `ms`. */
function killAfter(dir: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'run', dir, '--update', '--jobs', '1'], { stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

describe('golden files survive a run killed during --update', () => {
  it('leaves every golden file either old or new, never partial', async () => {
    // The new content, and how long a full update takes on this machine.
    const reference = suite();
    const t0 = Date.now();
    expect(spawnSync(process.execPath, [CLI, 'run', reference, '--update', '--jobs', '1']).status).toBe(0);
    const full = Date.now() - t0;
    const NEW = goldens(reference)[0]!;
    expect(NEW).not.toBe(OLD);
    let mixed = 0;
    for (const fraction of [0.35, 0.5, 0.6, 0.7, 0.8, 0.9]) {
      const dir = suite();
      await killAfter(dir, Math.round(full * fraction));
      const contents = goldens(dir);
      expect(contents.filter((c) => c !== OLD && c !== NEW)).toEqual([]);
      if (contents.includes(OLD) && contents.includes(NEW)) mixed++;
    }
    // At least one kill landed in the middle of the update, or this test proved nothing.
    expect(mixed).toBeGreaterThan(0);
  }, 120_000);
});
