/**
 * `live`, `analyze` and `dump`: option checking, opening the source, running, exit codes.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CGROUP_EVENTS } from '../analyses/cgroups.ts';
import { COMM_EVENTS } from '../analyses/comm-events.ts';
import { Engine } from '../analyses/engine.ts';
import { ANALYSES } from '../analyses/index.ts';
import { Profiles } from '../analyses/profiles.ts';
import type { Analysis } from '../analyses/types.ts';
import { parseTaskStateMask } from '../ftrace/format.ts';
import { RecordFormatter } from '../ftrace/report.ts';
import type { Profile } from '../histogram/profile.ts';
import { type Paths, resolvePaths } from '../paths.ts';
import { jsonLine } from '../sinks/json.ts';
import { WorstOutliers } from '../sinks/report.ts';
import { Cgroupfs } from '../sources/cgroupfs.ts';
import { type CtfSource, formatRecord as formatCtfRecord, openCtfTrace } from '../sources/ctf/index.ts';
import { SetupError, systemErrorText } from '../sources/errors.ts';
import { describeNonTrace } from '../sources/sniff.ts';
import { openTraceDat } from '../sources/tracedat/index.ts';
import { commFilter, tidFilter } from '../sources/tracefs/filters.ts';
import { mountTracefs } from '../sources/tracefs/mount.ts';
import { LiveSource } from '../sources/tracefs/source.ts';
import type { RecordSink, TraceSource } from '../sources/types.ts';
import { parseDuration } from './duration.ts';
import {
  ForwardingObserver,
  flightSummary,
  openFlightRecorder,
  parseFlightOptions,
  prepareFlightDir,
  type RawFlightOptions,
} from './flight.ts';
import { kernelHas, resolveLiveEvent } from './list.ts';
import { parseRunOptions, type RawOptions, type RunOptions, UsageError } from './options.ts';
import { formatInterval, intervalRecords, runProfile, writeProfile } from './profiles.ts';
import { packageVersion, reportTemplate, writeReport } from './report.ts';
import { createEngine, finishRun, type Output, onOutputError } from './run.ts';
import { openRunStore, type RunStore } from './run-store.ts';
import { onStopSignals } from './signals.ts';
import { parseStoreOptions, type RawStoreOptions } from './store-options.ts';

export interface GlobalOptions {
  tracefs?: string;
  procfs?: string;
  cgroupfs?: string;
}

export function pathsOf(g: GlobalOptions): Paths {
  return resolvePaths({ tracefs: g.tracefs, procfs: g.procfs, cgroupfs: g.cgroupfs });
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

/**
 * Opens a trace file (trace.dat) or trace directory (LTTng CTF, or a directory holding a `trace.dat`, as
 * `trace-cmd record` leaves one). A file that is something else (ftrace or `trace-cmd report` text, systrace HTML,
 * a compressed file, ...) is named in one sentence with what to do instead.
 */
export async function openTraceFile(
  path: string,
  opts: { buffer?: string; onProgress?(done: number, total: number): void },
): Promise<TraceSource> {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch (e) {
    throw new SetupError(`cannot open ${path}: ${systemErrorText(e)}`);
  }
  let file = path;
  if (st.isDirectory()) {
    const inside = join(path, 'trace.dat');
    if (existsSync(join(path, 'metadata')) || !existsSync(inside) || !statSync(inside).isFile()) {
      return openCtfTrace(path);
    }
    file = inside;
  }
  const what = describeNonTrace(file, readHead(file, 64 * 1024));
  if (what !== undefined) throw new SetupError(what);
  return openTraceDat(file, { buffer: opts.buffer, onProgress: opts.onProgress });
}

/** The first `n` bytes of a file (fewer when it is shorter). */
function readHead(path: string, n: number): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new SetupError(`cannot open ${path}: ${systemErrorText(e)}`);
  }
  try {
    const buf = new Uint8Array(n);
    const got = readSync(fd, buf, 0, n, 0);
    return buf.subarray(0, got);
  } catch (e) {
    throw new SetupError(`cannot read ${path}: ${systemErrorText(e)}`);
  } finally {
    closeSync(fd);
  }
}

