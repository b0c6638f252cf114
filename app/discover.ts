import { readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';

const SPEC_FILE = /\.ya?ml$/;
/** Shared pieces that specs `extends:` are not specs themselves. */
const FRAGMENT = /\.fragment\.ya?ml$/;

export interface SpecFile {
  readonly file: string;
  /**
   * What the spec may reach with `extends:` and where its golden file may live: the folder viommu-spec runs
   * in when the spec lies inside it, else the folder named on the command line (or the file's own).
   */
  readonly root: string;
}

function suiteRoot(path: string, isDir: boolean): string {
  const rel = relative(process.cwd(), resolve(path));
  if (!rel.startsWith('..') && !isAbsolute(rel)) return '.';
  return isDir ? path : dirname(path);
}

const GOLDEN = /\.golden\.json(\.\d+\.tmp)?$/;

/**
 * Expands files and folders into spec files: recursive, deduplicated, sorted by path for stable output.
 * Golden files (and temporary ones a killed --update left) met in the folders are listed too, so the
 * runner can report those no spec refers to.
 */
export function discoverSpecs(
  paths: readonly string[],
): { ok: true; files: SpecFile[]; goldens: string[] } | { ok: false; error: string } {
  const files = new Map<string, SpecFile>();
  const goldens = new Set<string>();
  for (const path of paths) {
    let stat;
    try {
      stat = statSync(path);
    } catch {
      return { ok: false, error: `no such file or folder: ${path}` };
    }
    if (stat.isDirectory()) walk(path, suiteRoot(path, true), files, goldens);
    else files.set(path, { file: path, root: suiteRoot(path, false) });
  }
  return {
    ok: true,
    files: [...files.values()].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0)),
    goldens: [...goldens].sort(),
  };
}

function walk(dir: string, root: string, into: Map<string, SpecFile>, goldens: Set<string>): void {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, root, into, goldens);
    else if (entry.isFile() && GOLDEN.test(entry.name)) goldens.add(relative('.', path) || path);
    else if (entry.isFile() && SPEC_FILE.test(entry.name) && !FRAGMENT.test(entry.name)) {
      const file = relative('.', path) || path;
      into.set(file, { file, root });
    }
  }
}
