import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Property tests are bounded in runs, not in wall time; keep vitest's own limit generous for slow CI.
    testTimeout: 60_000,
  },
});
