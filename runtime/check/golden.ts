import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { EndState } from '../exec/capture.js';
import type { GoldenRef } from '../plan/plan.js';
import type { Mismatch } from './mismatch.js';
import type { SweepTable } from './sweep.js';

export function goldenText(state: EndState | SweepTable): string {
  return JSON.stringify(state, null, 2) + '\n';
}

/** Writes a file so that a run killed at any moment leaves it either old or new: temp file, then rename. */
export function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export type GoldenMode = { readonly update: boolean; readonly ci: boolean };

/**
 * Compares the end state with the golden file. With --update (never with --ci) a missing or different file
 * is written instead; otherwise a difference is a mismatch showing the line diff.
 */
export function checkGolden(
  golden: GoldenRef,
  state: EndState | SweepTable,
  mode: GoldenMode,
): { mismatch?: Mismatch; wrote: boolean } {
  const { path } = golden;
  const text = goldenText(state);
  const exists = existsSync(path);
  const old = exists ? readFileSync(path, 'utf8') : undefined;
  if (old === text) return { wrote: false };
  if (mode.update && !mode.ci) {
    writeAtomic(path, text);
    return { wrote: true };
  }
  const title = exists
    ? `end state differs from ${path}`
    : `golden file ${path} is missing${mode.ci ? '' : '; run with --update to write it'}`;
  return {
    mismatch: { at: golden.at, title, expected: (old ?? '').split('\n'), actual: text.split('\n') },
    wrote: false,
  };
}
