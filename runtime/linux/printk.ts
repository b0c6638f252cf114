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

  /** `onLine` sees the number of lines after each print (the spec's budget of log lines). */
  constructor(private readonly onLine?: (lines: number) => void) {}

  print(level: LogLevelName, text: string): void {
    this.lines.push({ level, text: text.endsWith('\n') ? text.slice(0, -1) : text, step: this.step });
    this.onLine?.(this.lines.length);
  }
}

export type Printer = (format: string, ...args: PrintfArg[]) => void;
export type Printers = Record<`pr_${LogLevelName}`, Printer>;

/** The pr_* family for one translation unit: `#define pr_fmt(fmt) prefix fmt`. */
export function printers(log: KernelLog, prefix: string): Printers {
  const make =
    (level: LogLevelName): Printer =>
    (format, ...args) =>
      log.print(level, prefix + vsprintf(format, args));
  return {
    pr_emerg: make('emerg'),
    pr_alert: make('alert'),
    pr_crit: make('crit'),
    pr_err: make('err'),
    pr_warn: make('warn'),
    pr_notice: make('notice'),
    pr_info: make('info'),
    pr_debug: make('debug'),
  };
}
