import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const SPEC_FILE = /\.ya?ml$/;

/** Expands files and folders into spec files: recursive, deduplicated, sorted by path for stable output. */
export function discoverSpecs(paths: readonly string[]): { ok: true; files: string[] } | { ok: false; error: string } {
  const files = new Set<string>();
  for (const path of paths) {
    let stat;
    try {
      stat = statSync(path);
    } catch {
      return { ok: false, error: `no such file or folder: ${path}` };
    }
    if (stat.isDirectory()) walk(path, files);
    else files.add(path);
  }
  return { ok: true, files: [...files].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)) };
}

function walk(dir: string, into: Set<string>): void {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, into);
    else if (entry.isFile() && SPEC_FILE.test(entry.name) && !entry.name.includes('.golden.')) into.add(relative('.', path) || path);
  }
}
