import { existsSync, readFileSync } from 'node:fs';
import { planFile } from '../app/runner.js';
import { execute } from '../runtime/exec/executor.js';

/**
 * Runs one spec's steps in this process and prints its peak RSS in KiB and the simulated pages it touched
 * (materialised and still held at the end, or freed and forgotten: the high-water mark of the page map).
 */
const r = planFile(process.argv[2]!, '.');
if (!('plans' in r)) throw new Error(`${process.argv[2]}: invalid spec`);
const run = execute(r.plans[0]!);
const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(
  existsSync('/proc/self/status') ? readFileSync('/proc/self/status', 'utf8') : '',
);
process.stdout.write(`${hwm ? hwm[1] : process.resourceUsage().maxRSS} ${run.machine.k.mem.touchedPages}\n`);
