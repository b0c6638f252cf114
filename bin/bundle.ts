/**
 * Build step (`npm run build`, after tsc and the validator): bundles the CLI into one CommonJS file for the
 * `viommu-spec` command, then warms V8's code cache for it with one run of a shipped spec. See
 * bin/viommu-spec.cts for how both are used; `node dist/bin/main.js` still runs the unbundled modules.
 *
 * The bundle is made from tsc's output, so it runs the very code the type-checker and the tests saw; its
 * source map chains through tsc's maps back to the TypeScript sources. Lazy imports (the runner, the
 * reporters' and commands' own modules) stay lazy in effect: a bundled module runs only when first imported.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, rmSync } from 'node:fs';
import { buildSync } from 'esbuild';
import { packageFile } from '../dsl/package-file.js';

const entry = packageFile('dist/bin/main.js');
const bundle = packageFile('dist/bin/viommu-spec.bundle.cjs');
/** The spec the warm-up runs: the one-spec start `npm run bench` measures. */
const WARM_UP = 'specs/viommu/init-happy.yaml';

buildSync({
  entryPoints: [entry],
  outfile: bundle,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: 'linked',
  // Whitespace only: names stay (an internal error prints the error's class name), and a smaller file is
  // faster to read and hash at each start.
  minifyWhitespace: true,
  logLevel: 'warning',
  // The modules find the package's files from their own URL; in the bundle that is the bundle's.
  define: { 'import.meta.url': '__bundleUrl' },
  banner: { js: "const __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
});

for (const f of [bundle, packageFile('dist/dsl/spec-validator.generated.cjs')]) rmSync(`${f}.v8cache`, { force: true });
// npm sets the command's execute bit when it links a package, not when tsc rewrites the file: `npx` in this
// checkout runs it through a link, so a fresh build keeps it executable.
chmodSync(packageFile('dist/bin/viommu-spec.cjs'), 0o755);
const warm = spawnSync(
  process.execPath,
  [packageFile('dist/bin/viommu-spec.cjs'), 'run', packageFile(WARM_UP), '--ci', '--no-color'],
  { env: { ...process.env, VIOMMU_SPEC_WRITE_CODE_CACHE: '1' }, stdio: ['ignore', 'ignore', 'inherit'] },
);
if (warm.status !== 0) {
  process.stderr.write(`bundle: the warm-up run of ${WARM_UP} exited ${warm.status}; the code cache covers less\n`);
}
