/**
 * `live`, `analyze` and `dump`: option checking, opening the source, running, exit codes.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { COMM_EVENTS } from '../analyses/comm-events.ts';
import type { Analysis } from '../analyses/types.ts';
import { parseTaskStateMask } from '../ftrace/format.ts';
import { RecordFormatter } from '../ftrace/report.ts';
import { type Paths, resolvePaths } from '../paths.ts';
import { type CtfSource, formatRecord as formatCtfRecord, openCtfTrace } from '../sources/ctf/index.ts';
import { SetupError } from '../sources/errors.ts';
import { openTraceDat } from '../sources/tracedat/index.ts';
import { commFilter, tidFilter } from '../sources/tracefs/filters.ts';
import { mountTracefs } from '../sources/tracefs/mount.ts';
import { LiveSource } from '../sources/tracefs/source.ts';
import type { RecordSink, TraceSource } from '../sources/types.ts';
import { parseDuration } from './duration.ts';
import { kernelHas } from './list.ts';
import { parseRunOptions, type RawOptions, type RunOptions, UsageError } from './options.ts';
import { createEngine, finishRun, type Output } from './run.ts';

interface GlobalOptions {
  tracefs?: string;
  procfs?: string;
}

function pathsOf(g: GlobalOptions): Paths {
  return resolvePaths({ tracefs: g.tracefs, procfs: g.procfs });
}

/** A progress line on stderr when it is a terminal (piped output stays clean). */
function progressReporter(label: string, enabled: boolean): { update(done: number, total: number): void; end(): void } {
  if (!enabled || !process.stderr.isTTY) return { update() {}, end() {} };
  let last = 0;
  let shown = false;
  return {
    update(done, total) {
      const now = Date.now();
      if (now - last < 200 && done < total) return;
      last = now;
      shown = true;
      const pct = total > 0 ? Math.floor((done / total) * 100) : 0;
      process.stderr.write(`\r${label}: ${pct}% of ${(total / 1048576).toFixed(1)} MiB`);
    },
    end() {
      if (shown) process.stderr.write('\r\u001b[K');
    },
  };
}

