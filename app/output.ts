import { writeFileSync } from 'node:fs';
import { REPORTERS } from '../runtime/report/index.js';
import { markedLine, slowestLines, summaryLine, type ReportInput } from '../runtime/report/reporter.js';

export interface Target {
  readonly name: string;
  readonly file?: string;
}

/** Parses `--reporter name[=file]` values (default: pretty to stdout), or says what is wrong. */
export function reporterTargets(specs: readonly string[] | undefined): Target[] | string {
  const targets: Target[] = [];
  for (const r of specs?.length ? specs : ['pretty']) {
    const eq = r.indexOf('=');
    const name = eq < 0 ? r : r.slice(0, eq);
    const file = eq < 0 ? undefined : r.slice(eq + 1);
    if (!REPORTERS[name]) return `unknown reporter '${name}'; expected one of: ${Object.keys(REPORTERS).join(', ')}`;
    if (file === '') return `--reporter ${name}= needs a file name after '='`;
    targets.push({ name, ...(file ? { file } : {}) });
  }
  const toStdout = targets.filter((t) => !t.file);
  if (toStdout.length > 1) {
    return `only one reporter can write to stdout, not ${toStdout.map((t) => t.name).join(' and ')}; give the others a file (--reporter json=report.json)`;
  }
  return targets;
}

export interface WriteOptions {
  readonly color: boolean;
  /** --durations: every report shows each spec's duration. */
  readonly durations?: boolean;
  /** Pretty output on a terminal shows durations even unasked: a person reads it, no file keeps it. */
  readonly terminal?: boolean;
  /** --slowest N. */
  readonly slowest?: number;
}

/**
 * Renders each reporter once and writes it. The plain summary line is the CLI's last line: the pretty
 * reporter ends with it; a machine-readable report on stdout stays alone there and the summary goes to
 * stderr; with every report in a file, the summary is all stdout gets. The lines that may come before it
 * (the slowest specs, the count of those marked skip or todo) go where it goes.
 */
export function writeReports(targets: readonly Target[], input: ReportInput, options: WriteOptions): void {
  const { color, slowest } = options;
  let stdoutReporter: string | undefined;
  for (const t of targets) {
    const human = t.name === 'pretty' && !t.file && options.terminal === true;
    const durations = options.durations === true || human;
    const text = REPORTERS[t.name]!.render(input, {
      color: t.file ? false : color,
      durations,
      ...(!t.file && slowest ? { slowest } : {}),
    });
    if (t.file) writeFileSync(t.file, text);
    else {
      process.stdout.write(text);
      stdoutReporter = t.name;
    }
  }
  const marked = markedLine(input);
  const before = [...(slowest ? slowestLines(input, slowest) : []), ...(marked ? [marked] : [])];
  const summary = [...before, summaryLine(input)].join('\n') + '\n';
  if (stdoutReporter === undefined) process.stdout.write(summary);
  else if (stdoutReporter !== 'pretty') process.stderr.write(summary);
}

/**
 * Output piped into a reader that stops early (`viommu-spec explain x | head`) is not an error: when
 * stdout or stderr is closed, stop quietly with the exit code so far.
 */
export function exitQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
      throw e;
    });
  }
}
