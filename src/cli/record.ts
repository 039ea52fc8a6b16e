/**
 * `latency-tracker record`: the analyses' events, recorded in our private instance into a trace-cmd trace.dat that
 * `trace-cmd report` and KernelShark read (issue 16), while the analyses run as in `live` (same output, same
 * options). The file is valid at every moment (a SIGKILL leaves it readable up to the last read cycle, see
 * `sources/tracedat/recording.ts`); at the end it is compacted, with the comm table and CPU statistics of the end.
 */
import { SetupError, systemErrorText } from '../sources/errors.ts';
import { RecordingFile } from '../sources/tracedat/recording.ts';
import { liveCmdlines, liveCpuStats, liveMetadata } from '../sources/tracefs/metadata.ts';
import { LiveSource, type PageObserver } from '../sources/tracefs/source.ts';
import {
  ensureTracefs,
  expandPids,
  type GlobalOptions,
  liveEvents,
  liveFilters,
  pathsOf,
  runnable,
} from './commands.ts';
import { kernelHas } from './list.ts';
import { parseRunOptions, type RawOptions, UsageError } from './options.ts';
import { createEngine, finishRun, type Output } from './run.ts';

export interface RecordOptions extends RawOptions, GlobalOptions {
  output?: string;
  fileVersion?: string;
  compress?: string;
}

/** trace.dat v6 by default: every trace-cmd since 2.x and KernelShark 1.x/2.x read it (docs/evidence.md). */
export const DEFAULT_FILE_VERSION = 6;

export function parseFileOptions(raw: { fileVersion?: string; compress?: string }): {
  version: 6 | 7;
  compression: 'none' | 'zlib';
} {
  const v = raw.fileVersion ?? String(DEFAULT_FILE_VERSION);
  if (v !== '6' && v !== '7') throw new UsageError(`--file-version: '${v}' is not 6 or 7`);
  const c = raw.compress ?? 'none';
  if (c !== 'none' && c !== 'zlib') throw new UsageError(`--compress: '${c}' is not none or zlib`);
  if (v === '6' && c !== 'none')
    throw new UsageError('--compress zlib needs --file-version 7 (version 6 has no compression)');
  return { version: Number(v) as 6 | 7, compression: c };
}

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

export async function runRecord(names: string[], raw: RecordOptions, io: Output, version: string): Promise<number> {
  const o = parseRunOptions(names, raw);
  const file = parseFileOptions(raw);
  const out = raw.output;
  if (out === undefined || out === '') throw new UsageError('record needs an output file: -o FILE');
  const paths = pathsOf(raw);
  ensureTracefs(paths);
  const has = kernelHas(paths);
  const analyses = runnable(o, names.length > 0, has, 'this kernel');
  const { events, stackBits } = liveEvents(paths, analyses, has, o.stacks);
  const tids = o.pids.length > 0 ? expandPids(paths, o.pids) : [];
  let rec: RecordingFile | undefined;
  let source: LiveSource | undefined;
  const observer: PageObserver = {
    page(cpu, bytes, offset, length) {
      rec?.page(cpu, bytes, offset, length);
    },
    cycle(_upTo, final) {
      if (rec === undefined) return;
      if (final) rec.setCpuStats(liveCpuStats((source as LiveSource).instance));
      rec.commit();
      if (rec.error !== undefined) source?.stop();
    },
  };
  source = LiveSource.open({
    paths,
    events,
    filters: liveFilters(analyses, tids, o.comm),
    stackBits,
    pageObserver: observer,
  });
  const live = source;
  let engine: ReturnType<typeof createEngine>;
  try {
    const m = liveMetadata(live, paths);
    try {
      rec = RecordingFile.create({
        path: out,
        version: file.version,
        compression: file.compression,
        meta: m.meta,
        cpus: live.cpus,
        pageSize: live.instance.pageSize,
        clock: live.clock,
        traceClock: m.traceClock,
        uname: m.uname,
        tool: `latency-tracker ${version}`,
      });
    } catch (e) {
      throw new SetupError(`cannot write ${out} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
    engine = createEngine(live, { ...o, pids: tids }, io, analyses, { commFilteredInKernel: o.comm !== undefined });
  } catch (e) {
    rec?.close();
    live.instance.remove();
    throw e;
  }
  const recording = rec;
  const stop = () => live.stop();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const timer = o.duration !== undefined ? setTimeout(stop, o.duration / 1e6) : undefined;
  try {
    const running = live.run(engine);
    const header = `Recording ${analyses.map((a) => a.name).join(', ')} to ${out}... Hit Ctrl-C to end.\n`;
    if (o.json) io.err(header);
    else io.out(header);
    const stats = await running;
    finishRun(engine, stats, o, io);
    const pages = recording.stats.pages.reduce((a, b) => a + b, 0);
    if (recording.error !== undefined) {
      const why = systemErrorText(recording.error);
      recording.close();
      io.err(`latency-tracker: writing ${out} failed (${why}): it holds the ${pages} pages written before\n`);
      return 1;
    }
    const size = await recording.finish(liveCmdlines(paths));
    const lost = stats.lostPerCpu.map((n, c) => `cpu${c}=${n}`).join(' ');
    io.err(
      `latency-tracker: wrote ${out}: trace.dat v${file.version}${file.compression === 'zlib' ? ' zlib' : ''}, ` +
        `${pages} pages of ${live.instance.pageSize} bytes (${mib(recording.stats.bytes)} of events, file ${mib(size)}), ` +
        `${stats.records} events, lost: ${lost}\n`,
    );
    return 0;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    recording.close();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
