import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const SPEC_FILE = /\.ya?ml$/;
/** Shared pieces that specs `extends:` are not specs themselves. */
const FRAGMENT = /\.fragment\.ya?ml$/;

export interface SpecFile {
  readonly file: string;
  /** The folder its path argument named (or the file's own folder): what it may reach with `extends:`. */
  readonly root: string;
}

/** Expands files and folders into spec files: recursive, deduplicated, sorted by path for stable output. */
export function discoverSpecs(paths: readonly string[]): { ok: true; files: SpecFile[] } | { ok: false; error: string } {
  const files = new Map<string, SpecFile>();
  for (const path of paths) {
    let stat;
    try {
      stat = statSync(path);
    } catch {
      return { ok: false, error: `no such file or folder: ${path}` };
    }
    if (stat.isDirectory()) walk(path, path, files);
    else files.set(path, { file: path, root: dirname(path) });
  }
  return { ok: true, files: [...files.values()].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0)) };
}

function walk(dir: string, root: string, into: Map<string, SpecFile>): void {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, root, into);
    else if (entry.isFile() && SPEC_FILE.test(entry.name) && !FRAGMENT.test(entry.name)) {
      const file = relative('.', path) || path;
      into.set(file, { file, root });
    }
  }
}
