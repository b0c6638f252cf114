import { main } from '../app/cli.js';

/** Runs one spec (or nothing, for the baseline) in this process and prints its peak RSS in KiB. */
const spec = process.argv[2];
if (spec) {
  process.stdout.write = () => true;
  const code = await main(['node', 'viommu-spec', 'run', spec, '--jobs', '1']);
  if (code !== 0) process.exitCode = code;
}
process.stderr.write(`${process.resourceUsage().maxRSS}\n`);
