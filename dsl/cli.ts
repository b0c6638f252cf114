import { readFileSync, writeFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ExitCode } from './exit-code.js';
import { packageFile } from './package-file.js';
import { discoverSpecs, type SpecFile } from './discover.js';
import { ModelBugError } from '../runtime/model-bug.js';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

interface RunFlags {
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
  const found = discoverSpecs(paths);
  if (!found.ok) {
    process.stderr.write(`error: ${found.error}\n`);
    return ExitCode.usage;
  }
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

  program
    .command('run')
    .description('run spec files (files or folders, searched recursively, sorted)')
    .argument('[paths...]', 'spec files or folders', ['specs'])
    .option('--filter <text>', 'only specs whose id or name contains this text')
    .option('--tag <tag...>', 'only specs with one of these tags')
    .option('--update', 'write or refresh golden files (atomically); not with --ci')
    .option('--ci', 'CI mode: a missing golden file fails, nothing is written')
    .option('--reporter <name[=file]>', 'pretty, json, junit or tap, to stdout or to a file; repeatable (default: pretty)', (v: string, prev: string[]) => [...prev, v], [] as string[])
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
      process.stderr.write(`viommu-spec: internal model error: ${err.message}\nThis is a bug in viommu-spec itself, not in the driver under test. Please report it with the spec that triggered it.\n`);
      return ExitCode.modelBug;
    }
    throw err;
  }
  return exit;
}

async function runCommand(paths: string[], flags: RunFlags): Promise<number> {
  const files = discover(paths);
  if (typeof files === 'number') return files;
  const { REPORTERS } = await import('../runtime/report/index.js');
  const targets: { name: string; file?: string }[] = [];
  for (const r of flags.reporter.length ? flags.reporter : ['pretty']) {
    const [name, file] = r.split('=', 2) as [string, string | undefined];
    if (!REPORTERS[name]) {
      process.stderr.write(`error: unknown reporter '${name}'; expected one of: ${Object.keys(REPORTERS).join(', ')}\n`);
      return ExitCode.usage;
    }
    targets.push({ name, ...(file ? { file } : {}) });
  }
  if (flags.update && flags.ci) {
    process.stderr.write('error: --update cannot be used with --ci\n');
    return ExitCode.usage;
  }
  const { runFiles } = await import('./runner.js');
  const progress = process.stderr.isTTY === true;
  const byRoot = new Map<string, string[]>();
  for (const f of files) byRoot.set(f.root, [...(byRoot.get(f.root) ?? []), f.file]);
  const outcomes = [];
  let skipped = 0;
  for (const [root, rootFiles] of byRoot) {
    const r = runFiles(rootFiles, { root, update: flags.update === true, ci: flags.ci === true, ...(flags.filter ? { filter: flags.filter } : {}), ...(flags.tag ? { tags: flags.tag } : {}) }, progress ? (i, n, id) => process.stderr.write(`\r\x1b[K[${i + 1}/${n}] ${id}`) : undefined);
    outcomes.push(...r.outcomes);
    skipped += r.skipped;
  }
  if (progress) process.stderr.write('\r\x1b[K');
  const input = { outcomes, skipped };
  const { summaryLine } = await import('../runtime/report/reporter.js');
  let stdoutEndsWithSummary = false;
  for (const t of targets) {
    const text = REPORTERS[t.name]!.render(input, { color: t.file ? false : useColor(flags) });
    if (t.file) writeFileSync(t.file, text);
    else {
      process.stdout.write(text);
      stdoutEndsWithSummary = text.endsWith(`${summaryLine(input)}\n`) && !text.startsWith('TAP');
    }
  }
  if (!stdoutEndsWithSummary) process.stdout.write(`${summaryLine(input)}\n`);
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

async function explainCommand(path: string): Promise<number> {
  const files = discover([path]);
  if (typeof files === 'number') return files;
  const { planFile } = await import('./runner.js');
  const { explain } = await import('./explain.js');
  const r = planFile(files[0]!.file, files[0]!.root);
  if ('invalid' in r) {
    process.stdout.write(r.invalid.errors.join('\n'));
    return ExitCode.usage;
  }
  for (const plan of r.plans) process.stdout.write(explain(plan));
  return ExitCode.ok;
}

async function pointsCommand(path: string): Promise<number> {
  const files = discover([path]);
  if (typeof files === 'number') return files;
  const { planFile } = await import('./runner.js');
  const { failurePoints } = await import('../runtime/exec/sweep.js');
  const r = planFile(files[0]!.file, files[0]!.root);
  if ('invalid' in r) {
    process.stdout.write(r.invalid.errors.join('\n'));
    return ExitCode.usage;
  }
  for (const plan of r.plans) {
    const points = failurePoints(plan);
    process.stdout.write(`${plan.id}: ${points.length} failure points\n`);
    for (const p of points) process.stdout.write(`  ${plan.steps[p.step]?.name ?? '-'}  ${p.site}#${p.call}  (${p.kind}${p.order === undefined ? '' : `, order ${p.order}`})\n`);
  }
  return ExitCode.ok;
}
