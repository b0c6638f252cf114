import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SPEC_FILE = /\.ya?ml$/;
/** Shared pieces that specs `extends:` are not specs themselves. */
const FRAGMENT = /\.fragment\.ya?ml$/;
const GOLDEN = /\.golden\.json(\.\d+\.tmp)?$/;
/** A folder holding one of these is the root of a suite. */
const ROOT_MARKER = /^(package\.json|viommu-spec\.config\.[a-z]+)$/;

export interface SpecFile {
  /** The path as shown to the user (relative to where viommu-spec runs). */
  readonly file: string;
  /**
   * The suite root: what the spec may reach with `extends:`. Nothing outside it is ever read or echoed.
   */
  readonly root: string;
  /** With `file#case`: only that case. */
  readonly caseName?: string;
}

/**
 * The root of the suite a spec belongs to: the nearest folder upward holding a `package.json` or a
 * `viommu-spec.config.*`, or `override` (--root) when given; the spec's own folder when none is found.
 * Never the current directory as such, so a spec resolves the same wherever viommu-spec is run from.
 */
export function suiteRootOf(file: string, override?: string): string {
  if (override !== undefined) return resolve(override);
  return markedAncestor(dirname(resolve(file))) ?? dirname(resolve(file));
}

const rootCache = new Map<string, string | null>();

function markedAncestor(dir: string): string | undefined {
  let found = rootCache.get(dir);
  if (found === undefined) {
    let entries: string[] = [];
    try {
      entries = readdirSync(dir);
    } catch {
      // An unreadable folder marks nothing; keep looking above it.
    }
    const up = dirname(dir);
    found = entries.some((name) => ROOT_MARKER.test(name)) ? dir : up === dir ? null : (markedAncestor(up) ?? null);
    rootCache.set(dir, found);
  }
  return found ?? undefined;
}

/** `path#case` names one case of a spec file; a path that exists as written is taken as it is. */
export function parseTarget(arg: string): { path: string; caseName?: string } {
  const hash = arg.lastIndexOf('#');
  if (hash > 0 && !existsSync(arg) && existsSync(arg.slice(0, hash))) {
    return { path: arg.slice(0, hash), caseName: arg.slice(hash + 1) };
  }
  return { path: arg };
}

const display = (path: string): string => relative('.', path) || path;

/**
 * Expands files, folders and `file#case` ids into spec files: recursive, deduplicated, sorted by path for
 * stable output. Golden files (and temporary ones a killed --update left) met in the folders are listed
 * too, so the runner can report those no spec refers to.
 */
export function discoverSpecs(
  args: readonly string[],
  rootOverride?: string,
): { ok: true; files: SpecFile[]; goldens: string[] } | { ok: false; error: string } {
  const files = new Map<string, SpecFile>();
  const goldens = new Set<string>();
  for (const arg of args) {
    const { path, caseName } = parseTarget(arg);
    let stat;
    try {
      stat = statSync(path);
    } catch {
      return { ok: false, error: `no such file or folder: ${path}` };
    }
    if (stat.isDirectory()) walk(path, files, goldens, rootOverride);
    else {
      const file = display(path);
      const key = caseName === undefined ? file : `${file}#${caseName}`;
      files.set(key, { file, root: suiteRootOf(path, rootOverride), ...(caseName === undefined ? {} : { caseName }) });
    }
  }
  const byPath = (a: SpecFile, b: SpecFile): number => {
    const ka = `${a.file}#${a.caseName ?? ''}`;
    const kb = `${b.file}#${b.caseName ?? ''}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };
  return { ok: true, files: [...files.values()].sort(byPath), goldens: [...goldens].sort() };
}

function walk(dir: string, into: Map<string, SpecFile>, goldens: Set<string>, rootOverride: string | undefined): void {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, into, goldens, rootOverride);
    else if (entry.isFile() && GOLDEN.test(entry.name)) goldens.add(display(path));
    else if (entry.isFile() && SPEC_FILE.test(entry.name) && !FRAGMENT.test(entry.name)) {
      const file = display(path);
      into.set(file, { file, root: suiteRootOf(path, rootOverride) });
    }
  }
}
