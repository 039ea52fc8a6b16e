/**
 * The `latency-tracker` command (DESIGN §6). The only place that reads argv, prints usage and sets exit codes:
 * every failure becomes one line on stderr and an exit code (2 for bad usage or setup, 1 for the unexpected).
 */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { ANALYSIS_NAMES } from '../analyses/index.ts';
import { resolvePaths } from '../paths.ts';
import { StoreError } from '../sinks/store/duck.ts';
import { REPORT_NAMES } from '../sinks/store/reports.ts';
import { DEFAULT_STORE_PATH } from '../sinks/store/store.ts';
import { isSystemError, SetupError, systemErrorText } from '../sources/errors.ts';
import { profileOfTrace, runAnalyze, runDump, runLive } from './commands.ts';
import { flightOptions } from './flight.ts';
import { formatList, kernelHas, listAnalyses } from './list.ts';
import { collect, groupFields, UsageError } from './options.ts';
import { runCompare } from './profiles.ts';
import { runQueryCommand } from './query.ts';
import { runRecord } from './record.ts';
import { outputExitCode, stdio, watchOutput } from './run.ts';
import { runServe } from './serve.ts';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Options shared by `live` and `analyze`. */
function commonOptions(c: Command): Command {
  return c
    .option(
      '-t, --threshold <ANALYSIS=DURATION>',
      'report pairs slower than this (repeatable; bare = all; µs if no unit)',
      collect,
    )
    .option('--timeout <ANALYSIS=DURATION>', 'report events still unfinished after this long (repeatable)', collect)
    .option('-p, --pid <PID>', 'only these threads/processes (repeatable, or comma-separated)', collect)
    .option('-c, --comm <NAME>', 'only threads with this command name')
    .option('--stacks', 'attach the kernel stack where the task blocked')
    .option('--json', 'JSON Lines on stdout (one object per outlier, then summaries)')
    .option('--summary', 'statistics at the end: counts, percentiles, log2 histogram')
    .addOption(new Option('--group-by <FIELD>', 'per-group statistics in the summary').choices(groupFields()))
    .option('--group-limit <N>', 'distinct groups kept per analysis before the overflow group (default 256)')
    .option('-C, --cpu <CPUS>', 'only pairs on these CPUs, e.g. 0,2-3 (repeatable)', collect)
    .option('-T, --timestamps', 'wall-clock time (HH:MM:SS.us) on each outlier line')
    .option('-m, --milliseconds', 'the summary histogram in milliseconds')
    .option('--folded', 'folded stacks for flame graphs at the end (like offcputime -f), instead of outlier lines')
    .option('--cgroup <PATH>', 'only threads in this cgroup or below it (live; e.g. /system.slice/mariadb.service)');
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
    .option('--tracefs <DIR>', 'tracefs mount point (default /sys/kernel/tracing)')
    .option('--procfs <DIR>', 'procfs mount point (default /proc)')
    .option('--cgroupfs <DIR>', 'where the cgroup hierarchies are mounted (default /sys/fs/cgroup)')
    .configureOutput({ outputError: (str, write) => write(str.replace(/^error: /, 'latency-tracker: ')) })
    .exitOverride();

  commonOptions(
    program
      .command('live', { isDefault: true })
      .description('trace the live kernel; Ctrl-C ends (default command)')
      .argument('[ANALYSIS...]', `analyses to run (default: all this kernel supports): ${ANALYSIS_NAMES.join(', ')}`),
  )
    .option('-d, --duration <DURATION>', 'stop after this long (e.g. 10s)')
    .option('-i, --interval <DURATION>', 'print the 1m/5m/1h percentiles of every analysis this often (e.g. 10s)')
    .option('--profile-out <FILE>', "write the run's latency profile (JSON) at the end, for compare")
    .option('--store <PATH>', 'keep every outlier and per-interval profiles in this DuckDB file (docs/store.md)')
    .option('--retention-days <DAYS>', 'store: delete rows older than this (default 30; 0 = never)')
    .option('--retention-size <SIZE>', 'store: keep the data under this size, oldest first (default 1G; 0 = no limit)')
    .option(
      '--flush-interval <DURATION>',
      'store: commit queued outliers this often (default 1s: what SIGKILL can lose)',
    )
    .option('--profile-interval <DURATION>', 'store: profile snapshot interval per analysis (default 60s)')
    .option(
      '--clickhouse <URL>',
      `also ship to ClickHouse over HTTP (spooled in --store, default ${DEFAULT_STORE_PATH})`,
    )
    .option('--clickhouse-user <USER>', 'ClickHouse user (default: default)')
    .option(
      '--clickhouse-password <PASSWORD>',
      'ClickHouse password (or LATENCY_TRACKER_CLICKHOUSE_PASSWORD in the environment)',
    )
    .option('--clickhouse-database <DB>', 'ClickHouse database, created if missing (default latency_tracker)')
    .action(async (names: string[], opts, cmd: Command) => {
      process.exitCode = await runLive(names, { ...cmd.optsWithGlobals(), ...opts }, stdio);
    });

  commonOptions(
    program
      .command('analyze')
      .description('analyze a trace-cmd trace.dat file or an LTTng CTF trace directory')
      .argument('<FILE>', 'trace.dat file or CTF trace directory')
      .argument('[ANALYSIS...]', 'analyses to run (default: all the trace supports)'),
  )
    .option('--buffer <NAME>', 'trace.dat buffer (instance) to read; default: the one with data')
    .option('--profile-out <FILE>', 'write the latency profile (JSON) at the end, for compare')
    .option('--report <FILE.html>', 'write a self-contained HTML report (charts, worst outliers, losses)')
    .action(async (file: string, names: string[], opts, cmd: Command) => {
      process.exitCode = await runAnalyze(file, names, { ...cmd.optsWithGlobals(), ...opts }, stdio);
    });

  commonOptions(
    program
      .command('record')
      .description('record what the analyses need into a trace-cmd trace.dat (and run them as live does); Ctrl-C ends')
      .argument('[ANALYSIS...]', 'analyses whose events to record (default: all this kernel supports)'),
  )
    .option('-o, --output <FILE>', 'the trace.dat to write (trace-cmd report and KernelShark read it)')
    .option('-d, --duration <DURATION>', 'stop after this long (e.g. 10s)')
    .option('--file-version <6|7>', 'trace.dat version (default 6: read by every trace-cmd and KernelShark)')
    .option('--compress <none|zlib>', 'v7 compression (default none; Debian trace-cmd reads zstd only, not zlib)')
    .action(async (names: string[], opts, cmd: Command) => {
      process.exitCode = await runRecord(names, { ...cmd.optsWithGlobals(), ...opts }, stdio, packageVersion());
    });

  program
    .command('serve')
    .description('daemon: live tracking with an HTTP API, Prometheus /metrics and a web dashboard')
    .argument('[ANALYSIS...]', 'analyses to run (default: all this kernel supports)')
    .option('--listen <HOST:PORT>', 'address to serve on (beyond loopback needs --token)', '127.0.0.1:9555')
    .option('--token <TOKEN>', 'bearer token every request must carry (or LATENCY_TRACKER_TOKEN)')
    .option(
      '-t, --threshold <ANALYSIS=DURATION>',
      'initial threshold (repeatable; bare = all; µs if no unit; changeable at run time)',
      collect,
    )
    .option('--timeout <ANALYSIS=DURATION>', 'initial timeout (repeatable)', collect)
    .option('--no-stacks', 'do not capture kernel stacks (they cost a stack trace per blocking switch)')
    .addOption(
      new Option('--metrics-by <FIELD>', 'also label the /metrics latency histograms by this field').choices([
        'cgroup',
      ]),
    )
    .option('--metrics-limit <N>', 'with --metrics-by: series per analysis before the rest go to "other" (default 64)')
    .option('--history <N>', 'with --no-store: recent outliers kept in memory for the API (default 4096)')
    .option(
      '--store <PATH>',
      `keep every outlier and per-interval profiles in this DuckDB file (default ${DEFAULT_STORE_PATH})`,
    )
    .option('--no-store', 'keep outliers in memory only (the API then forgets them on restart)')
    .option('--retention-days <DAYS>', 'store: delete rows older than this (default 30; 0 = never)')
    .option('--retention-size <SIZE>', 'store: keep the data under this size, oldest first (default 1G; 0 = no limit)')
    .option('--flush-interval <DURATION>', 'store: commit queued outliers this often (default 1s)')
    .option('--profile-interval <DURATION>', 'store: profile snapshot interval per analysis (default 60s)')
    .option('--clickhouse <URL>', 'also ship to ClickHouse over HTTP (spooled in the store)')
    .option('--clickhouse-user <USER>', 'ClickHouse user (default: default)')
    .option('--clickhouse-password <PASSWORD>', 'ClickHouse password (or LATENCY_TRACKER_CLICKHOUSE_PASSWORD)')
    .option('--clickhouse-database <DB>', 'ClickHouse database, created if missing (default latency_tracker)')
    .action(async (names: string[], opts, cmd: Command) => {
      process.exitCode = await runServe(names, { ...cmd.optsWithGlobals(), ...opts }, stdio, packageVersion());
    });

  // The flight recorder (issue 16) for the live commands.
  for (const c of program.commands) if (c.name() === 'live' || c.name() === 'serve') flightOptions(c);

  program
    .command('dump')
    .description('print decoded events one per line (like trace-cmd report -R)')
    .argument('[FILE]', 'trace.dat file or CTF trace directory')
    .option('--live', 'read the live kernel instead of a file')
    .option('-e, --event <EVENT>', 'only this event (system:name or name; repeatable)', collect)
    .option('-n, --count <N>', 'stop after N events')
    .option('-d, --duration <DURATION>', 'with --live: stop after this long (default 1s)')
    .option('--buffer <NAME>', 'trace.dat buffer (instance) to read')
    .action(async (file: string | undefined, opts, cmd: Command) => {
      process.exitCode = await runDump(file, { ...cmd.optsWithGlobals(), ...opts }, stdio);
    });

  program
    .command('compare')
    .description('compare two latency profiles (saved with --profile-out) or two traces, percentile by percentile')
    .argument('<BASELINE>', 'profile JSON, trace.dat file or CTF directory')
    .argument('<CURRENT>', 'profile JSON, trace.dat file or CTF directory')
    .option('-a, --analysis <NAME>', 'only this analysis (repeatable)', collect)
    .addOption(new Option('--group-by <FIELD>', 'for traces: also compare per group').choices(groupFields()))
    .option('--json', 'JSON Lines, one object per compared row')
    .option('--no-fail', 'exit 0 even when a percentile regressed (default: exit 1 then, like diff)')
    .action(async (baseline: string, current: string, opts) => {
      process.exitCode = await runCompare(baseline, current, opts, stdio, profileOfTrace);
    });

  program
    .command('query')
    .description('reports over an outlier store, or one read-only SQL query (docs/store.md)')
    .argument('[REPORT]', `canned report: ${REPORT_NAMES.join(', ')} (default top)`)
    .option('--store <PATH>', `the DuckDB store (default ${DEFAULT_STORE_PATH})`)
    .option('--sql <SELECT>', 'run one read-only SQL statement (tables: outliers, profiles)')
    .option('--json', 'JSON Lines, one object per row')
    .option('--parquet <OUT>', 'write the outliers (or the report / --sql result) to a Parquet file')
    .option('--analysis <NAME>', 'only this analysis')
    .option('--host <NAME>', 'only this host')
    .option('--last <DURATION>', 'only the last DURATION (e.g. 1h)')
    .option('--limit <N>', 'rows (top), processes per analysis, subjects per interval (p99); default 20')
    .option('--every <DURATION>', 'interval of the over-time reports (default 1m)')
    .option('--token <TOKEN>', 'token of the daemon holding the store, if it has one (or LATENCY_TRACKER_TOKEN)')
    .action(async (report: string | undefined, opts) => {
      process.exitCode = await runQueryCommand(report, opts, stdio);
    });

  program
    .command('list')
    .description('analyses, their events, and whether this kernel has them')
    .option('--json', 'JSON Lines')
    .action((opts, cmd: Command) => {
      const g = cmd.optsWithGlobals() as { tracefs?: string; procfs?: string; cgroupfs?: string };
      const paths = resolvePaths({ tracefs: g.tracefs, procfs: g.procfs, cgroupfs: g.cgroupfs });
      let has: ((e: string) => boolean) | undefined;
      try {
        readFileSync(`${paths.tracefs}/available_events`);
        has = kernelHas(paths);
      } catch {
        has = undefined;
      }
      const rows = listAnalyses(has);
      if (opts.json) for (const r of rows) stdio.out(`${JSON.stringify({ type: 'analysis', ...r })}\n`);
      else stdio.out(formatList(rows));
      if (has === undefined)
        stdio.err(
          `latency-tracker: cannot read ${paths.tracefs} (run as root to see which analyses this kernel supports): KERNEL ? = unknown\n`,
        );
    });
  return program;
}

