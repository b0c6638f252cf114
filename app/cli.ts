import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Command, CommanderError, Option } from 'commander';
import { ModelBugError } from '../runtime/base/model-bug.js';
import type { BudgetName } from '../runtime/base/budget.js';
import type { Plan } from '../runtime/plan/plan.js';
import type { ReportInput } from '../runtime/report/reporter.js';
import type { SpecOutcome } from '../runtime/report/outcome.js';
import { REPORTERS } from '../runtime/report/index.js';
import { packageFile } from '../dsl/package-file.js';
import { BUDGET_FLAG, BUDGET_HELP, budgetFromFlags } from './budget-flags.js';
import { discoverSpecs, type SpecFile } from './discover.js';
import { ExitCode } from './exit-code.js';
import { CACHE_DIR, readLastFailed, writeLastFailed } from './cache.js';
import { reporterTargets, writeReports, type Target } from './output.js';
import type { PendingRun, RunOptions } from './runner.js';
import { Interruption, SIGNAL_EXIT } from './signals.js';

/** From this many spec files on, a run keeps the plans compact until they run (see runner.ts). */
const COMPACT_FROM = 64;

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
  bail?: string | true;
  lastFailed?: boolean;
  durations?: boolean;
  slowest?: string;
  watch?: boolean;
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
    .option('--jobs <n>', 'worker threads (default: the cores when the selection holds a sweep per core, else 1)')
    .option('--shard <i/n>', 'run only the i-th of n deterministic slices of the suite (for a CI matrix)')
    .option('--filter <text>', 'only specs whose id or name contains this text')
    .option('--tag <tag>', 'only specs with this tag; repeat for any of several', collect)
    .option(
      '--root <dir>',
      'the suite root (what `extends` may reach); default: the nearest folder holding package.json',
    )
    .option('--list', 'list the specs the selection takes and leaves out, one per line, and run nothing')
    .option('--bail [n]', 'stop after the first failed spec, or after n of them')
    .option('--last-failed', `run only the specs that failed last time (kept in ${CACHE_DIR}/ at the suite root)`)
    .option('--durations', "show each spec's duration in every report (reports then differ between runs)")
    .option('--slowest <n>', 'list the n slowest specs before the summary')
    .option('--watch', 'run, then re-run the specs a changed spec, fragment or golden file affects, until Ctrl-C')
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
        `${Object.keys(REPORTERS).join(', ')}, to stdout or to a file; repeatable`,
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
        `${Object.keys(REPORTERS).join(', ')}, to stdout or to a file; repeatable`,
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
    .command('init')
    .description('write a first spec, the fragment it extends and the schema line into a new folder, then run it')
    .argument('[dir]', 'the folder to create or fill', 'specs')
    .action(async (dir: string) => {
      const { initFolder } = await import('./init.js');
      const r = initFolder(dir);
      if (!r.ok) {
        exit = usage(r.error);
        return;
      }
      process.stderr.write(`wrote ${r.files.join(', ')}; running them:\n`);
      exit = await runCommand([dir], { color: true });
    });

  program
    .command('coverage')
    .description('every failure point the specs pass, and which specs or sweeps fail it; those none fails')
    .argument('[paths...]', 'spec files or folders', ['specs'])
    .option('--json', 'the same as JSON')
    .option('--html <file>', 'also write the table as one self-contained, filterable HTML page')
    .option('--root <dir>', 'the suite root (what `extends` may reach)')
    .action(async (paths: string[], flags: { json?: boolean; html?: string; root?: string }) => {
      exit = await coverageCommand(paths, flags);
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
      exit = await printEach(spec, flags.root, async () => (await import('./explain.js')).explain);
    });

  program
    .command('record')
    .description("print a spec's end state as a ready-to-paste expect: block, allocator addresses as symbols")
    .argument('<spec>', 'a spec file, or one case of it as file.yaml#case')
    .option('--root <dir>', 'the suite root (what `extends` may reach)')
    .action(async (spec: string, flags: { root?: string }) => {
      exit = await printEach(spec, flags.root, async () => (await import('./record.js')).record);
    });

  try {
    await program.parseAsync(bailValue(argv));
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    process.stderr.write(internalError(err));
    return ExitCode.internal;
  }
  return exit;
}

/**
 * `--bail` takes an optional count; written `--bail specs/`, commander would take the path for the count.
 * So a `--bail` not followed by a whole number is `--bail=1`, and a path after it stays a path.
 */
