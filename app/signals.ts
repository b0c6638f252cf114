/**
 * SIGINT and SIGTERM during a run: instead of dying mid-spec, the runner finishes the spec in hand, stops,
 * and the CLI reports what was done (specs run, golden files written) before exiting 128 + the signal.
 */
export type StopSignal = 'SIGINT' | 'SIGTERM';

export const SIGNAL_EXIT: Readonly<Record<StopSignal, number>> = { SIGINT: 130, SIGTERM: 143 };

export class Interruption {
  private received: StopSignal | undefined;
  private readonly handlers = new Map<StopSignal, () => void>();

  /** Starts listening; a second signal of the same kind kills the process at once, as users expect. */
  listen(): this {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const handler = (): void => {
        if (this.received === signal) process.exit(SIGNAL_EXIT[signal]);
        this.received ??= signal;
      };
      this.handlers.set(signal, handler);
      process.on(signal, handler);
    }
    return this;
  }

  get signal(): StopSignal | undefined {
    return this.received;
  }

  stop(): void {
    for (const [signal, handler] of this.handlers) process.off(signal, handler);
    this.handlers.clear();
  }
}

/** Lets pending signal handlers run between specs. */
export function yieldToEvents(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
