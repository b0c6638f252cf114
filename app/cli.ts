import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Command, CommanderError, Option } from 'commander';
import { ModelBugError } from '../runtime/base/model-bug.js';
import type { BudgetName } from '../runtime/base/budget.js';
import type { Plan } from '../runtime/plan/plan.js';
import type { ReportInput } from '../runtime/report/reporter.js';
import type { SpecOutcome } from '../runtime/report/outcome.js';
import { packageFile } from '../dsl/package-file.js';
import { BUDGET_FLAG, BUDGET_HELP, budgetFromFlags } from './budget-flags.js';
import { discoverSpecs, type SpecFile } from './discover.js';
import { ExitCode } from './exit-code.js';
import { reporterTargets, writeReports } from './output.js';
import { Interruption, SIGNAL_EXIT } from './signals.js';

/** Below this many specs an unasked-for --jobs runs in one thread. */
const SMALL_SUITE = 64;

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

type BudgetFlags = { [K in BudgetName as K extends 'timeoutMs' ? 'timeout' : `max${Capitalize<K>}`]?: string };

interface RunFlags extends BudgetFlags {
  jobs?: string;
  shard?: string;
  filter?: string;
  tag?: string[];
  root?: string;
  update?: boolean;
  ci?: boolean;
  list?: boolean;
  passWithNoSpecs?: boolean;
  cDriver?: string;
  reporter?: string[];
  color: boolean;
}

const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

function useColor(flags: { color: boolean }): boolean {
  return flags.color && !process.env['NO_COLOR'] && process.stdout.isTTY === true;
}

function usage(message: string): number {
  process.stderr.write(`error: ${message}\n`);
  return ExitCode.usage;
}

/**
 * The one line an unexpected error becomes: never a stack trace, always exit 3, so CI tells a bug of the
 * tool from a failing spec (1) and a bad spec (2).
 */
export function internalError(e: unknown): string {
  const what =
    e instanceof ModelBugError
      ? `the model broke its own invariant: ${e.message}`
      : e instanceof Error
        ? `${e.name}: ${e.message}`
        : String(e);
  return (
    `viommu-spec: internal error: ${what.replace(/\s*\n\s*/g, ' ')} ` +
    '(a bug in viommu-spec, not in the driver under test; please report it with the spec and the command line)\n'
  );
}

function discover(paths: string[], root?: string): SpecFile[] | number {
  const found = discoverSpecs(paths, root);
  if (!found.ok) return usage(found.error);
  return found.files;
}

/** Wires argv to the commands and returns the process exit code; never exits the process itself. */
export async function main(argv: readonly string[]): Promise<number> {
  let exit: number = ExitCode.ok;
  const program = new Command('viommu-spec')
    .description('Run YAML specs against a bit-exact model of the AMD IOMMU and the Linux driver code under test')
    .version(packageVersion())
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  const run = program
    .command('run')
    .description('run specs: files, folders (searched recursively, sorted) or ids such as file.yaml#case')
    .argument('[paths...]', 'spec files, folders or ids', ['specs'])
    .option('--jobs <n>', `worker threads (default: the cores, for suites of ${SMALL_SUITE} specs or more)`)
    .option('--shard <i/n>', 'run only the i-th of n deterministic slices of the suite (for a CI matrix)')
    .option('--filter <text>', 'only specs whose id or name contains this text')
    .option('--tag <tag>', 'only specs with this tag; repeat for any of several', collect)
    .option(
      '--root <dir>',
      'the suite root (what `extends` may reach); default: the nearest folder holding package.json',
    )
    .option('--list', 'list the specs the selection takes and leaves out, one per line, and run nothing')
    .option('--pass-with-no-specs', 'exit 0 when the selection takes no spec')
    .option('--update', 'write or refresh golden files (atomically); not with --ci')
    .option('--ci', 'CI mode: a missing golden file fails, nothing is written')
    .option(
      '--c-driver <patch-or-wasm>',
      "run the specs written for v3 on variant c, built from this patch (or a build-driver module), against v3's golden files",
    )
    .addOption(
      new Option(
        '--reporter <name[=file]>',
        'pretty, json, junit or tap, to stdout or to a file; repeatable',
      ).argParser(collect),
    )
    .option('--no-color', 'plain output (also NO_COLOR, or when not a terminal)');
  for (const [name, flag] of Object.entries(BUDGET_FLAG) as [BudgetName, string][]) {
    run.option(`${flag} <${name === 'timeoutMs' ? 's' : 'n'}>`, `budget: ${BUDGET_HELP[name]}`);
  }
  run.action(async (paths: string[], flags: RunFlags) => {
    exit = await runCommand(paths, flags);
  });

  program
    .command('validate')
    .description('check specs without running them')
    .argument('[paths...]', 'spec files or folders', ['specs'])
    .option('--root <dir>', 'the suite root (what `extends` may reach)')
    .action(async (paths: string[], flags: { root?: string }) => {
      exit = await validateCommand(paths, flags.root);
    });

  program
    .command('merge-reports')
    .description('merge JSON reports of several shards into one report')
    .argument('<reports...>', 'JSON reports written with --reporter json=<file>')
    .addOption(
      new Option(
        '--reporter <name[=file]>',
        'pretty, json, junit or tap, to stdout or to a file; repeatable',
      ).argParser(collect),
    )
    .action(async (reports: string[], flags: { reporter?: string[] }) => {
      exit = await mergeCommand(reports, flags.reporter);
    });

  program
    .command('points')
    .description('list the failure points a scenario passes with no fault, in order, with their call paths')
    .argument('<spec>', 'a spec file, or one case of it as file.yaml#case')
    .option('--root <dir>', 'the suite root (what `extends` may reach)')
    .action(async (spec: string, flags: { root?: string }) => {
      exit = await pointsCommand(spec, flags.root);
    });

  program
    .command('build-driver')
    .description('compile the functions a patch (or a .c file) adds to WebAssembly, for driver variant c')
    .argument('<file>', 'a unified diff (.patch) or a C file')
    .option('-o, --output <file>', 'where to write the module (default: the input name with .wasm)')
    .action(async (file: string, flags: { output?: string }) => {
      const { buildDriverCommand } = await import('./build-driver.js');
      exit = buildDriverCommand(file, flags.output);
    });

  program
    .command('explain')
    .description('print the compiled plan and the full end state of a spec (every case, or the one named)')
    .argument('<spec>', 'a spec file, or one case of it as file.yaml#case')
    .option('--root <dir>', 'the suite root (what `extends` may reach)')
    .action(async (spec: string, flags: { root?: string }) => {
      exit = await explainCommand(spec, flags.root);
    });

  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    process.stderr.write(internalError(err));
    return ExitCode.internal;
  }
  return exit;
}

