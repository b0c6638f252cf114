/** The CLI's exit codes; the README documents them. */
export const ExitCode = {
  ok: 0,
  /** At least one spec failed. */
  failed: 1,
  /** A spec is invalid, or the command line is. */
  usage: 2,
  /** viommu-spec's own model broke an invariant: a bug in the tool, not in the driver. */
  modelBug: 3,
} as const;
