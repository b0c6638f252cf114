import { statSync, watch as fsWatch, type FSWatcher } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { CACHE_DIR } from './cache.js';
import { discoverSpecs, type SpecFile } from './discover.js';
import { loadUnits, type Unit } from './runner.js';
import { SIGNAL_EXIT, type StopSignal } from './signals.js';

const SPEC_FILE = /\.ya?ml$/;
const FRAGMENT = /\.fragment\.ya?ml$/;
const GOLDEN = /\.golden\.json(\.\d+\.tmp)?$/;

/**
 * What each spec file depends on, as absolute paths: itself, the fragment it `extends` (the chain of a
 * spec is its file and that fragment: a fragment's own `extends` is not followed), and the golden files
 * of its specs and cases.
 */
export function specDependencies(units: readonly Unit[]): Map<string, Set<string>> {
  const deps = new Map<string, Set<string>>();
  for (const u of units) {
    const file = u.kind === 'plan' ? u.plan.file : u.outcome.file;
    const set = deps.get(file) ?? new Set<string>();
    for (const s of u.sources) set.add(resolve(s));
    if (u.kind === 'plan' && u.plan.golden) set.add(resolve(u.plan.golden.path));
    deps.set(file, set);
  }
  return deps;
}

/**
 * The spec files (as `deps` names them, or as `display` names a new one) that changed paths affect: those
 * that depend on a changed path, and a changed spec file no spec knew before (a new spec). Sorted.
 */
export function affectedSpecs(
  deps: ReadonlyMap<string, ReadonlySet<string>>,
  changed: Iterable<string>,
  display: (abs: string) => string,
): string[] {
  const out = new Set<string>();
  const known = new Set([...deps.values()].flatMap((s) => [...s]));
  for (const raw of changed) {
    const path = resolve(raw);
    for (const [file, set] of deps) if (set.has(path)) out.add(file);
    if (!known.has(path) && SPEC_FILE.test(path) && !FRAGMENT.test(path)) out.add(display(path));
  }
  return [...out].sort();
}

/** Folders to watch: each folder given (recursively) and the folder of every file a spec depends on. */
export function watchedFolders(
  paths: readonly string[],
  deps: ReadonlyMap<string, ReadonlySet<string>>,
  isDir: (p: string) => boolean,
): { recursive: string[]; flat: string[] } {
  const recursive = [...new Set(paths.filter(isDir).map((p) => resolve(p)))].sort();
  const under = (d: string): boolean => recursive.some((r) => d === r || d.startsWith(`${r}/`));
  const flat = new Set<string>();
  for (const p of paths) if (!isDir(p)) flat.add(dirname(resolve(p)));
  for (const set of deps.values()) for (const f of set) if (!under(dirname(f))) flat.add(dirname(f));
  return { recursive, flat: [...flat].sort() };
}

export type Round = (
  files: readonly SpecFile[],
  goldens: readonly string[],
  only: ReadonlySet<string> | undefined,
) => Promise<number>;

/**
 * `run --watch`: runs the selection, then waits; when a spec, the fragment it extends or a golden file
 * changes, re-runs the spec files affected (a new spec file runs too). Golden files a run writes
 * (--update) do not start another. Stops on SIGINT or SIGTERM, with 128 + the signal.
 */
export async function watch(paths: string[], root: string | undefined, round: Round): Promise<number> {
  const isDir = (p: string): boolean => {
    try {
      return statSync(p).isDirectory();
    } catch {
      return false;
    }
  };
  const watchers = new Map<string, FSWatcher>();
  let deps = new Map<string, Set<string>>();
  const pending = new Set<string>();
  let running = false;
  let wake: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const display = (abs: string): string => relative('.', abs) || abs;
  const note = (text: string): void => void process.stderr.write(`viommu-spec --watch: ${text}\n`);

  const changed = (dir: string, name: string | Buffer | null): void => {
    if (name === null) return;
    const path = resolve(dir, String(name));
    if (path.includes(`/${CACHE_DIR}/`) || path.endsWith(`/${CACHE_DIR}`) || path.endsWith('.tmp')) return;
    // A golden file written while specs run is that run's own --update.
    if (running && GOLDEN.test(path)) return;
    pending.add(path);
    // Editors write a file in several steps: wait until the events stop for a moment.
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      wake?.();
    }, 150);
  };
  const rewatch = (): void => {
    const want = watchedFolders(paths, deps, isDir);
    const keys = new Set([...want.recursive.map((d) => `r:${d}`), ...want.flat.map((d) => `f:${d}`)]);
    for (const [k, w] of watchers)
      if (!keys.has(k)) {
        w.close();
        watchers.delete(k);
      }
    for (const k of keys) {
      if (watchers.has(k)) continue;
      const dir = k.slice(2);
      try {
        const w = fsWatch(dir, { recursive: k.startsWith('r:') }, (_e, name) => changed(dir, name));
        w.on('error', () => watchers.delete(k));
        watchers.set(k, w);
      } catch {
        // A folder that went away: watched again once it is back in a spec's dependencies.
      }
    }
  };
  const discover = (): { files: SpecFile[]; goldens: string[] } | undefined => {
    const found = discoverSpecs(paths, root);
    if (!found.ok) {
      note(found.error);
      return undefined;
    }
    const loaded = loadUnits(found.files);
    if (!('error' in loaded)) deps = specDependencies(loaded.units);
    return found;
  };
  // One listener for the whole watch, so a signal is never met with no listener (which would kill the
  // process outright) between two waits; during a round the runner's own listener finishes the spec in hand.
  let stop: StopSignal | undefined;
  const onSignal = (signal: StopSignal): void => {
    stop ??= signal;
    wake?.();
  };
  const onInt = (): void => onSignal('SIGINT');
  const onTerm = (): void => onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  const waitForChange = (): Promise<'change' | StopSignal> =>
    new Promise((settle) => {
      wake = () => {
        wake = undefined;
        settle(stop ?? 'change');
      };
      // A signal already received, or changes that came in during the run and have settled already.
      if (stop || (pending.size && timer === undefined)) wake();
    });
  try {
    let only: Set<string> | undefined;
    for (;;) {
      const found = discover();
      rewatch();
      if (found) {
        running = true;
        const code = await round(found.files, found.goldens, only);
        running = false;
        if (code === SIGNAL_EXIT.SIGINT || code === SIGNAL_EXIT.SIGTERM) return code;
        if (stop) return SIGNAL_EXIT[stop];
      }
      note('waiting for changes (Ctrl-C to stop)');
      for (;;) {
        const why = await waitForChange();
        if (why !== 'change') return SIGNAL_EXIT[why];
        const changedNow = [...pending];
        pending.clear();
        const hit = affectedSpecs(deps, changedNow, display);
        if (hit.length) {
          note(`${changedNow.map(display).join(', ')} changed; running ${hit.join(', ')}`);
          only = new Set(hit);
          break;
        }
      }
    }
  } finally {
    clearTimeout(timer);
    for (const w of watchers.values()) w.close();
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}
