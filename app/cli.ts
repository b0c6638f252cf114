import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Command, CommanderError } from 'commander';
import { ExitCode } from './exit-code.js';
import { packageFile } from '../dsl/package-file.js';
import { discoverSpecs, type SpecFile } from './discover.js';
import { ModelBugError } from '../runtime/base/model-bug.js';
import { DEFAULT_BUDGET } from '../runtime/base/budget.js';
import { summaryLine, type ReportInput } from '../runtime/report/reporter.js';
import type { Plan } from '../runtime/plan/plan.js';

/** Below this many specs an unasked-for --jobs runs in one thread. */
const SMALL_SUITE = 64;

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

interface RunFlags {
  maxPages?: string;
  maxCommands?: string;
  maxSteps?: string;
  jobs?: string;
  shard?: string;
  filter?: string;
  tag?: string[];
  update?: boolean;
  ci?: boolean;
  reporter: string[];
  color: boolean;
}

function useColor(flags: { color: boolean }): boolean {
  return flags.color && !process.env['NO_COLOR'] && process.stdout.isTTY === true;
}

function discover(paths: string[]): SpecFile[] | number {
  const found = discoverAll(paths);
  return typeof found === 'number' ? found : found.files;
}

function discoverAll(paths: string[]): { files: SpecFile[]; goldens: string[] } | number {
  const found = discoverSpecs(paths);
  if (!found.ok) {
    process.stderr.write(`error: ${found.error}\n`);
    return ExitCode.usage;
  }
  return found;
}