/** Splits the requested analyses into runnable ones, refusing named ones the source cannot serve. */
export function runnable(o: RunOptions, named: boolean, has: (e: string) => boolean, where: string): Analysis[] {
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
  raw: RawOptions & GlobalOptions & { buffer?: string; profileOut?: string; report?: string },
  io: Output,
): Promise<number> {
  const o = parseRunOptions(names, raw);
  if (o.cgroup !== undefined) {
    throw new UsageError('--cgroup: trace files do not record cgroups (their outliers say cgroup null); use it live');
  }
  // The report page is read before the trace: a missing build fails at once.
  const template = raw.report === undefined ? undefined : reportTemplate();
  const progress = progressReporter(`reading ${file}`, !o.json);
  const source = await openTraceFile(file, { buffer: raw.buffer, onProgress: progress.update });
  const has = (e: string) => source.schema.find(e) !== undefined;
  const analyses = runnable(o, names.length > 0, has, file);
  const worst = template === undefined ? undefined : new WorstOutliers();
  const engine = createEngine(
    source,
    o,
    io,
    analyses,
    worst === undefined ? {} : { profiles: new Profiles(o.groupBy, o.groupLimit, undefined, { timeline: true }) },
    worst === undefined ? undefined : (r) => worst.add(r),
  );
  if (!o.json) {
    const header = `Analyzing ${file} (${source.cpus} CPU${source.cpus === 1 ? '' : 's'}): ${analyses.map((a) => a.name).join(', ')}.\n`;
    // With --folded, stdout carries only the folded lines (for flamegraph.pl).
    if (o.folded) io.err(header);
    else io.out(header);
  }
  const offOutput = onOutputError(() => source.stop());
  const stats = await source.run(engine).finally(offOutput);
  progress.end();
  finishRun(engine, stats, o, io);
  if (raw.profileOut !== undefined) writeProfile(raw.profileOut, runProfile(engine, file));
  if (raw.report !== undefined && template !== undefined && worst !== undefined) {
    const kind = source.kind === 'ctf' ? 'LTTng CTF trace' : 'trace.dat file';
    const meta = { title: file, source: kind, tool: `latency-tracker ${packageVersion()}`, generatedMs: Date.now() };
    const size = writeReport(raw.report, template, engine, stats, meta, worst);
    io.err(`latency-tracker: wrote the report ${raw.report} (${(size / 1024).toFixed(0)} KiB)\n`);
  }
  return 0;
}

/** A trace's profile for `compare`: every analysis it supports, every pair, no outlier output. */
export async function profileOfTrace(path: string, groupBy: string | undefined): Promise<Profile> {
  const source = await openTraceFile(path, {});
  const has = (e: string) => source.schema.find(e) !== undefined;
  const analyses = ANALYSES.filter((a) => typeof a.events(has) !== 'string');
  if (analyses.length === 0) throw new SetupError(`${path} has none of the events any analysis needs`);
  const settings = Object.fromEntries(analyses.map((a) => [a.name, { threshold: 30 * 24 * 3600e9 }]));
  const engine = new Engine(source, analyses, { settings, groupBy }, () => {});
  await source.run(engine);
  return runProfile(engine, path);
}

