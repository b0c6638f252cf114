import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import type { EndState } from '../exec/capture.js';
import type { GoldenRef } from '../plan/plan.js';
import type { Mismatch } from './mismatch.js';
import type { SweepTable } from './sweep.js';

export function goldenText(state: EndState | SweepTable): string {
  return JSON.stringify(state, null, 2) + '\n';
}

/**
 * Writes a file so that a run killed at any moment leaves it either old or new: temp file, then rename.
 * `afterTemp` runs between the two (the tests' hook for a crash at the worst moment).
 */
export function writeAtomic(path: string, text: string, afterTemp?: () => void): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  afterTemp?.();
  renameSync(tmp, path);
}

export interface GoldenMode {
  /** --update: write a missing or different golden file instead of failing. */
  readonly update: boolean;
  /** --ci: never write; a missing golden file fails. */
  readonly ci: boolean;
}

/** Why an update may not write: the spec's own stated expectations failed, so its end state is suspect. */
export type GoldenBlock = string | undefined;

/**
 * Compares the end state with the golden file. With --update (never with --ci, never when `blocked`) a
 * missing or different file is written instead; otherwise a difference is a mismatch showing the line diff.
 * A golden path that is not a regular file is a mismatch of its own, never a crash.
 */
export function checkGolden(
  golden: GoldenRef,
  state: EndState | SweepTable,
  mode: GoldenMode,
  blocked?: GoldenBlock,
  afterTemp?: () => void,
): { mismatch?: Mismatch; wrote: boolean } {
  const { path } = golden;
  const text = goldenText(state);
  let old: string | undefined;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) {
      const what = stat.isDirectory() ? 'a directory' : 'not a regular file';
      return {
        mismatch: { at: golden.at, title: `golden file ${path} is ${what}`, expected: ['a JSON file'], actual: [what] },
        wrote: false,
      };
    }
    old = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      const why = (e as NodeJS.ErrnoException).code ?? String(e);
      return {
        mismatch: { at: golden.at, title: `golden file ${path} cannot be read (${why})`, expected: [], actual: [] },
        wrote: false,
      };
    }
  }
  if (old === text) return { wrote: false };
  if (mode.update && !mode.ci && !blocked) {
    writeAtomic(path, text, afterTemp);
    return { wrote: true };
  }
  const title =
    old !== undefined
      ? `end state differs from ${path}${mode.update && blocked ? ` (not updated: ${blocked})` : ''}`
      : `golden file ${path} is missing${mode.ci ? '' : mode.update && blocked ? ` (not written: ${blocked})` : '; run with --update to write it'}`;
  return {
    mismatch: { at: golden.at, title, expected: (old ?? '').split('\n'), actual: text.split('\n') },
    wrote: false,
  };
}
