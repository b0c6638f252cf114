import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import type { SpecOutcome } from '../runtime/report/outcome.js';

/**
 * The cache folder of a suite, as pytest keeps `.pytest_cache`: what one run leaves for the next
 * (`--last-failed`). It lives at the suite root, ignores itself in git, and is written atomically.
 */
export const CACHE_DIR = '.viommu-spec-cache';
const LAST_FAILED = 'last-failed.json';

interface LastFailedFile {
  readonly version: 1;
  /** Ids of failed specs, their file part relative to the suite root (so any working directory reads it). */
  readonly failed: readonly string[];
}

/** `specs/x.yaml#case` as run from the working directory, written relative to the root, with `/`. */
function stored(root: string, o: Pick<SpecOutcome, 'id' | 'file'>): string {
  return relative(root, resolve(o.file)).split(sep).join('/') + o.id.slice(o.file.length);
}

/** The ids that failed in the runs recorded so far, as this working directory names them. */
export function readLastFailed(root: string): Set<string> {
  let file: Partial<LastFailedFile> | null;
  try {
    file = JSON.parse(readFileSync(join(root, CACHE_DIR, LAST_FAILED), 'utf8')) as Partial<LastFailedFile> | null;
  } catch {
    return new Set();
  }
  // A cache from another version, or damaged, is as good as none.
  if (file?.version !== 1 || !Array.isArray(file.failed)) return new Set();
  const ids: unknown[] = file.failed;
  return new Set(
    ids
      .filter((s): s is string => typeof s === 'string')
      .map((s) => {
        const hash = s.indexOf('#');
        const path = hash < 0 ? s : s.slice(0, hash);
        return (relative('.', resolve(root, path)) || path) + (hash < 0 ? '' : s.slice(hash));
      }),
  );
}

/**
 * Records the failures of a run (or returns why it could not): those recorded before, less the specs that
 * ran now, plus those that failed now (failed or invalid), so a `--last-failed` run that fixes one spec
 * leaves the others listed.
 */
export function writeLastFailed(root: string, outcomes: readonly SpecOutcome[]): string | undefined {
  const before = new Set([...readLastFailed(root)].map((id) => stored(root, { id, file: id.split('#')[0]! })));
  for (const o of outcomes) {
    const key = stored(root, o);
    if (o.status === 'failed' || o.status === 'invalid') before.add(key);
    else before.delete(key);
  }
  const dir = join(root, CACHE_DIR);
  const body: LastFailedFile = { version: 1, failed: [...before].sort() };
  const text = JSON.stringify(body, null, 2) + '\n';
  const file = join(dir, LAST_FAILED);
  const tmp = join(dir, `${LAST_FAILED}.${process.pid}.tmp`);
  try {
    // The same record as before (run after run of a passing suite): writing it again would only cost the
    // start a few milliseconds.
    if (existsSync(join(dir, '.gitignore')) && existsSync(file) && readFileSync(file, 'utf8') === text)
      return undefined;
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, '.gitignore'), '# written by viommu-spec\n*\n');
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}