/** Threads of the given processes (`/proc/PID/task`), plus the ids themselves (they may be thread ids). */
export function expandPids(paths: Paths, pids: number[]): number[] {
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
export function liveFilters(analyses: Analysis[], tids: number[], comm: string | undefined): Map<string, string> {
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

/** Root and a mounted tracefs, or one clear sentence. */
export function ensureTracefs(paths: Paths): void {
  if (process.getuid?.() !== 0) {
    throw new SetupError(
      'latency-tracker needs root to trace the kernel (it creates a private tracefs instance): run it with sudo.',
    );
  }
  mountTracefs(paths.tracefs);
}

/**
 * The events a live run enables for `analyses`: theirs, the rare comm-naming ones, and `sched_switch` with the
 * stack trigger's task-state bits when stacks are wanted (shared by `live` and `serve`).
 */
export function liveEvents(
  paths: Paths,
  analyses: readonly Analysis[],
  has: (e: string) => boolean,
  stacks: boolean,
  cgroups = false,
): { events: string[]; stackBits: number | undefined } {
  const events = [...new Set(analyses.flatMap((a) => a.events(has) as string[]))];
  // Rare events that name new threads, so short-lived processes keep their names after they exit.
  for (const e of COMM_EVENTS) if (has(e) && !events.includes(e)) events.push(e);
  // Rare events that keep threads' cgroups current (moves, forks, exits).
  if (cgroups) for (const e of CGROUP_EVENTS) if (has(e) && !events.includes(e)) events.push(e);
  let stackBits: number | undefined;
  if (stacks && analyses.some((a) => a.usesStacks) && has('sched:sched_switch')) {
    const f = readFileSync(join(paths.tracefs, 'events/sched/sched_switch/format'), 'utf8');
    const m = parseTaskStateMask(/^print fmt: (.*)$/m.exec(f)?.[1] ?? '');
    stackBits = 0;
    for (const [v, l] of m.letters) if (l === 'S' || l === 'D') stackBits |= v;
    if (stackBits === 0) stackBits = 3;
    if (!events.includes('sched:sched_switch')) events.push('sched:sched_switch');
  }
  return { events, stackBits };
}

export async function runLive(
  names: string[],
  raw: RawOptions & GlobalOptions & RawStoreOptions & RawFlightOptions & { profileOut?: string; interval?: string },
  io: Output,
): Promise<number> {
  const o = parseRunOptions(names, raw);
  const storeOpts = parseStoreOptions(raw);
  const flightSettings = parseFlightOptions(raw);
  let interval: number | undefined;
  if (raw.interval !== undefined) {
    const d = parseDuration(raw.interval);
    if (typeof d === 'string') throw new UsageError(`--interval: ${d}`);
    if (d < 100e6) throw new UsageError(`--interval: at least 100ms, got '${raw.interval}'`);
    if (o.folded)
      throw new UsageError('--interval prints tables as it goes, --folded only stacks at the end: not both');
    interval = d;
  }
  const paths = pathsOf(raw);
  ensureTracefs(paths);
  const has = kernelHas(paths);
  const analyses = runnable(o, names.length > 0, has, 'this kernel');
  const cgroups = Cgroupfs.open(paths);
  if (o.cgroup !== undefined && cgroups === undefined) {
    throw new SetupError(`--cgroup: no cgroup hierarchy under ${paths.cgroupfs} (see --cgroupfs)`);
  }
  const { events, stackBits } = liveEvents(paths, analyses, has, o.stacks, cgroups !== undefined);
  const tids = o.pids.length > 0 ? expandPids(paths, o.pids) : [];
  if (flightSettings !== undefined) prepareFlightDir(flightSettings);
  // The store opens before tracing starts: a locked, corrupt or unwritable store ends the run with one line.
  const store: RunStore | undefined = storeOpts === undefined ? undefined : await openRunStore(storeOpts, io);
  let source: LiveSource;
  let engine: ReturnType<typeof createEngine>;
  const pages = flightSettings === undefined ? undefined : new ForwardingObserver();
  let flight: ReturnType<typeof openFlightRecorder> | undefined;
  try {
    source = LiveSource.open({
      paths,
      events,
      filters: liveFilters(analyses, tids, o.comm),
      stackBits,
      cgroups,
      pageObserver: pages,
    });
    try {
      if (flightSettings !== undefined && pages !== undefined) {
        flight = openFlightRecorder(flightSettings, source, paths, 'latency-tracker');
        pages.target = flight;
      }
      const fl = flight;
      const tee =
        fl === undefined
          ? store?.tee
          : (r: Parameters<NonNullable<RunStore['tee']>>[0]) => {
              fl.annotate(r);
              store?.tee(r);
            };
      engine = createEngine(
        source,
        { ...o, pids: tids },
        io,
        analyses,
        { commFilteredInKernel: o.comm !== undefined },
        tee,
      );
    } catch (e) {
      source.instance.remove();
      throw e;
    }
  } catch (e) {
    await store?.close(undefined);
    throw e;
  }
  const stop = () => source.stop();
  const offSignals = onStopSignals(stop, () => store?.pending ?? 0, io);
  const offOutput = onOutputError(stop);
  const timer = o.duration !== undefined ? setTimeout(stop, o.duration / 1e6) : undefined;
  // -i: every interval, the figures of the pairs that ended in it (like `runqlat 2`).
  let lastTick = process.hrtime.bigint();
  if (interval !== undefined) engine.profiles.trackIntervals();
  const ticker =
    interval === undefined
      ? undefined
      : setInterval(() => {
          const now = process.hrtime.bigint();
          const spanNs = Number(now - lastTick);
          lastTick = now;
          if (o.json) for (const rec of intervalRecords(engine, now, spanNs)) io.out(`${jsonLine(rec)}\n`);
          else io.out(formatInterval(engine, new Date().toTimeString().slice(0, 8), spanNs));
        }, interval / 1e6);
  let code = 0;
  try {
    // run() turns tracing on before it first yields: the header means "tracing now".
    const running = source.run(engine);
    store?.start(engine);
    const header = `Tracing ${analyses.map((a) => a.name).join(', ')}... Hit Ctrl-C to end.\n`;
    if (o.json || o.folded) io.err(header);
    else io.out(header);
    const stats = await running;
    finishRun(engine, stats, o, io);
    if (flight !== undefined) {
      await flight.flush();
      io.err(flightSummary(flight));
    }
    if (raw.profileOut !== undefined) writeProfile(raw.profileOut, runProfile(engine, 'live'));
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    if (ticker !== undefined) clearInterval(ticker);
    // Signals still only stop the (finished) source while the store flushes: everything buffered is written.
    if (store !== undefined) code = await store.close(engine);
    offSignals();
    offOutput();
  }
  return code;
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
  const wanted = [...(raw.event ?? [])];
  for (const e of wanted)
    if (!/^([a-z0-9_]+:)?[a-z0-9_]+$/.test(e)) throw new UsageError(`--event: bad event name '${e}'`);
  let source: TraceSource;
  let live: LiveSource | undefined;
  if (raw.live) {
    if (file !== undefined) throw new UsageError('give either FILE or --live, not both');
    if (wanted.length === 0) throw new UsageError('--live needs the events to record (-e system:name, repeatable)');
    const paths = pathsOf(raw);
    ensureTracefs(paths);
    for (let i = 0; i < wanted.length; i++) {
      const full = resolveLiveEvent(paths, wanted[i]);
      if (typeof full !== 'string') throw new SetupError(full.error);
      wanted[i] = full;
    }
    live = LiveSource.open({ paths, events: [...new Set(wanted)] });
    source = live;
  } else {
    if (file === undefined) throw new UsageError('dump needs a FILE (trace.dat or CTF directory) or --live');
    // No progress line: the records themselves go to the terminal.
    source = await openTraceFile(file, { buffer: raw.buffer });
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
  const offOutput = onOutputError(stop);
  try {
    await source.run(sink);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    process.off('SIGINT', stop);
    offOutput();
  }
  return 0;
}