function bailValue(argv: readonly string[]): string[] {
  return argv.map((a, i) => (a === '--bail' && !/^\d+$/.test(argv[i + 1] ?? '') ? '--bail=1' : a));
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
  const bail = flags.bail === undefined ? undefined : flags.bail === true ? 1 : Number(flags.bail);
  if (bail !== undefined && (!Number.isInteger(bail) || bail < 1))
    return usage(`--bail takes a whole number of at least 1, not '${String(flags.bail)}'`);
  const slowest = flags.slowest === undefined ? undefined : Number(flags.slowest);
  if (slowest !== undefined && (!Number.isInteger(slowest) || slowest < 1))
    return usage(`--slowest takes a whole number of at least 1, not '${flags.slowest}'`);
  if (flags.watch && flags.list) return usage('--watch cannot be used with --list');
  if (flags.watch && flags.ci) return usage('--watch cannot be used with --ci');
  if (flags.watch && flags.lastFailed) return usage('--watch cannot be used with --last-failed');
  if (flags.cDriver !== undefined && flags.update)
    return usage("--c-driver cannot be used with --update: the golden files are v3's");
  const found = discoverSpecs(paths, flags.root);
  if (!found.ok) return usage(found.error);
  const cacheRoot = flags.root ?? found.files[0]?.root ?? process.cwd();
  const lastFailed = flags.lastFailed ? readLastFailed(cacheRoot) : undefined;
  const settings: RunSettings = {
    paths,
    targets,
    color: useColor(flags),
    durations: flags.durations === true,
    terminal: process.stdout.isTTY === true,
    ...(slowest ? { slowest } : {}),
    cacheRoot,
    passWithNoSpecs: flags.passWithNoSpecs === true,
    ...(flags.cDriver === undefined ? {} : { cDriver: flags.cDriver }),
    opts: {
      update: flags.update === true,
      ci: flags.ci === true,
      budget,
      jobs,
      // Unasked, the runner uses the threads only where they were measured to win (runner.ts, useWorkers).
      jobsByDefault: flags.jobs === undefined,
      ...(shard ? { shard } : {}),
      ...(flags.filter ? { filter: flags.filter } : {}),
      ...(flags.tag ? { tags: flags.tag } : {}),
      ...(bail ? { bail } : {}),
      ...(targets.some((t) => REPORTERS[t.name]!.wantsDetail) ? { detail: true } : {}),
    },
  };
  if (flags.watch) {
    const { watch } = await import('./watch.js');
    return watch(paths, flags.root, (files, goldens, only) => runSuite(files, goldens, settings, only));
  }
  return runSuite(found.files, found.goldens, settings, undefined, lastFailed, flags.list === true);
}

/** What a `run` needs besides the spec files: how to report, where the cache is, the runner's options. */
interface RunSettings {
  readonly paths: readonly string[];
  readonly targets: readonly Target[];
  readonly color: boolean;
  readonly durations: boolean;
  readonly terminal: boolean;
  readonly slowest?: number;
  readonly cacheRoot: string;
  readonly passWithNoSpecs: boolean;
  /** --c-driver: run every v3 spec on this patch's (or module's) own C instead. */
  readonly cDriver?: string;
  readonly opts: RunOptions;
}

/**
 * Loads, selects, runs and reports one suite: a whole `run`, or one round of `--watch` (`only`: the spec
 * files a change affected). Returns the exit code.
 */