/** Wires argv to the commands and returns the process exit code; never exits the process itself. */
export async function main(argv: readonly string[]): Promise<number> {
  let exit: number = ExitCode.ok;
  const program = new Command('viommu-spec')
    .description('Run YAML specs against a bit-exact model of the AMD IOMMU and the Linux driver code under test')
    .version(packageVersion())
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command('run')
    .description('run spec files (files or folders, searched recursively, sorted)')
    .argument('[paths...]', 'spec files or folders', ['specs'])
    .option('--jobs <n>', 'worker threads (default: the number of cores, for suites of 64 specs or more)')
    .option('--max-pages <n>', `budget: pages of simulated memory a run may touch (default ${DEFAULT_BUDGET.pages})`)
    .option('--max-commands <n>', `budget: IOMMU commands a run may execute (default ${DEFAULT_BUDGET.commands})`)
    .option('--max-steps <n>', `budget: steps a run may take, repetitions included (default ${DEFAULT_BUDGET.steps})`)
    .option('--shard <i/n>', 'run only the i-th of n deterministic slices of the suite (for a CI matrix)')
    .option('--filter <text>', 'only specs whose id or name contains this text')
    .option('--tag <tag...>', 'only specs with one of these tags')
    .option('--update', 'write or refresh golden files (atomically); not with --ci')
    .option('--ci', 'CI mode: a missing golden file fails, nothing is written')
    .option(
      '--reporter <name[=file]>',
      'pretty, json, junit or tap, to stdout or to a file; repeatable (default: pretty)',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option('--no-color', 'plain output (also NO_COLOR, or when not a terminal)')
    .action(async (paths: string[], flags: RunFlags) => {
      exit = await runCommand(paths, flags);
    });

  program
    .command('validate')
    .description('check specs without running them')
    .argument('[paths...]', 'spec files or folders', ['specs'])
    .action(async (paths: string[]) => {
      exit = await validateCommand(paths);
    });

  program
    .command('merge-reports')
    .description('merge JSON reports of several shards into one report')
    .argument('<reports...>', 'JSON reports written with --reporter json=<file>')
    .option(
      '--reporter <name[=file]>',
      'pretty, json, junit or tap, to stdout or to a file; repeatable (default: pretty)',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .action(async (reports: string[], flags: { reporter: string[] }) => {
      exit = await mergeCommand(reports, flags.reporter);
    });

  program
    .command('points')
    .description('list the failure points a scenario passes with no fault, in order, with their call paths')
    .argument('<spec>', 'a spec file')
    .action(async (spec: string) => {
      exit = await pointsCommand(spec);
    });

  program
    .command('explain')
    .description('print the compiled plan and the full end state of one spec, for a human to read')
    .argument('<spec>', 'a spec file')
    .action(async (spec: string) => {
      exit = await explainCommand(spec);
    });

  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    if (err instanceof ModelBugError) {
      process.stderr.write(
        `viommu-spec: internal model error: ${err.message}\nThis is a bug in viommu-spec itself, not in the driver under test. Please report it with the spec that triggered it.\n`,
      );
      return ExitCode.modelBug;
    }
    throw err;
  }
  return exit;
}

async function runCommand(paths: string[], flags: RunFlags): Promise<number> {
  const found = discoverAll(paths);
  if (typeof found === 'number') return found;
  const { files, goldens } = found;
  const targets = await reporterTargets(flags.reporter);
  if (typeof targets === 'number') return targets;
  if (flags.update && flags.ci) {
    process.stderr.write('error: --update cannot be used with --ci\n');
    return ExitCode.usage;
  }
  const jobs = flags.jobs === undefined ? availableParallelism() : Number(flags.jobs);
  // Unasked, small suites stay in one thread: starting workers costs more than they would save.
  const threadsFrom = flags.jobs === undefined ? SMALL_SUITE : 2;
  if (!Number.isInteger(jobs) || jobs < 1) {
    process.stderr.write(`error: --jobs takes a whole number of at least 1, not '${flags.jobs}'\n`);
    return ExitCode.usage;
  }
  const shard = flags.shard === undefined ? undefined : parseShard(flags.shard);
  if (shard === null) {
    process.stderr.write(`error: --shard takes i/n with 1 <= i <= n, not '${flags.shard}'\n`);
    return ExitCode.usage;
  }
  const budget = {
    pages: Number(flags.maxPages ?? DEFAULT_BUDGET.pages),
    commands: Number(flags.maxCommands ?? DEFAULT_BUDGET.commands),
    steps: Number(flags.maxSteps ?? DEFAULT_BUDGET.steps),
  };
  if (!Object.values(budget).every((v) => Number.isInteger(v) && v > 0)) {
    process.stderr.write('error: --max-pages, --max-commands and --max-steps take whole numbers above 0\n');
    return ExitCode.usage;
  }
  const { runFiles } = await import('./runner.js');
  const progress = process.stderr.isTTY === true;
  const { outcomes, skipped, referencedGoldens } = await runFiles(
    files,
    {
      update: flags.update === true,
      ci: flags.ci === true,
      budget,
      jobs,
      threadsFrom,
      ...(shard ? { shard } : {}),
      ...(flags.filter ? { filter: flags.filter } : {}),
      ...(flags.tag ? { tags: flags.tag } : {}),
    },
    progress ? (done, total) => process.stderr.write(`\r\x1b[K[${done}/${total}]`) : undefined,
  );
  if (progress) process.stderr.write('\r\x1b[K');
  // Golden files no spec refers to: reported, and in --ci mode a failure (an --update since left them).
  const obsolete = outcomes.some((o) => o.status === 'invalid')
    ? []
    : goldens.filter((g) => !referencedGoldens.includes(g));
  if (flags.ci) {
    for (const file of obsolete) {
      const at = { file, line: 1, col: 1, text: '' };
      outcomes.push({
        id: file,
        file,
        name: 'obsolete golden file',
        tags: [],
        status: 'failed',
        errors: [],
        mismatches: [{ at, title: 'no spec refers to this golden file; delete it', expected: [], actual: [file] }],
      });
    }
  }
  await writeReports(targets, { outcomes, skipped, obsolete: flags.ci ? [] : obsolete }, useColor(flags));
  if (outcomes.some((o) => o.status === 'invalid')) return ExitCode.usage;
  return outcomes.some((o) => o.status === 'failed') ? ExitCode.failed : ExitCode.ok;
}

async function validateCommand(paths: string[]): Promise<number> {
  const files = discover(paths);
  if (typeof files === 'number') return files;
  const { planFile } = await import('./runner.js');
  let valid = 0;
  let bad = 0;
  for (const f of files) {
    const r = planFile(f.file, f.root);
    if ('invalid' in r) {
      bad++;
      process.stdout.write(r.invalid.errors.join('\n'));
    } else valid += r.plans.length;
  }
  process.stdout.write(`${valid} passed, ${bad} failed\n`);
  return bad ? ExitCode.usage : ExitCode.ok;
}

/** The plans of one spec file, or the exit code after printing why there are none. */
async function plansOf(path: string): Promise<Plan[] | number> {
  const files = discover([path]);
  if (typeof files === 'number') return files;
  const { planFile } = await import('./runner.js');
  const r = planFile(files[0]!.file, files[0]!.root);
  if ('invalid' in r) {
    process.stdout.write(r.invalid.errors.join('\n'));
    return ExitCode.usage;
  }
  return r.plans;
}

async function explainCommand(path: string): Promise<number> {
  const plans = await plansOf(path);
  if (typeof plans === 'number') return plans;
  const { explain } = await import('./explain.js');
  for (const plan of plans) process.stdout.write(explain(plan));
  return ExitCode.ok;
}

async function pointsCommand(path: string): Promise<number> {
  const plans = await plansOf(path);
  if (typeof plans === 'number') return plans;
  const { failurePoints } = await import('../runtime/check/sweep.js');
  for (const plan of plans) {
    const points = failurePoints(plan);
    process.stdout.write(`${plan.id}: ${points.length} failure points\n`);
    for (const p of points)
      process.stdout.write(
        `  ${plan.steps[p.step]?.name ?? '-'}  ${p.site}#${p.call}  (${p.kind}${p.order === undefined ? '' : `, order ${p.order}`})\n`,
      );
  }
  return ExitCode.ok;
}

function parseShard(text: string): [number, number] | null {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  if (!m) return null;
  const [i, n] = [Number(m[1]), Number(m[2])];
  return i >= 1 && n >= 1 && i <= n ? [i, n] : null;
}

type Target = { name: string; file?: string };

async function reporterTargets(specs: readonly string[]): Promise<Target[] | number> {
  const { REPORTERS } = await import('../runtime/report/index.js');
  const targets: Target[] = [];
  for (const r of specs.length ? specs : ['pretty']) {
    const [name, file] = r.split('=', 2) as [string, string | undefined];
    if (!REPORTERS[name]) {
      process.stderr.write(
        `error: unknown reporter '${name}'; expected one of: ${Object.keys(REPORTERS).join(', ')}\n`,
      );
      return ExitCode.usage;
    }
    targets.push({ name, ...(file ? { file } : {}) });
  }
  return targets;
}

/** Renders each reporter once and writes it; the plain summary line is always the last line on stdout. */
async function writeReports(targets: readonly Target[], input: ReportInput, color: boolean): Promise<void> {
  const { REPORTERS } = await import('../runtime/report/index.js');
  let stdoutEndsWithSummary = false;
  for (const t of targets) {
    const text = REPORTERS[t.name]!.render(input, { color: t.file ? false : color });
    if (t.file) writeFileSync(t.file, text);
    else {
      process.stdout.write(text);
      stdoutEndsWithSummary = text.endsWith(`${summaryLine(input)}\n`) && !text.startsWith('TAP');
    }
  }
  if (!stdoutEndsWithSummary) process.stdout.write(`${summaryLine(input)}\n`);
}

async function mergeCommand(reports: string[], reporterSpecs: string[]): Promise<number> {
  const targets = await reporterTargets(reporterSpecs);
  if (typeof targets === 'number') return targets;
  const { readReport } = await import('../runtime/report/merge.js');
  const inputs: ReportInput[] = [];
  for (const file of reports) {
    const r = readReport(file);
    if (typeof r === 'string') {
      process.stderr.write(`error: ${file}: ${r}\n`);
      return ExitCode.usage;
    }
    inputs.push(r);
  }
  const merged: ReportInput = { outcomes: inputs.flatMap((i) => i.outcomes), skipped: 0 };
  await writeReports(targets, merged, false);
  if (merged.outcomes.some((o) => o.status === 'invalid')) return ExitCode.usage;
  return merged.outcomes.some((o) => o.status === 'failed') ? ExitCode.failed : ExitCode.ok;
}
