import { internalError, main } from '../app/cli.js';
import { ExitCode } from '../app/exit-code.js';
import { exitQuietlyOnClosedPipe } from '../app/output.js';

// Whatever escapes is a bug of the tool: one line and exit 3, never a stack trace and never exit 1.
const crash = (e: unknown): void => {
  process.stderr.write(internalError(e));
  process.exit(ExitCode.internal);
};
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);
exitQuietlyOnClosedPipe();

// No top-level await: bin/bundle.ts bundles this entry into one CommonJS file (see bin/viommu-spec.cts).
void main(process.argv).then((code) => {
  process.exitCode = code;
});
