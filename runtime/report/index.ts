import { htmlReporter } from './html.js';
import { jsonReporter } from './json.js';
import { junitReporter } from './junit.js';
import { ktapReporter } from './ktap.js';
import { prettyReporter } from './pretty.js';
import type { Reporter } from './reporter.js';
import { tapReporter } from './tap.js';

export const REPORTERS: Readonly<Record<string, Reporter>> = {
  pretty: prettyReporter,
  json: jsonReporter,
  junit: junitReporter,
  tap: tapReporter,
  ktap: ktapReporter,
  html: htmlReporter,
};
