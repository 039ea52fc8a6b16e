/**
 * What `live` and `analyze` share: build the engine over a source, print outliers as they come (human or JSON
 * Lines), and the summary at the end.
 */
import { Engine, type EngineOptions, type OutlierRecord } from '../analyses/engine.ts';
import type { Analysis } from '../analyses/types.ts';
import { FOLDED_LIMIT, FoldedStacks } from '../sinks/folded.ts';
import { jsonLine, withUnix } from '../sinks/json.ts';
import { formatSummary, summaryRecords } from '../sinks/summary.ts';
import { formatOutlier, wallClockText } from '../sinks/text.ts';
import { SetupError } from '../sources/errors.ts';
import type { SourceStats, TraceSource } from '../sources/types.ts';
import { engineSettings, type RunOptions } from './options.ts';

export interface Output {
  out(text: string): void;
  err(text: string): void;
}

export const stdio: Output = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

/** The first error writing standard output, and what the running command does about it. */
let outputError: NodeJS.ErrnoException | undefined;
let outputHandler: ((e: NodeJS.ErrnoException) => void) | undefined;

/**
 * While a command runs: what a failed standard output does — typically stop the run gracefully (the store commits,
 * the instance is removed). Without a handler the process leaves at once. Returns the disposer.
 */
export function onOutputError(handler: (e: NodeJS.ErrnoException) => void): () => void {
  outputHandler = handler;
  return () => {
    if (outputHandler === handler) outputHandler = undefined;
  };
}

/**
 * Watches standard output (once, from `main`). EPIPE — the reader went away (`| head`) — stops quietly, exit 0. Any
 * other error (a full disk, an I/O error) is one line on stderr naming it, and exit code 1: outliers that cannot be
 * written are never lost silently.
 */
export function watchOutput(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (outputError !== undefined) return;
    outputError = e;
    if (e.code !== 'EPIPE') {
      const why = (e.message ?? '').replace(/, write$/, '');
      process.stderr.write(`latency-tracker: cannot write to standard output (${why})\n`);
    }
    if (outputHandler !== undefined) outputHandler(e);
    else process.exit(e.code === 'EPIPE' ? 0 : 1);
  });
}

/** 1 when standard output failed (other than EPIPE), else undefined. */
export function outputExitCode(): number | undefined {
  return outputError === undefined || outputError.code === 'EPIPE' ? undefined : 1;
}

/** Builds the engine with the validated options; outliers go to `io` as they are found. */
export function createEngine(
  source: TraceSource,
  o: RunOptions,
  io: Output,
  analyses?: Analysis[],
  extra: Partial<EngineOptions> = {},
  tee?: (r: OutlierRecord) => void,
): Engine {
  const settings = engineSettings(o);
  if (o.timestamps && source.kind !== 'tracefs' && source.unixOffsetNs === undefined) {
    throw new SetupError(
      `-T: this ${source.kind} trace has no wall-clock reference (clock ${source.clock}); -T works live and on LTTng traces`,
    );
  }
  let show: (r: OutlierRecord) => void;
  if (o.folded) {
    const folded = new FoldedStacks();
    foldedOf.set(source, folded);
    show = (r) => folded.add(r);
  } else if (o.json) show = (r) => io.out(`${jsonLine(withUnix(r, source.unixOffsetNs))}\n`);
  else if (o.timestamps) {
    show = (r) => {
      const off = source.unixOffsetNs;
      io.out(`${formatOutlier(r, off === undefined ? '?' : wallClockText(r.start_ns + off))}\n`);
    };
  } else show = (r) => io.out(`${formatOutlier(r)}\n`);
  const print =
    tee === undefined
      ? show
      : (r: OutlierRecord) => {
          tee(r);
          show(r);
        };
  return new Engine(
    source,
    analyses ?? o.analyses,
    {
      settings,
      stacks: o.stacks,
      tids: o.pids.length > 0 ? new Set(o.pids) : undefined,
      comm: o.comm,
      cpus: o.cpus.length > 0 ? new Set(o.cpus) : undefined,
      groupBy: o.groupBy,
      groupLimit: o.groupLimit,
      cgroup: o.cgroup,
      ...extra,
    },
    print,
  );
}

/** The `--folded` table of a run, by its source. */
const foldedOf = new WeakMap<TraceSource, FoldedStacks>();

/**
 * The end of a run: the folded stacks (`--folded`), the summary (with `--summary`), and what was lost or skipped,
 * on stderr when human.
 */
export function finishRun(engine: Engine, stats: SourceStats, o: RunOptions, io: Output): void {
  const folded = foldedOf.get(engine.source);
  if (folded !== undefined) {
    io.out(folded.format());
    if (folded.overflow > 0) {
      io.err(
        `latency-tracker: more than ${FOLDED_LIMIT} distinct stacks: ${folded.overflow} outliers under [other stacks]\n`,
      );
    }
  }
  if (o.summary) {
    if (o.json) for (const rec of summaryRecords(engine, stats)) io.out(`${jsonLine(rec)}\n`);
    else io.out(formatSummary(engine, stats, o.milliseconds ? 'msecs' : 'usecs'));
  }
  const lost = stats.lostPerCpu.reduce((a, b) => a + b, 0);
  if (lost > 0 || stats.lossReports > 0) {
    const per = stats.lostPerCpu.map((n, c) => `cpu${c}=${n}`).join(' ');
    io.err(`latency-tracker: the kernel lost events (${per}); pairs that may have lost their end were dropped\n`);
  }
  const errs = Object.entries(stats.errors).filter(([, n]) => n > 0);
  if (errs.length > 0) io.err(`latency-tracker: undecodable data: ${errs.map(([k, n]) => `${k}=${n}`).join(' ')}\n`);
}