/** Opens a trace file (trace.dat) or trace directory (LTTng CTF). */
export async function openTraceFile(
  path: string,
  opts: { buffer?: string; onProgress?(done: number, total: number): void },
): Promise<TraceSource> {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch (e) {
    throw new SetupError(`cannot open ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  if (st.isDirectory()) return openCtfTrace(path);
  return openTraceDat(path, { buffer: opts.buffer, onProgress: opts.onProgress });
}

/** Splits the requested analyses into runnable ones, refusing named ones the source cannot serve. */
function runnable(o: RunOptions, named: boolean, has: (e: string) => boolean, where: string): Analysis[] {
  const out: Analysis[] = [];
  for (const a of o.analyses) {
    const ev = a.events(has);
    if (typeof ev === 'string') {
      if (named) throw new SetupError(`analysis ${a.name} ${ev}, which ${where} does not have`);
      continue;
    }
    out.push(a);
  }
  if (out.length === 0) throw new SetupError(`${where} has none of the events any analysis needs`);
  return out;
}

export async function runAnalyze(
  file: string,
  names: string[],
  raw: RawOptions & GlobalOptions & { buffer?: string },
  io: Output,
): Promise<number> {
  const o = parseRunOptions(names, raw);
  const progress = progressReporter(`reading ${file}`, !o.json);
  const source = await openTraceFile(file, { buffer: raw.buffer, onProgress: progress.update });
  const has = (e: string) => source.schema.find(e) !== undefined;
  const analyses = runnable(o, names.length > 0, has, file);
  const engine = createEngine(source, o, io, analyses);
  if (!o.json) io.out(`Analyzing ${file} (${source.cpus} CPUs): ${analyses.map((a) => a.name).join(', ')}.\n`);
  const stats = await source.run(engine);
  progress.end();
  finishRun(engine, stats, o, io);
  return 0;
}

/** Threads of the given processes (`/proc/PID/task`), plus the ids themselves (they may be thread ids). */
function expandPids(paths: Paths, pids: number[]): number[] {
  const tids = new Set<number>(pids);
  for (const p of pids) {
    let names: string[] = [];
    try {
      names = readdirSync(join(paths.procfs, String(p), 'task'));
    } catch {
      // not a running process: keep the id itself
    }
    for (const t of names) if (/^\d+$/.test(t)) tids.add(Number(t));
  }
  return [...tids];
}

/** Kernel-side filters for `--pid` / `--comm` (only on events every analysis reading them can filter). */
function liveFilters(analyses: Analysis[], tids: number[], comm: string | undefined): Map<string, string> {
  const filters = new Map<string, string>();
  if (tids.length === 0 && comm === undefined) return filters;
  const fields = new Map<string, Set<string> | null>();
  for (const a of analyses) {
    for (const ev of a.events(() => true) as string[]) {
      const f = a.tidFields[ev];
      const cur = fields.get(ev);
      if (f === undefined || cur === null) fields.set(ev, null);
      else fields.set(ev, new Set([...(cur ?? []), ...f]));
    }
  }
  for (const [ev, set] of fields) {
    if (set === null || set.size === 0) continue;
    const list = [...set];
    const parts: string[] = [];
    const t = tidFilter(list, tids);
    if (tids.length > 0 && t === undefined) continue;
    if (t !== undefined) parts.push(`(${t})`);
    if (comm !== undefined) parts.push(`(${commFilter(list, comm)})`);
    filters.set(ev, parts.join(' && '));
  }
  return filters;
}

/**
 * The events `live` enables for these (runnable) analyses: what they read, plus the rare events that name new
 * threads (fork/exec/rename), so that short-lived processes keep their names after they exit. The stack trigger's
 * `sched_switch` is added separately. `bench/overhead` records the same set for its kernel-floor configuration.
 */
export function liveEvents(analyses: readonly Analysis[], has: (e: string) => boolean): string[] {
  const events = [...new Set(analyses.flatMap((a) => a.events(has) as string[]))];
  for (const e of COMM_EVENTS) if (has(e) && !events.includes(e)) events.push(e);
  return events;
}

/** Root and a mounted tracefs, or one clear sentence. */
function ensureTracefs(paths: Paths): void {
  if (process.getuid?.() !== 0) {
    throw new SetupError(
      'latency-tracker needs root to trace the kernel (it creates a private tracefs instance): run it with sudo.',
    );
  }
  mountTracefs(paths.tracefs);
}

export async function runLive(names: string[], raw: RawOptions & GlobalOptions, io: Output): Promise<number> {
  const o = parseRunOptions(names, raw);
  const paths = pathsOf(raw);
  ensureTracefs(paths);
  const has = kernelHas(paths);
  const analyses = runnable(o, names.length > 0, has, 'this kernel');
  const events = liveEvents(analyses, has);
  let stackBits: number | undefined;
  if (o.stacks && analyses.some((a) => a.usesStacks) && has('sched:sched_switch')) {
    const f = readFileSync(join(paths.tracefs, 'events/sched/sched_switch/format'), 'utf8');
    const m = parseTaskStateMask(/^print fmt: (.*)$/m.exec(f)?.[1] ?? '');
    stackBits = 0;
    for (const [v, l] of m.letters) if (l === 'S' || l === 'D') stackBits |= v;
    if (stackBits === 0) stackBits = 3;
    if (!events.includes('sched:sched_switch')) events.push('sched:sched_switch');
  }
  const tids = o.pids.length > 0 ? expandPids(paths, o.pids) : [];
  const source = LiveSource.open({ paths, events, filters: liveFilters(analyses, tids, o.comm), stackBits });
  let engine: ReturnType<typeof createEngine>;
  try {
    engine = createEngine(source, { ...o, pids: tids }, io, analyses, { commFilteredInKernel: o.comm !== undefined });
  } catch (e) {
    source.instance.remove();
    throw e;
  }
  const stop = () => source.stop();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // A closed stdout (piped into `head`) ends the run quietly.
  const onPipeError = (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') stop();
  };
  process.stdout.on('error', onPipeError);
  const timer = o.duration !== undefined ? setTimeout(stop, o.duration / 1e6) : undefined;
  try {
    // run() turns tracing on before it first yields: the header means "tracing now".
    const running = source.run(engine);
    const header = `Tracing ${analyses.map((a) => a.name).join(', ')}... Hit Ctrl-C to end.\n`;
    if (o.json) io.err(header);
    else io.out(header);
    const stats = await running;
    finishRun(engine, stats, o, io);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    process.stdout.off('error', onPipeError);
  }
  return 0;
}

export async function runDump(
  file: string | undefined,
  raw: GlobalOptions & { live?: boolean; event?: string[]; count?: string; duration?: string; buffer?: string },
  io: Output,
): Promise<number> {
  let limit = Number.POSITIVE_INFINITY;
  if (raw.count !== undefined) {
    if (!/^\d+$/.test(raw.count) || Number(raw.count) <= 0)
      throw new UsageError(`--count: '${raw.count}' is not a positive integer`);
    limit = Number(raw.count);
  }
  const wanted = raw.event ?? [];
  for (const e of wanted)
    if (!/^([a-z0-9_]+:)?[a-z0-9_]+$/.test(e)) throw new UsageError(`--event: bad event name '${e}'`);
  let source: TraceSource;
  let live: LiveSource | undefined;
  if (raw.live) {
    if (file !== undefined) throw new UsageError('give either FILE or --live, not both');
    if (wanted.length === 0) throw new UsageError('--live needs the events to record (-e system:name, repeatable)');
    const paths = pathsOf(raw);
    ensureTracefs(paths);
    const has = kernelHas(paths);
    for (const e of wanted)
      if (!e.includes(':') || !has(e)) throw new SetupError(`this kernel has no tracepoint ${e} (use system:name)`);
    live = LiveSource.open({ paths, events: wanted });
    source = live;
  } else {
    if (file === undefined) throw new UsageError('dump needs a FILE (trace.dat or CTF directory) or --live');
    const progress = progressReporter(`reading ${file}`, false);
    source = await openTraceFile(file, { buffer: raw.buffer, onProgress: progress.update });
  }
  const ids = new Set<number>();
  for (const e of wanted) {
    const f = source.schema.find(e);
    if (f === undefined && !raw.live) throw new SetupError(`${file} has no event ${e}`);
    if (f !== undefined) ids.add(f.id);
  }
  let fmt: RecordFormatter | undefined;
  let printed = 0;
  const sink: RecordSink = {
    record(r) {
      if (printed >= limit) return;
      if (ids.size > 0 && !ids.has(r.id)) return;
      if (source.kind === 'ctf') io.out(`${formatCtfRecord(source as CtfSource, r)}\n`);
      else {
        fmt ??= new RecordFormatter(source.schema, {
          origin: source.originNs,
          clock: source.clock,
          comm: (tid) => source.comm(tid),
          symbols: source.symbols,
        });
        io.out(`${fmt.formatLine(r)}\n`);
      }
      if (++printed >= limit) source.stop();
    },
    lost(cpu, count) {
      io.out(`CPU:${cpu} [${count < 0 ? 'UNKNOWN' : count} EVENTS DROPPED]\n`);
    },
  };
  let timer: NodeJS.Timeout | undefined;
  if (live !== undefined) {
    const d = parseDuration(raw.duration ?? '1s');
    if (typeof d === 'string') throw new UsageError(`--duration: ${d}`);
    timer = setTimeout(() => live?.stop(), d / 1e6);
  }
  const stop = () => source.stop();
  process.on('SIGINT', stop);
  try {
    await source.run(sink);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    process.off('SIGINT', stop);
  }
  return 0;
}