/**
 * One sentence for a file the command could not open or read (EACCES on a trace file or a CTF stream, EISDIR, EIO,
 * ...): Node's system errors carry the call, the path and the code. Undefined for anything else.
 */
export function fileErrorMessage(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code !== 'string' || typeof e.syscall !== 'string' || typeof e.path !== 'string') return undefined;
  const verb = /write|mkdir|unlink|rename|ftruncate/.test(e.syscall) ? 'write' : 'read';
  return `cannot ${verb} ${e.path}: ${systemErrorText(e)}`;
}

export async function main(argv: string[]): Promise<number> {
  // Output piped into `head` and closed: stop quietly; a full disk or an I/O error: one line, exit 1 (run.ts).
  watchOutput();
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    const code = typeof process.exitCode === 'number' ? process.exitCode : 0;
    return Math.max(code, outputExitCode() ?? 0);
  } catch (err) {
    const e = err as { code?: string; exitCode?: number };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) return 2;
    if (err instanceof UsageError || err instanceof SetupError || err instanceof StoreError) {
      process.stderr.write(`latency-tracker: ${err.message}\n`);
      return 2;
    }
    const fsProblem = fileErrorMessage(err);
    if (fsProblem !== undefined) {
      process.stderr.write(`latency-tracker: ${fsProblem}\n`);
      return 2;
    }
    if (isSystemError(err)) {
      // An operating-system error nothing above explained: what it means and on which path, never its code.
      const path = (err as NodeJS.ErrnoException).path;
      process.stderr.write(`latency-tracker: ${path !== undefined ? `${path}: ` : ''}${systemErrorText(err)}\n`);
      return 2;
    }
    const named = err as Error & { offset?: number };
    if (
      named?.name?.endsWith('Error') &&
      named.name !== 'Error' &&
      named.name !== 'TypeError' &&
      named.name !== 'RangeError'
    ) {
      // Typed errors from decoders (trace.dat, CTF, formats) carry their own clear message.
      process.stderr.write(`latency-tracker: ${named.message}\n`);
      return 2;
    }
    process.stderr.write(`latency-tracker: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}
