import { main } from '../app/cli.js';
import { ownPeakRssKiB } from './own-peak-rss.js';

/** Runs specs (files or folders; none, for the baseline) in this process and prints its peak RSS in KiB. */
const paths = process.argv.slice(2);
if (paths.length) {
  process.stdout.write = () => true;
  const code = await main(['node', 'viommu-spec', 'run', ...paths, '--jobs', '1', '--ci']);
  if (code !== 0) process.exitCode = code;
}
process.stderr.write(`${ownPeakRssKiB()}\n`);
