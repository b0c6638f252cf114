import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

/** One measured figure. `ratio` compares it with a baseline measured in the same process run. */
export interface BenchResult {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly baseline?: { readonly name: string; readonly value: number; readonly ratio: number };
  readonly target?: string;
  /** Whether the same-run ratio (or value) meets the target: printed as PASS or MISS beside it. */
  readonly pass?: boolean;
}

/**
 * Runs `body` (which performs `ops` operations) until at least `minMs` have passed, at least `minRuns`
 * times, and reports the best run's rate: the least disturbed by the machine's other work.
 */
export function measureRate(body: () => void, ops: number, minMs = 300, minRuns = 3): number {
  let best = Infinity;
  const start = performance.now();
  for (let runs = 0; runs < minRuns || performance.now() - start < minMs; runs++) {
    const t0 = performance.now();
    body();
    best = Math.min(best, performance.now() - t0);
  }
  return ops / (best / 1000);
}

/**
 * Rates of several bodies (each performing its `ops`), measured in turns (a, b, a, b, ...) for at least
 * `minMs` in all and `minRounds` rounds, each the best of its runs: on a machine whose speed comes and
 * goes, a figure and its baseline then meet the same conditions, and their ratio holds where two
 * separate series would not.
 */
export function measureRatesInTurns(
  bodies: readonly { readonly body: () => void; readonly ops: number }[],
  minMs = 2000,
  minRounds = 10,
): number[] {
  const best = bodies.map(() => Infinity);
  const start = performance.now();
  for (let round = 0; round < minRounds || performance.now() - start < minMs; round++) {
    for (const [i, { body }] of bodies.entries()) {
      const t0 = performance.now();
      body();
      best[i] = Math.min(best[i]!, performance.now() - t0);
    }
  }
  return bodies.map(({ ops }, i) => ops / (best[i]! / 1000));
}

/** The baseline entry for a figure: how `value` compares with `base`, measured in the same run. */
export function against(name: string, base: number, value: number): NonNullable<BenchResult['baseline']> {
  return { name, value: base, ratio: value / base };
}

/** Best of `runs` wall times of a node command, in ms: start-up is noisy, the minimum is its floor. */
export function wallMs(args: string[], runs = 7): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    execFileSync(process.execPath, args, { stdio: 'ignore' });
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

/**
 * Best wall times of several commands (`[program, ...args]`; `node` is this Node), run in turns (a, b, c,
 * a, b, c, ...): on a machine whose load comes and goes, each command meets the same load, so their ratio
 * holds where separate series would not.
 */
export function wallMsInTurns(commands: readonly (readonly string[])[], runs: number): number[] {
  const best = commands.map(() => Infinity);
  for (let i = 0; i < runs; i++) {
    for (const [c, [program, ...args]] of commands.entries()) {
      const t0 = performance.now();
      execFileSync(program === 'node' ? process.execPath : program!, args, { stdio: 'ignore' });
      best[c] = Math.min(best[c]!, performance.now() - t0);
    }
  }
  return best;
}

let nodeStart: number | undefined;

/** Wall time of `node -e 0`, measured once per bench run: the yardstick for anything start-up shaped. */
export function nodeStartMs(): number {
  return (nodeStart ??= wallMs(['-e', '0']));
}

/**
 * Compiles a C baseline from bench/native with `cc -O2` into a temporary folder, once per bench run;
 * undefined when no compiler is present (the rows then have no C ratio).
 */
export function nativeBinary(name: string): string | undefined {
  const out = join(mkdtempSync(join(tmpdir(), 'viommu-bench-')), name);
  try {
    execFileSync('cc', ['-O2', '-o', out, `bench/native/${name}.c`], { stdio: 'ignore' });
    return out;
  } catch {
    return undefined;
  }
}
