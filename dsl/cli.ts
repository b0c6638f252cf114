import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ExitCode } from './exit-code.js';
import { discoverSpecs } from './discover.js';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
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
    .action((paths: string[]) => {
      const found = discoverSpecs(paths);
      if (!found.ok) {
        process.stderr.write(`error: ${found.error}\n`);
        exit = ExitCode.usage;
        return;
      }
      if (found.files.length > 0) {
        process.stderr.write(`error: ${found.files.length} spec file(s) found, but this build has no spec language yet (issue [E])\n`);
        exit = ExitCode.usage;
        return;
      }
      process.stdout.write('0 passed, 0 failed\n');
    });

  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    throw err;
  }
  return exit;
}
