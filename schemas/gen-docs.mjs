// Rewrites the README's generated vocabulary tables from the registries, as built in dist/
// (`npm run gen:docs` builds first). test/docs.test.ts fails when the README lags behind them.
import { readFileSync, writeFileSync } from 'node:fs';
import { renderReadme } from '../dist/app/docs.js';

const url = new URL('../README.md', import.meta.url);
writeFileSync(url, renderReadme(readFileSync(url, 'utf8')));
