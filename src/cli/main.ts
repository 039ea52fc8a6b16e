/**
 * The `latency-tracker` command. The only place that reads argv, prints usage and sets exit codes.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('latency-tracker')
    .description(
      'Run-time latency detection for Linux: pairs kernel begin/end events and reports every operation slower than ' +
        'its threshold, with the context that explains it.',
    )
    .version(packageVersion(), '-V, --version')
    .configureOutput({ outputError: (str, write) => write(str) });
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    const e = err as { code?: string; exitCode?: number };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
    if (typeof e.exitCode === 'number') return e.exitCode === 1 ? 2 : e.exitCode;
    process.stderr.write(`latency-tracker: ${(err as Error).message}\n`);
    return 1;
  }
}
