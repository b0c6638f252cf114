import { HARNESS, portedFrames, portedFrom, type Frame } from '../runtime/linux/ported.js';
import { Kernel } from '../runtime/linux/kernel.js';
import type { InjectionPlan } from '../runtime/fault/inject.js';
import { KernelOops, type OopsReport } from '../runtime/linux/kptr.js';
import type { SweepRow } from '../runtime/check/sweep.js';

/** The report of the oops `body` ends in; fails the test when it ends without one. */
export function oopsOf(body: () => unknown): OopsReport {
  try {
    body();
  } catch (e) {
    if (e instanceof KernelOops) return e.report;
    throw e;
  }
  throw new Error('expected an oops');
}

export const MiB = 1n << 20n;
export const GiB = 1n << 30n;

/** A kernel with the given nodes ([base, size] pairs, node ids in order) and fault plans. */
export function makeKernel(nodes: [bigint, bigint][] = [[0n, 64n * MiB]], faults: InjectionPlan[] = []): Kernel {
  return new Kernel({ nodes: nodes.map(([base, size], id) => ({ id, base, size })), faults });
}

/** The frame of a ported function by name, or a new one for test code that plays a function. */
export function frame(name: string): Frame {
  return portedFrames().find((f) => f.name === name) ?? portedFrom(HARNESS, 'test', [name])[name]!;
}

/** A sweep row for reporter tests: a fired point with a clean run, but for what `extra` says. */
export function sweepRow(point: string, extra: Partial<SweepRow> = {}): SweepRow {
  return {
    point,
    discovered: false,
    fired: true,
    steps: [],
    log: [],
    oops: null,
    violations: [],
    warnings: [],
    ...extra,
  };
}
