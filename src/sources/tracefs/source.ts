/**
 * The live kernel as a `TraceSource` (DESIGN §4): a private instance with only the requested events, each CPU's
 * `trace_pipe_raw` opened O_NONBLOCK and drained on a timer until EAGAIN (never a blocking read, never page by page
 * eagerly), sub-buffers merged across CPUs up to a watermark, losses counted per CPU.
 *
 * Time: the instance uses the `mono` clock, so `process.hrtime.bigint()` is on the same time line. The origin is
 * the monotonic time at `run()`; records carry ns since then. Each read cycle takes `now` before reading; every CPU
 * read to EAGAIN has delivered all it had before `now`, so records up to `now - slack` are released in order (an
 * idle CPU never stalls the merge). The slack covers events reserved before `now` but committed after the read.
 */
import { constants, readdirSync, readFileSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { parseEventFormat, parseHeaderPage } from '../../ftrace/format.ts';
import { Kallsyms } from '../../ftrace/kallsyms.ts';
import { CpuMerger, commonFieldsProblem } from '../../ftrace/merge.ts';
import { EventSchema } from '../../ftrace/schema.ts';
import type { EventFormat } from '../../ftrace/types.ts';
import type { Paths } from '../../paths.ts';
import type { Cgroupfs } from '../cgroupfs.ts';
import { SetupError, systemErrorText } from '../errors.ts';
import type { RecordSink, SourceStats, Symbolizer, TraceSource } from '../types.ts';
import { TracefsInstance, tracefsCpus } from './instance.ts';

export interface LiveOptions {
  paths: Paths;
  /** Events to enable (`system:name`). */
  events: readonly string[];
  /** Kernel-side filters per event (built by `filters.ts`). */
  filters?: ReadonlyMap<string, string>;
  /**
   * Capture kernel stacks: a `stacktrace if prev_state & BITS` trigger on `sched:sched_switch` (BITS = the S and D
   * task-state bits). `ftrace:kernel_stack` records then follow each blocking switch-out.
   */
  stackBits?: number;
  /** Sub-buffer size, KiB (default 16: a quarter of the reads of 4 KiB pages). */
  subbufKb?: number;
  /** Ring buffer per CPU, KiB (default `DEFAULT_BUFFER_KB`, 32 MiB). */
  bufferKb?: number;
  /** Read cycle period, ms (default 100). */
  intervalMs?: number;
  /** Exclude this process's threads from the trace (`set_event_notrace_pid`); default true. */
  excludeSelf?: boolean;
  /** Merge pool per CPU, in sub-buffers (default: enough for one buffer's worth). */
  maxPagesPerCpu?: number;
  /**
   * One line about the run that is not an error: our instance's tracing switched off by another process (checked
   * every read cycle), and back on. Default: stderr.
   */
  warn?: (message: string) => void;
  /** Instance name (tests); default `latency-tracker-<pid>[-<pid ns inode>]` (`defaultInstanceName`). */
  instanceName?: string;
  /**
   * The machine's cgroups: the source offers them to the engine (`TraceSource.cgroups`), and the cgroup move events
   * among `events` are filtered in the kernel to the hierarchies that matter (`dst_root`).
   */
  cgroups?: Cgroupfs;
  /** Sees every sub-buffer as it is read (`record`, the flight recorder). */
  pageObserver?: PageObserver;
}

/**
 * Sees the raw sub-buffers as the live source reads them, before they are merged. Called on the read loop: must be
 * quick, must not throw, and must copy what it keeps (`bytes` is the merger's pool, reused after the merge).
 */
export interface PageObserver {
  /** `length` bytes of one sub-buffer of `cpu` at `bytes[offset]`, valid during the call only. */
  page(cpu: number, bytes: Uint8Array, offset: number, length: number): void;
  /**
   * After each read cycle: every event the kernel recorded before `upTo` (absolute trace time, ns) has been passed
   * to `page` (the cycle's start less the merge slack; `final` on the last cycle, after tracing stopped).
   */
  cycle?(upTo: bigint, final: boolean): void;
}

/**
 * Ring buffer per CPU: about two seconds of a burst of 700 k events/s on one CPU (~50 bytes an event). On a busy
 * 2-CPU machine the reader competes with everything else for the CPU; 8 MiB lost events when it was kept off a CPU
 * for half a second (`npm run bench:overhead`, MariaDB plus other work). Allocating it is quick (~15 ms).
 */
export const DEFAULT_BUFFER_KB = 32768;
/** Kernel memory the default buffers may take in all: many-CPU machines get smaller per-CPU buffers (at least 8 MiB). */
const DEFAULT_TOTAL_KB = 512 * 1024;

/** The default per-CPU ring buffer for a machine with `cpus` CPUs. */
export function defaultBufferKb(cpus: number): number {
  return Math.max(8192, Math.min(DEFAULT_BUFFER_KB, Math.floor(DEFAULT_TOTAL_KB / Math.max(1, cpus) / 1024) * 1024));
}
/** Merge pool per CPU: 8 MiB of sub-buffers. A bigger backlog is read in several steps (one pool per cycle). */
const POOL_BYTES = 8 << 20;
/** Records with timestamps up to this far before the read cycle's start are released (see the module comment). */
const SLACK_NS = 5_000_000;
const CACHE_MAX = 8192;

/** CPUs of the traced kernel, or 1 when tracefs is not mounted yet (the instance creation mounts it). */
function tracefsCpusOrOne(paths: Paths): number {
  try {
    return tracefsCpus(paths);
  } catch {
    return 1;
  }
}

function archName(): string {
  switch (process.arch) {
    case 'x64':
      return 'x86_64';
    case 'arm64':
      return 'aarch64';
    case 'ia32':
      return 'i386';
    default:
      return process.arch;
  }
}

export class LiveSource implements TraceSource {
  readonly kind = 'tracefs' as const;
  readonly clock = 'mono';
  readonly arch = archName();
  readonly schema: EventSchema;
  readonly cpus: number;
  originNs = 0n;
  /** Unix time minus the mono clock, taken when tracing starts. */
  unixOffsetNs: bigint | undefined = undefined;
  readonly instance: TracefsInstance;
  private readonly pageSize: number;
  private readonly layout;
  private running = false;
  private stopping = false;
  private wake: (() => void) | undefined;
  private readonly commCache = new Map<number, string | undefined>();
  private readonly tgidCache = new Map<number, number | undefined>();
  private kallsyms: Kallsyms | undefined;
  readonly cgroups: Cgroupfs | undefined;

  private constructor(
    private readonly opts: LiveOptions,
    inst: TracefsInstance,
    schema: EventSchema,
    layout: ReturnType<typeof parseHeaderPage>,
  ) {
    this.instance = inst;
    this.schema = schema;
    this.cpus = inst.cpus;
    this.pageSize = layout.pageSize;
    this.layout = layout;
    this.cgroups = opts.cgroups;
  }

  /**
   * Creates the instance, reads the formats of the requested events from it, enables them with their filters and
   * the stack trigger. Tracing starts with `run()`. Throws `SetupError` (one sentence, exit code 2).
   */
  static open(opts: LiveOptions): LiveSource {
    const bufferKb = opts.bufferKb ?? defaultBufferKb(tracefsCpusOrOne(opts.paths));
    opts = { ...opts, bufferKb };
    const inst = TracefsInstance.create({
      paths: opts.paths,
      name: opts.instanceName,
      subbufKb: opts.subbufKb ?? 16,
      bufferKb,
    });
    try {
      const le = endianness() === 'LE';
      const header = inst.readOptional('events/header_page');
      if (header === undefined) throw new SetupError('tracefs has no events/header_page: cannot decode its buffers');
      const layout = parseHeaderPage(header, { littleEndian: le, source: 'events/header_page' });
      if (layout.pageSize !== inst.pageSize) layout.pageSize = inst.pageSize;
      const longSize = layout.commitSize === 4 ? 4 : 8;
      const wanted = [...new Set(opts.events)];
      if (opts.stackBits !== undefined) wanted.push('ftrace:kernel_stack');
      const formats: EventFormat[] = [];
      for (const ev of wanted) {
        const [sys, name] = ev.split(':');
        const text = inst.readOptional(join('events', sys ?? '', name ?? '', 'format'));
        if (text === undefined) throw new SetupError(`this kernel has no tracepoint ${ev}`);
        const f = parseEventFormat(text, sys, { longSize, source: `events/${sys}/${name}/format` });
        const problem = commonFieldsProblem(f);
        if (problem !== undefined) throw new SetupError(`cannot decode ${ev} on this kernel: ${problem}`);
        formats.push(f);
      }
      const schema = new EventSchema(formats, longSize, le);
      for (const ev of opts.events) inst.enableEvent(ev);
      for (const [ev, expr] of opts.filters ?? []) inst.setFilter(ev, expr);
      const cg = opts.cgroups;
      if (cg !== undefined) {
        // Moves in other v1 hierarchies (devices, freezer, ...) are of no use: the kernel drops them.
        const roots = [...new Set([cg.pathHierarchy, cg.cpuHierarchy].filter((h) => h !== undefined && h >= 0))];
        for (const ev of ['cgroup:cgroup_attach_task', 'cgroup:cgroup_transfer_tasks']) {
          if (opts.events.includes(ev) && roots.length > 0) {
            inst.setFilter(ev, roots.map((h) => `dst_root == ${Math.floor(Number(h))}`).join(' || '));
          }
        }
      }
      if (opts.stackBits !== undefined) {
        const bits = opts.stackBits;
        if (!Number.isInteger(bits) || bits <= 0 || bits > 0xffff) throw new SetupError(`bad task-state bits ${bits}`);
        inst.setTrigger('sched:sched_switch', `stacktrace if prev_state & ${bits}`);
      }
      return new LiveSource(opts, inst, schema, layout);
    } catch (e) {
      inst.remove();
      throw e;
    }
  }

  comm(tid: number): string | undefined {
    if (this.commCache.has(tid)) return this.commCache.get(tid);
    let c: string | undefined;
    try {
      c = readFileSync(join(this.opts.paths.procfs, String(tid), 'comm'), 'utf8').trim();
    } catch {
      c = undefined;
    }
    if (this.commCache.size >= CACHE_MAX) this.commCache.clear();
    this.commCache.set(tid, c);
    return c;
  }

  tgid(tid: number): number | undefined {
    if (this.tgidCache.has(tid)) return this.tgidCache.get(tid);
    let g: number | undefined;
    try {
      const m = /^Tgid:\s*(\d+)/m.exec(readFileSync(join(this.opts.paths.procfs, String(tid), 'status'), 'utf8'));
      g = m === null ? undefined : Number(m[1]);
    } catch {
      g = undefined;
    }
    if (this.tgidCache.size >= CACHE_MAX) this.tgidCache.clear();
    this.tgidCache.set(tid, g);
    return g;
  }

  get symbols(): Symbolizer | undefined {
    if (this.kallsyms === undefined) {
      try {
        this.kallsyms = Kallsyms.parse(readFileSync(join(this.opts.paths.procfs, 'kallsyms'), 'utf8'));
      } catch {
        return undefined;
      }
    }
    return this.kallsyms;
  }

  /** Thread ids of this process (for `set_event_notrace_pid`). */
  private ownTids(): number[] {
    try {
      return readdirSync(join(this.opts.paths.procfs, 'self', 'task'))
        .map(Number)
        .filter((n) => Number.isInteger(n) && n > 0);
    } catch {
      return [process.pid];
    }
  }

  /**
   * Run-time change of what the kernel records (an analysis switched off or on): enables `events` and disables the
   * other events given to `open`; `stacks` false removes the stack trigger (true puts it back). Only events given to
   * `open` can be named (their formats are known); anything else throws `SetupError`. Synchronous tracefs writes.
   */
  setRecording(events: readonly string[], stacks: boolean): void {
    const all = new Set(this.opts.events);
    for (const e of events) if (!all.has(e)) throw new SetupError(`event ${e} was not opened by this source`);
    const want = new Set(events);
    for (const e of all) {
      const on = this.instance.events.includes(e);
      if (want.has(e) && !on) this.instance.enableEvent(e);
      else if (!want.has(e) && on) this.instance.disableEvent(e);
    }
    const bits = this.opts.stackBits;
    if (bits !== undefined && stacks !== this.stacksOn) {
      const trigger = `stacktrace if prev_state & ${bits}`;
      if (stacks) this.instance.setTrigger('sched:sched_switch', trigger);
      else this.instance.removeTrigger('sched:sched_switch', trigger);
      this.stacksOn = stacks;
    }
  }

  private stacksOn = true;
  /** Trace time (ns since the origin) our instance's tracing was found off, or -1. */
  private offSince = -1;

  private checkTracingOn(now: number): void {
    const on = this.instance.tracingOn();
    if (on === undefined || on === this.offSince < 0) return;
    const warn = this.opts.warn ?? ((m: string) => process.stderr.write(`latency-tracker: ${m}\n`));
    const where = `${this.instance.dir}/tracing_on`;
    if (!on) {
      this.offSince = now;
      warn(`another process switched tracing off (${where} is 0): no events are recorded while it stays off`);
    } else {
      warn(`tracing is on again (${where}) after ${((now - this.offSince) / 1e9).toFixed(1)} s off`);
      this.offSince = -1;
    }
  }

  stop(): void {
    this.stopping = true;
    this.wake?.();
  }

  async run(sink: RecordSink): Promise<SourceStats> {
    if (this.running) throw new Error('LiveSource.run() called twice');
    this.running = true;
    const inst = this.instance;
    const cpus = this.cpus;
    const pageSize = this.pageSize;
    const interval = this.opts.intervalMs ?? 100;
    const bufferBytes = (this.opts.bufferKb ?? DEFAULT_BUFFER_KB) * 1024;
    const maxPages = this.opts.maxPagesPerCpu ?? Math.max(64, Math.ceil(Math.min(bufferBytes, POOL_BYTES) / pageSize));
    const poolBytes = maxPages * pageSize;
    const fds: number[] = [];
    const lostStats = new Array<number>(cpus).fill(0);
    const stats: SourceStats = { records: 0, lostPerCpu: new Array(cpus).fill(0), lossReports: 0, errors: {} };
    const observer = this.opts.pageObserver;
    try {
      for (let c = 0; c < cpus; c++) {
        fds.push(inst.openCpuFile(c, 'trace_pipe_raw', constants.O_RDONLY | constants.O_NONBLOCK));
      }
      let ownTids = this.ownTids();
      if (this.opts.excludeSelf !== false) inst.setNotracePids(ownTids);
      this.originNs = process.hrtime.bigint();
      this.unixOffsetNs = BigInt(Date.now()) * 1_000_000n - this.originNs;
      this.cgroups?.setOrigin(this.originNs);
      const merger = new CpuMerger({
        cpus,
        layout: this.layout,
        schema: this.schema,
        origin: this.originNs,
        maxPagesPerCpu: maxPages,
      });
      const drained = new Uint8Array(cpus);
      const baseline = Array.from({ length: cpus }, (_, c) => inst.cpuStats(c));
      inst.start();
      let lastStatsCheck = 0;
      for (;;) {
        const final = this.stopping;
        if (final) inst.stop();
        const now = Number(process.hrtime.bigint() - this.originNs);
        // Before reading: every record this cycle releases is earlier than `now` (cgroup counters sampled here).
        if (!final) sink.cycle?.(now);
        let more = false;
        let soon = false;
        for (let c = 0; c < cpus; c++) {
          drained[c] = 0;
          let pages = 0;
          for (;;) {
            // Read the sub-buffer straight into the merger's next free slot: no copy.
            const at = merger.slotFor(c);
            if (at < 0) {
              // This CPU's merge pool is full: read the rest next cycle.
              more = true;
              break;
            }
            let n: number;
            try {
              n = readSync(fds[c], merger.poolOf(c), at, pageSize, null);
            } catch (e) {
              const code = (e as NodeJS.ErrnoException).code;
              if (code === 'EAGAIN' || code === 'EWOULDBLOCK') drained[c] = 1;
              else throw new SetupError(`reading cpu${c}/trace_pipe_raw failed (${systemErrorText(e)})`);
              break;
            }
            if (n <= 0) {
              drained[c] = 1;
              break;
            }
            merger.addPageInPlace(c, n);
            observer?.page(c, merger.poolOf(c), at, n);
            pages++;
          }
          // A quarter of the pool (or of the ring buffer) filled in one interval: come back sooner, before it overruns.
          if (pages * pageSize * 4 > Math.min(poolBytes, bufferBytes)) soon = true;
        }
        // Watermark: a CPU read to EAGAIN has nothing left before `now - slack`; a CPU cut short by a full pool
        // is complete only up to its last queued record.
        let limit = final ? Number.POSITIVE_INFINITY : now - SLACK_NS;
        if (!final)
          for (let c = 0; c < cpus; c++) if (drained[c] === 0 && merger.lastTs(c) < limit) limit = merger.lastTs(c);
        // Another process may write 0 to our tracing_on: nothing is recorded then, which must not look like calm.
        if (!final) this.checkTracingOn(now);
        merger.drain(sink, limit);
        observer?.cycle?.(this.originNs + BigInt(now - SLACK_NS), final);
        if (limit !== Number.POSITIVE_INFINITY && sink.tick !== undefined && Number.isFinite(limit)) sink.tick(limit);
        // Once a second: losses the page flags do not carry (dropped events, commit overruns), and new threads of ours.
        if (final || now - lastStatsCheck >= 1e9) {
          lastStatsCheck = now;
          for (let c = 0; c < cpus; c++) {
            const s = inst.cpuStats(c);
            const extra = s.dropped - baseline[c].dropped + (s.commitOverrun - baseline[c].commitOverrun);
            if (extra > lostStats[c]) {
              sink.lost?.(c, extra - lostStats[c], now);
              stats.lossReports++;
              lostStats[c] = extra;
            }
          }
          if (this.opts.excludeSelf !== false && !final) {
            const tids = this.ownTids();
            if (tids.length !== ownTids.length || tids.some((t, i) => t !== ownTids[i])) {
              ownTids = tids;
              inst.setNotracePids(tids);
            }
          }
        }
        if (final) {
          if (sink.tick !== undefined) sink.tick(Number(process.hrtime.bigint() - this.originNs));
          break;
        }
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, more ? 0 : soon ? Math.min(interval, 10) : interval);
          this.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wake = undefined;
      }
      const ms = merger.stats;
      stats.records = ms.records;
      for (let c = 0; c < cpus; c++) stats.lostPerCpu[c] = ms.lostPerCpu[c] + lostStats[c];
      stats.lossReports += ms.lossReports;
      Object.assign(stats.errors, ms.errors);
      return stats;
    } finally {
      for (const fd of fds) inst.closeFd(fd);
      inst.remove();
    }
  }
}
