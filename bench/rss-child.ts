import { existsSync, readFileSync } from 'node:fs';
import { main } from '../app/cli.js';

/** Runs specs (files or folders; none, for the baseline) in this process and prints its peak RSS in KiB. */
const paths = process.argv.slice(2);
if (paths.length) {
  process.stdout.write = () => true;
  const code = await main(['node', 'viommu-spec', 'run', ...paths, '--jobs', '1', '--ci']);
  if (code !== 0) process.exitCode = code;
}
// VmHWM belongs to this process's own address space; ru_maxrss after fork+exec can report the parent's peak
// (the bench process, grown by the page-table rows), so it is the fallback only.
const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(
  existsSync('/proc/self/status') ? readFileSync('/proc/self/status', 'utf8') : '',
);
process.stderr.write(`${hwm ? hwm[1] : process.resourceUsage().maxRSS}\n`);
