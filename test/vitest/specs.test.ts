import { defineSpecSuite } from '../../app/vitest.js';

/**
 * The shipped suite through the Vitest entry, as a user's `*.test.ts` would run it (npm test also runs all
 * of specs/ through the CLI). Left out here: the three series-s sweeps, which take most of the suite's time
 * (about 30 of its 40 s on one core) and run through the CLI anyway; every other spec and case runs.
 */
const SLOW_SWEEPS = ['series-s-iommufd.yaml', 'series-s-guest.yaml', 'series-s-nested.yaml'];

defineSpecSuite('specs/', {
  ci: true,
  exclude: SLOW_SWEEPS.map((f) => `specs/sweeps/${f}`),
});