function parseShard(text: string): [number, number] | null {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  if (!m) return null;
  const [i, n] = [Number(m[1]), Number(m[2])];
  return i >= 1 && n >= 1 && i <= n ? [i, n] : null;
}

async function runCommand(paths: string[], flags: RunFlags): Promise<number> {
  const targets = reporterTargets(flags.reporter);
  if (typeof targets === 'string') return usage(targets);
  if (flags.update && flags.ci) return usage('--update cannot be used with --ci');
  const jobs = flags.jobs === undefined ? availableParallelism() : Number(flags.jobs);
  // Unasked, small suites stay in one thread: starting workers costs more than they would save.
  const threadsFrom = flags.jobs === undefined ? SMALL_SUITE : 2;
  if (!Number.isInteger(jobs) || jobs < 1)
    return usage(`--jobs takes a whole number of at least 1, not '${flags.jobs}'`);
  const shard = flags.shard === undefined ? undefined : parseShard(flags.shard);
  if (shard === null) return usage(`--shard takes i/n with 1 <= i <= n, not '${flags.shard}'`);
  const budget = budgetFromFlags({
    pages: flags.maxPages,
    commands: flags.maxCommands,
    steps: flags.maxSteps,
    leaves: flags.maxLeaves,
    logLines: flags.maxLogLines,
    events: flags.maxEvents,
    timeoutMs: flags.timeout,
  });
  if (typeof budget === 'string') return usage(budget);
  const found = discoverSpecs(paths, flags.root);
  if (!found.ok) return usage(found.error);
  const { loadUnits, runUnits, selectUnits } = await import('./runner.js');
  const loadedUnits = loadUnits(found.files);
  if ('error' in loadedUnits) return usage(loadedUnits.error);
  let loaded = loadedUnits;
  if (flags.cDriver !== undefined) {
    if (flags.update) return usage("--c-driver cannot be used with --update: the golden files are v3's");
    const { withCDriver } = await import('./build-driver.js');
    loaded = { units: withCDriver(loaded.units, flags.cDriver) };
  }
  const opts = {
    update: flags.update === true,
    ci: flags.ci === true,
    budget,
    jobs,
    threadsFrom,
    ...(shard ? { shard } : {}),
    ...(flags.filter ? { filter: flags.filter } : {}),
    ...(flags.tag ? { tags: flags.tag } : {}),
  };
  const { chosen, skipped } = selectUnits(loaded.units, opts);
  if (!flags.list) {
    const { prepareDrivers } = await import('./build-driver.js');
    const failed = prepareDrivers(chosen.flatMap((u) => (u.kind === 'plan' ? [u.plan] : [])));
    if (failed !== undefined) return usage(failed);
  }
  if (flags.list) {
    for (const u of loaded.units) {
      const tags = u.tags.length ? `  [${u.tags.join(', ')}]` : '';
      const note = u.kind === 'invalid' ? '  invalid' : '';
      process.stdout.write(`${chosen.includes(u) ? 'run ' : 'skip'}  ${u.id}${tags}${note}\n`);
    }
    process.stdout.write(`${chosen.length} selected, ${skipped.length} skipped\n`);
    return ExitCode.ok;
  }
  if (chosen.length === 0) {
    const why =
      loaded.units.length === 0
        ? `no spec files in ${paths.join(', ')}`
        : `the selection leaves out all ${loaded.units.length} specs`;
    process.stderr.write(
      `${flags.passWithNoSpecs ? 'note' : 'error'}: no spec to run: ${why}${flags.passWithNoSpecs ? '' : ' (--pass-with-no-specs allows that)'}\n`,
    );
    process.stdout.write('0 passed, 0 failed\n');
    return flags.passWithNoSpecs ? ExitCode.ok : ExitCode.usage;
  }
  const interruption = new Interruption().listen();
  const progress = process.stderr.isTTY === true;
  let result;
  try {
    result = await runUnits(
      loaded.units,
      chosen,
      opts,
      interruption,
      progress ? (done, total) => process.stderr.write(`\r\x1b[K[${done}/${total}]`) : undefined,
    );
  } finally {
    interruption.stop();
  }
  if (progress) process.stderr.write('\r\x1b[K');
  const outcomes: SpecOutcome[] = result.outcomes;
  // Golden files no spec refers to: reported, and in --ci mode a failure (an --update since left them).
  const complete = !result.interrupted && !outcomes.some((o) => o.status === 'invalid');
  const obsolete = complete ? found.goldens.filter((g) => !result.referencedGoldens.includes(g)) : [];
  if (flags.ci) {
    for (const file of obsolete) {
      const at = { file, line: 1, col: 1, text: '' };
      const mismatch = { at, title: 'no spec refers to this golden file; delete it', expected: [], actual: [file] };
      outcomes.push({
        id: file,
        file,
        name: 'obsolete golden file',
        tags: [],
        status: 'failed',
        errors: [],
        mismatches: [mismatch],
      });
    }
  }
  const input: ReportInput = { outcomes, skipped: result.skipped.length, obsolete: flags.ci ? [] : obsolete };
  writeReports(targets, input, useColor(flags));
  if (result.interrupted) {
    const written = outcomes.flatMap((o) => (o.goldenWritten ? [o.goldenWritten] : []));
    process.stderr.write(
      `viommu-spec: stopped by ${result.interrupted} after ${outcomes.length} of ${result.selected} specs; ` +
        `golden files written: ${written.length ? written.join(', ') : 'none'}\n`,
    );
    return SIGNAL_EXIT[result.interrupted];
  }
  if (outcomes.some((o) => o.status === 'invalid')) return ExitCode.usage;
  return outcomes.some((o) => o.status === 'failed') ? ExitCode.failed : ExitCode.ok;
}

