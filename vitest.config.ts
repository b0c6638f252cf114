import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Property tests are bounded in runs, not in wall time; keep vitest's own limit generous for slow CI.
    testTimeout: 60_000,
    // `vitest --watch` re-runs on spec, fragment and golden-file changes too (test/vitest/specs.test.ts
    // reads them at collection time, so they are no module imports Vitest would see).
    forceRerunTriggers: [...configDefaults.forceRerunTriggers, '**/specs/**'],
  },
});
