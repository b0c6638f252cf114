import { Kernel } from '../runtime/linux/kernel.js';
import type { InjectionPlan } from '../runtime/fault/inject.js';

export const MiB = 1n << 20n;
export const GiB = 1n << 30n;

/** A kernel with the given nodes ([base, size] pairs, node ids in order) and fault plans. */
export function makeKernel(nodes: [bigint, bigint][] = [[0n, 64n * MiB]], faults: InjectionPlan[] = []): Kernel {
  return new Kernel({ nodes: nodes.map(([base, size], id) => ({ id, base, size })), faults });
}
