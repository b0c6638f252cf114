/**
 * The machine's one ordering of allocations, frees, maps and executed commands: a counter every layer
 * shares by reference (an object, not a closure, so a forked machine's layers share the fork's).
 */
export class Timeline {
  private last = 0;

  /** Moves the timeline on and returns the new position. */
  next(): number {
    return ++this.last;
  }

  /** The position now: unchanged means nothing was ordered on the timeline since. */
  get now(): number {
    return this.last;
  }
}
