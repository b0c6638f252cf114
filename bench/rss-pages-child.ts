import { planFile } from '../app/runner.js';
import { execute } from '../runtime/exec/executor.js';
import { ownPeakRssKiB } from './own-peak-rss.js';

/** Runs one spec's steps in this process and prints its peak RSS in KiB and the simulated pages it holds. */
const r = planFile(process.argv[2]!, '.');
if (!('plans' in r)) throw new Error(`${process.argv[2]}: invalid spec`);
const run = execute(r.plans[0]!);
process.stdout.write(`${ownPeakRssKiB()} ${run.machine.k.mem.touchedPages}\n`);
