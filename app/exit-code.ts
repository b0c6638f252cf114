/** The CLI's exit codes; the README documents them and test/cli.test.ts pins one case of each. */
export const ExitCode = {
  /** Every selected spec passed. */
  ok: 0,
  /** At least one spec failed: the driver or the hardware did not do what the spec states. */
  failed: 1,
  /** A spec is invalid, or the command line is (a bad flag, a missing path, no spec selected). */
  usage: 2,
  /** viommu-spec itself broke: an unexpected error or a broken model invariant. */
  internal: 3,
} as const;