async function validateCommand(paths: string[], root?: string): Promise<number> {
  const files = discover(paths, root);
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

/** The plans a spec file (or `file#case`) yields, or the exit code after printing why there are none. */
async function plansOf(path: string, root?: string): Promise<Plan[] | number> {
  const files = discover([path], root);
  if (typeof files === 'number') return files;
  const { loadUnits } = await import('./runner.js');
  const loaded = loadUnits(files);
  if ('error' in loaded) return usage(loaded.error);
  const invalid = loaded.units.flatMap((u) => (u.kind === 'invalid' ? [u.outcome] : []));
  if (invalid.length) {
    process.stdout.write(invalid.flatMap((o) => o.errors).join('\n'));
    return ExitCode.usage;
  }
  const plans = loaded.units.flatMap((u) => (u.kind === 'plan' ? [u.plan] : []));
  const { prepareDrivers } = await import('./build-driver.js');
  const failed = prepareDrivers(plans);
  return failed === undefined ? plans : usage(failed);
}

async function explainCommand(path: string, root?: string): Promise<number> {
  const plans = await plansOf(path, root);
  if (typeof plans === 'number') return plans;
  const { explain } = await import('./explain.js');
  for (const plan of plans) process.stdout.write(explain(plan));
  return ExitCode.ok;
}

async function pointsCommand(path: string, root?: string): Promise<number> {
  const plans = await plansOf(path, root);
  if (typeof plans === 'number') return plans;
  const { failurePoints } = await import('../runtime/check/sweep.js');
  for (const plan of plans) {
    const points = failurePoints(plan);
    process.stdout.write(`${plan.id}: ${points.length} failure points\n`);
    for (const p of points) {
      const order = p.order === undefined ? '' : `, order ${p.order}`;
      process.stdout.write(`  ${plan.steps[p.step]?.name ?? '-'}  ${p.site}#${p.call}  (${p.kind}${order})\n`);
    }
  }
  return ExitCode.ok;
}

async function mergeCommand(reports: string[], reporterSpecs: string[] | undefined): Promise<number> {
  const targets = reporterTargets(reporterSpecs);
  if (typeof targets === 'string') return usage(targets);
  const { readReport } = await import('../runtime/report/merge.js');
  const inputs: ReportInput[] = [];
  for (const file of reports) {
    const r = readReport(file);
    if (typeof r === 'string') return usage(`${file}: ${r}`);
    inputs.push(r);
  }
  const merged: ReportInput = { outcomes: inputs.flatMap((i) => i.outcomes), skipped: 0 };
  writeReports(targets, merged, false);
  if (merged.outcomes.some((o) => o.status === 'invalid')) return ExitCode.usage;
  return merged.outcomes.some((o) => o.status === 'failed') ? ExitCode.failed : ExitCode.ok;
}
