import type { Meter } from '../base/budget.js';
import { vsprintf, type PrintfArg } from './vsprintf.js';

/** printk levels, with the numbers the kernel puts in KERN_* prefixes. */
export const LogLevel = {
  emerg: 0,
  alert: 1,
  crit: 2,
  err: 3,
  warn: 4,
  notice: 5,
  info: 6,
  debug: 7,
} as const;
export type LogLevelName = keyof typeof LogLevel;

export interface LogLine {
  readonly level: LogLevelName;
  /** The line as dmesg shows it: pr_fmt prefix included, trailing newline removed. */
  readonly text: string;
  /** Index of the step that was running when the line was printed (-1 outside any step). */
  readonly step: number;
}

/** Captures what the kernel printed. One per simulated machine; the printer functions bind a pr_fmt prefix. */
export class KernelLog {
  readonly lines: LogLine[] = [];
  step = -1;

  /** `meter` counts the lines against the spec's budget of log lines; none: unlimited. */
  constructor(private readonly meter?: Meter) {}

  print(level: LogLevelName, text: string): void {
    this.lines.push({ level, text: text.endsWith('\n') ? text.slice(0, -1) : text, step: this.step });
    this.meter?.check('logLines', this.lines.length);
  }
}

export type Printer = (format: string, ...args: PrintfArg[]) => void;
export type Printers = Record<`pr_${LogLevelName}`, Printer>;

/** The pr_* family for one translation unit: `#define pr_fmt(fmt) prefix fmt`. */
export function printers(log: KernelLog, prefix: string): Printers {
  return new PrefixedPrinters(log, prefix);
}

/** The printers as methods of an object holding the log, not closures over it: a forked machine prints to its own. */
class PrefixedPrinters implements Printers {
  constructor(
    private readonly log: KernelLog,
    private readonly prefix: string,
  ) {}

  private print(level: LogLevelName, format: string, args: PrintfArg[]): void {
    this.log.print(level, this.prefix + vsprintf(format, args));
  }

  pr_emerg(format: string, ...args: PrintfArg[]): void {
    this.print('emerg', format, args);
  }
  pr_alert(format: string, ...args: PrintfArg[]): void {
    this.print('alert', format, args);
  }
  pr_crit(format: string, ...args: PrintfArg[]): void {
    this.print('crit', format, args);
  }
  pr_err(format: string, ...args: PrintfArg[]): void {
    this.print('err', format, args);
  }
  pr_warn(format: string, ...args: PrintfArg[]): void {
    this.print('warn', format, args);
  }
  pr_notice(format: string, ...args: PrintfArg[]): void {
    this.print('notice', format, args);
  }
  pr_info(format: string, ...args: PrintfArg[]): void {
    this.print('info', format, args);
  }
  pr_debug(format: string, ...args: PrintfArg[]): void {
    this.print('debug', format, args);
  }
}
