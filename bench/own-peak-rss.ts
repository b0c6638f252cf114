import { existsSync, readFileSync } from 'node:fs';

/**
 * This process's peak RSS in KiB. VmHWM belongs to the process's own address space; ru_maxrss after
 * fork+exec can report the parent's peak (the bench process, grown by the page-table rows), so it is the
 * fallback only.
 */
export function ownPeakRssKiB(): number {
  const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(
    existsSync('/proc/self/status') ? readFileSync('/proc/self/status', 'utf8') : '',
  );
  return hwm ? Number(hwm[1]) : process.resourceUsage().maxRSS;
}