async function runSuite(
  files: readonly SpecFile[],
  goldens: readonly string[],
  settings: RunSettings,
  only?: ReadonlySet<string>,
  lastFailed?: ReadonlySet<string>,
  list = false,
): Promise<number> {
  const runner = await import('./runner.js');
  const drivers = await import('./build-driver.js');
  const { targets } = settings;
  const flags = { passWithNoSpecs: settings.passWithNoSpecs, ci: settings.opts.ci };
  // The loaded units live only in selectRun: past it, the pending run holds the only reference to each plan.
  const selected = selectRun(runner, drivers, files, settings, only, lastFailed, list);
  if (typeof selected === 'number') return selected;
  const { pending, opts } = selected;
  const interruption = new Interruption().listen();
  const progress = process.stderr.isTTY === true;
  let result;
  try {
    result = await runner.runPending(
      pending,
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
  const obsolete = complete && !only ? goldens.filter((g) => !result.referencedGoldens.includes(g)) : [];
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
  const input: ReportInput = { outcomes, skipped: result.skipped, obsolete: flags.ci ? [] : obsolete };
  writeReports(targets, input, settings);
  if (!flags.ci && !result.interrupted) {
    // The cache only helps the next run: a suite root that cannot be written to costs a note, not the run.
    const why = writeLastFailed(settings.cacheRoot, result.outcomes);
    if (why) process.stderr.write(`note: cannot record the failures for --last-failed: ${why}\n`);
  }
  if (result.bailed !== undefined) {
    process.stderr.write(
      `viommu-spec: --bail: stopped after ${result.bailed} failed; ${result.selected - outcomes.length} of ${result.selected} specs not run\n`,
    );
  }
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

/**
 * Loads and selects a suite (`--list` prints the selection): the pending run, or the exit code. Synchronous
 * and apart from runSuite, so none of its locals (every unit, every plan) stays alive while the suite runs.
 */
function selectRun(
  runner: typeof import('./runner.js'),
  drivers: typeof import('./build-driver.js'),
  files: readonly SpecFile[],
  settings: RunSettings,
  only: ReadonlySet<string> | undefined,
  lastFailed: ReadonlySet<string> | undefined,
  list: boolean,
): { pending: PendingRun; opts: RunOptions } | number {
  const flags = { passWithNoSpecs: settings.passWithNoSpecs, ci: settings.opts.ci };
  const toLoad = only ? files.filter((f) => only.has(f.file)) : files;
  // Compact units (runner.ts) keep a large suite's memory flat; a small one is not worth zlib's start.
  let loaded = runner.loadUnits(toLoad, { compact: !list && toLoad.length > COMPACT_FROM });
  if ('error' in loaded) return usage(loaded.error);
  if (settings.cDriver !== undefined) loaded = { units: drivers.withCDriver(loaded.units, settings.cDriver) };
  let opts = settings.opts;
  if (lastFailed) {
    const known = loaded.units.filter((u) => lastFailed.has(u.id));
    if (known.length) opts = { ...opts, ids: new Set(known.map((u) => u.id)) };
    else process.stderr.write('note: --last-failed: no failure recorded for these specs; running them all\n');
  }
  const { chosen, skipped } = runner.selectUnits(loaded.units, opts);
  if (list) {
    const taken = new Set(chosen);
    for (const u of loaded.units) {
      const tags = u.tags.length ? `  [${u.tags.join(', ')}]` : '';
      const marker = u.kind === 'plan' ? u.plan.marker : undefined;
      const note =
        u.kind === 'invalid'
          ? '  invalid'
          : marker
            ? `  ${marker.kind}: ${marker.reason}`
            : u.kind === 'plan' && u.plan.only
              ? '  only'
              : '';
      process.stdout.write(`${taken.has(u) ? 'run ' : 'skip'}  ${u.id}${tags}${note}\n`);
    }
    process.stdout.write(`${chosen.length} selected, ${skipped.length} skipped\n`);
    return ExitCode.ok;
  }
  const failed = drivers.prepareDrivers(
    chosen.flatMap((u) => (u.kind === 'plan' && u.facts.builtDriver ? [u.plan] : [])),
  );
  if (failed !== undefined) return usage(failed);
  if (chosen.length === 0) {
    const why =
      loaded.units.length === 0
        ? `no spec files in ${settings.paths.join(', ')}`
        : `the selection leaves out all ${loaded.units.length} specs`;
    process.stderr.write(
      `${flags.passWithNoSpecs ? 'note' : 'error'}: no spec to run: ${why}${flags.passWithNoSpecs ? '' : ' (--pass-with-no-specs allows that)'}\n`,
    );
    process.stdout.write('0 passed, 0 failed\n');
    return flags.passWithNoSpecs ? ExitCode.ok : ExitCode.usage;
  }
  return { pending: runner.pendingRun(loaded.units, chosen), opts };
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

/** The plans of some spec files and folders, or the exit code after printing why they cannot run. */
async function loadPlans(paths: readonly string[], root?: string): Promise<Plan[] | number> {
  const files = discover([...paths], root);
  if (typeof files === 'number') return files;
  const { loadUnits } = await import('./runner.js');
  const loaded = loadUnits(files);
  if ('error' in loaded) return usage(loaded.error);
  const invalid = loaded.units.flatMap((u) => (u.kind === 'invalid' ? [u.outcome] : []));
  if (invalid.length) {
    process.stdout.write(invalid.flatMap((o) => o.errors).join('\n'));
    return ExitCode.usage;
  }
  return loaded.units.flatMap((u) => (u.kind === 'plan' ? [u.plan] : []));
}

/** The plans a spec file (or `file#case`) yields, their drivers built, or the exit code. */
async function plansOf(path: string, root?: string): Promise<Plan[] | number> {
  const plans = await loadPlans([path], root);
  if (typeof plans === 'number') return plans;
  const { prepareDrivers } = await import('./build-driver.js');
  const failed = prepareDrivers(plans);
  return failed === undefined ? plans : usage(failed);
}

/** `explain`, `record`: one text per plan of a spec, on stdout. */
async function printEach(
  path: string,
  root: string | undefined,
  print: () => Promise<(plan: Plan) => string>,
): Promise<number> {
  const plans = await plansOf(path, root);
  if (typeof plans === 'number') return plans;
  const render = await print();
  for (const plan of plans) process.stdout.write(render(plan));
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

async function coverageCommand(
  paths: string[],
  flags: { json?: boolean; html?: string; root?: string },
): Promise<number> {
  const plans = await loadPlans(paths, flags.root);
  if (typeof plans === 'number') return plans;
  if (plans.length === 0) return usage(`no spec files in ${paths.join(', ')}`);
  const { coverage } = await import('../runtime/check/coverage.js');
  const { coverageHtml, coverageJson, coverageTable } = await import('./coverage.js');
  const c = coverage(plans);
  if (flags.html !== undefined) {
    const { writeAtomic } = await import('../runtime/check/golden.js');
    try {
      writeAtomic(flags.html, coverageHtml(c));
    } catch (e) {
      return usage(`cannot write ${flags.html}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  }
  process.stdout.write(flags.json ? coverageJson(c) : coverageTable(c));
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
  writeReports(targets, merged, { color: false });
  if (merged.outcomes.some((o) => o.status === 'invalid')) return ExitCode.usage;
  return merged.outcomes.some((o) => o.status === 'failed') ? ExitCode.failed : ExitCode.ok;
}
