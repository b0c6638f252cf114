/**
 * Failure points of viommu-spec itself, so its own tests can crash it deterministically; set through the
 * environment variable VIOMMU_SPEC_TEST_CRASH, never in normal use:
 * - `golden-temp:K` kills the process (SIGKILL) right after the K-th golden file's temporary copy is
 *   written, before it is renamed into place: what a power cut or `kill -9` during --update does;
 * - `signal:NAME:K` makes the process send itself signal NAME (SIGINT, SIGTERM) after its K-th spec;
 * - `throw` makes the runner throw an unexpected error (a bug of the tool) before the first spec.
 */
export interface TestHooks {
  /** Called after each golden file's temporary copy is written. */
  readonly afterGoldenTemp: () => void;
  /** Called after each spec has run. */
  readonly afterSpec: () => void;
  readonly throwBeforeFirstSpec: boolean;
}

const NONE: TestHooks = { afterGoldenTemp: () => {}, afterSpec: () => {}, throwBeforeFirstSpec: false };

export function testHooks(env: NodeJS.ProcessEnv = process.env): TestHooks {
  const spec = env['VIOMMU_SPEC_TEST_CRASH'];
  if (!spec) return NONE;
  const [kind, a, b] = spec.split(':');
  if (kind === 'golden-temp') {
    let n = 0;
    const k = Number(a);
    return { ...NONE, afterGoldenTemp: () => void (++n === k && process.kill(process.pid, 'SIGKILL')) };
  }
  if (kind === 'signal') {
    let n = 0;
    const k = Number(b);
    return { ...NONE, afterSpec: () => void (++n === k && process.kill(process.pid, a)) };
  }
  if (kind === 'throw') return { ...NONE, throwBeforeFirstSpec: true };
  return NONE;
}
