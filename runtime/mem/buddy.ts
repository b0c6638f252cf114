import { invariant } from '../base/model-bug.js';
import { MinHeap } from './min-heap.js';
import { PfnTable } from './pfn-table.js';
import type { NumaNode } from './phys-memory.js';

/** MAX_PAGE_ORDER on x86-64: the largest buddy block is 4 MiB. */
export const MAX_PAGE_ORDER = 10;
const MAX_BLOCK = 1 << MAX_PAGE_ORDER;
/** Values of NodeBuddy.tops that are no pfn. */
const UNKNOWN = -1;
const EMPTY = -2;

/**
 * The buddy allocator of one NUMA node. Blocks are naturally aligned to their size and coalesce with their
 * buddy on free. Placement is deterministic: the lowest-addressed free block that fits, split down to the
 * requested order, so a spec's addresses can be computed by hand.
 *
 * The part of the node that was never split is kept as a range of max-order blocks rather than as list
 * entries, which keeps a terabyte node free of cost until it is used.
 */
export class NodeBuddy {
  private readonly heaps: MinHeap[] = Array.from({ length: MAX_PAGE_ORDER + 1 }, () => new MinHeap());
  /** The free blocks: first pfn -> order. The heaps may hold stale entries; this table is the truth. */
  private readonly free = new PfnTable(8);
  /**
   * Per order, what `lowest` last found at its heap's top and has not changed since: a free block's pfn,
   * EMPTY, or UNKNOWN (look again). An allocation asks every order from its own up, so this spares most
   * of those questions a look-up.
   */
  private readonly tops = new Float64Array(MAX_PAGE_ORDER + 1).fill(UNKNOWN);
  private untouchedLo: number;
  private readonly untouchedHi: number;
  private freeCount = 0;

  constructor(readonly node: NumaNode) {
    const firstMax = Math.ceil(node.startPfn / MAX_BLOCK) * MAX_BLOCK;
    const lastMax = Math.floor(node.endPfn / MAX_BLOCK) * MAX_BLOCK;
    if (firstMax < lastMax) {
      this.untouchedLo = firstMax;
      this.untouchedHi = lastMax;
      this.addRange(node.startPfn, firstMax);
      this.addRange(lastMax, node.endPfn);
    } else {
      this.untouchedLo = this.untouchedHi = 0;
      this.addRange(node.startPfn, node.endPfn);
    }
    this.freeCount = node.endPfn - node.startPfn;
  }

  get freePages(): number {
    return this.freeCount;
  }

  /** Free blocks of exactly this order (max order includes the never-split range). */
  freeBlocks(order: number): number {
    let n = 0;
    for (const o of this.free.values()) if (o === order) n++;
    if (order === MAX_PAGE_ORDER) n += (this.untouchedHi - this.untouchedLo) / MAX_BLOCK;
    return n;
  }

  alloc(order: number): number | undefined {
    invariant(order >= 0 && order <= MAX_PAGE_ORDER, () => `order ${order} out of range`);
    let bestPfn: number | undefined;
    let bestOrder = -1;
    for (let o = order; o <= MAX_PAGE_ORDER; o++) {
      const pfn = this.lowest(o);
      if (pfn !== undefined && (bestPfn === undefined || pfn < bestPfn)) {
        bestPfn = pfn;
        bestOrder = o;
      }
    }
    if (
      bestOrder === MAX_PAGE_ORDER &&
      bestPfn === this.untouchedLo &&
      this.untouchedLo < this.untouchedHi &&
      this.free.get(bestPfn) < 0
    ) {
      this.untouchedLo += MAX_BLOCK;
    } else if (bestPfn !== undefined) {
      this.remove(bestPfn, bestOrder);
    } else {
      return undefined;
    }
    // Split: the upper halves go back as free blocks of decreasing order.
    for (let o = bestOrder - 1; o >= order; o--) this.insert(bestPfn + (1 << o), o);
    this.freeCount -= 1 << order;
    return bestPfn;
  }

  release(pfn: number, order: number): void {
    this.freeCount += 1 << order;
    while (order < MAX_PAGE_ORDER) {
      const buddy = pfn ^ (1 << order);
      if (this.free.get(buddy) !== order || buddy < this.node.startPfn || buddy + (1 << order) > this.node.endPfn)
        break;
      this.remove(buddy, order);
      pfn = Math.min(pfn, buddy);
      order++;
    }
    this.insert(pfn, order);
  }

  private lowest(order: number): number | undefined {
    let top: number | undefined = this.tops[order];
    if (top === UNKNOWN) {
      const heap = this.heaps[order]!;
      top = heap.peek();
      while (top !== undefined && this.free.get(top) !== order) {
        heap.pop();
        top = heap.peek();
      }
      this.tops[order] = top ?? EMPTY;
    } else if (top === EMPTY) {
      top = undefined;
    }
    if (
      order === MAX_PAGE_ORDER &&
      this.untouchedLo < this.untouchedHi &&
      (top === undefined || this.untouchedLo < top)
    )
      return this.untouchedLo;
    return top;
  }

  private insert(pfn: number, order: number): void {
    this.free.set(pfn, order);
    this.heaps[order]!.push(pfn);
    // A known top stays the lowest unless this block is lower; an emptied heap now holds just this block.
    const top = this.tops[order]!;
    if (top === EMPTY || (top !== UNKNOWN && pfn < top)) this.tops[order] = pfn;
  }

  /** Takes a free block out of `free`; its heap entry goes stale and is dropped when it comes to the top. */
  private remove(pfn: number, order: number): void {
    this.free.delete(pfn);
    if (this.tops[order] === pfn) this.tops[order] = UNKNOWN;
  }

  /** Splits [start, end) into the largest naturally aligned blocks, as memblock hands memory to the buddy. */
  private addRange(start: number, end: number): void {
    let pfn = start;
    while (pfn < end) {
      let order = MAX_PAGE_ORDER;
      while (order > 0 && (pfn % (1 << order) !== 0 || pfn + (1 << order) > end)) order--;
      this.insert(pfn, order);
      pfn += 1 << order;
    }
  }
}
