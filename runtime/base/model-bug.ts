/**
 * A broken invariant of viommu-spec's own model (the PT_WARN_ON analogue). It is never a spec outcome:
 * the CLI reports it as a bug in the tool and exits 3.
 */
export class ModelBugError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelBugError';
  }
}

export function invariant(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new ModelBugError(typeof message === 'string' ? message : message());
}
