/**
 * The engine: runs a set of analyses over one source's records. It compiles field readers, builds one dispatch
 * table (event id -> handlers), joins kernel stacks to the task that blocked, keeps comm names, advances timeouts,
 * reacts to lost events, records every matched pair into the profiles and turns outliers into output records.
 *
 * The record path (`record`) does: one array lookup by event id, the handlers, a timeout check. Nothing else.
 */
import { intReader, stringReader, u64Reader } from '../ftrace/fields.ts';
import { parseTaskStateMask } from '../ftrace/format.ts';
import type { EventSchema } from '../ftrace/schema.ts';
import { stackReader } from '../ftrace/stack.ts';
import type { TraceRecord } from '../ftrace/types.ts';
import { SetupError } from '../sources/errors.ts';
import type { RecordSink, TraceSource } from '../sources/types.ts';
import { createTracker, type LatencyEvent, type Tracker } from '../tracker/tracker.ts';
import { CgroupTable, cgroupLabel, cgroupObservers, type ThrottleWindow } from './cgroups.ts';
import { CommTable } from './comm.ts';
import { commObservers } from './comm-events.ts';
import type { ContainerInfo } from './container.ts';
import { Profiles } from './profiles.ts';
import { StackTable } from './stacks.ts';
import { GENERIC_SYSCALLS, X86_64_SYSCALLS } from './syscall-names.ts';
import type { Analysis, AnalysisContext, AnalysisRun, Detail, Outlier } from './types.ts';

export interface AnalysisSettings {
  threshold: number;
  timeout: number;
}

export interface EngineOptions {
  /** Per analysis name: threshold and timeout (ns). Missing: the analysis default threshold, no timeout. */
  settings?: Record<string, Partial<AnalysisSettings>>;
  /** Events in flight per analysis. */
  capacity?: number;
  /** Attach kernel stacks (the source must deliver `ftrace:kernel_stack` records after blocking switches). */
  stacks?: boolean;
  /** Only pairs of these threads (subject tid) are recorded and reported (`--pid`). Tid-less analyses ignore it. */
  tids?: ReadonlySet<number>;
  /** Only pairs of threads with this comm (`--comm`). */
  comm?: string;
  /** The source filtered events by comm already (live): threads whose name is unknown are kept. */
  commFilteredInKernel?: boolean;
  /** `--group-by` field: `comm`, `tid`, `cpu`, or an analysis's own (`syscall`, `irq`, `vec`, `dev`). */
  groupBy?: string;
  /** Distinct group values per analysis before the counted overflow group (default 256). */
  groupLimit?: number;
  /** Trace-time granularity of timeout checks on the record path, ns (default 1 ms). */
  timeoutGranularity?: number;
  /** Skip the profiles (histograms and windows): only for measuring what they cost (`npm run bench`). */
  noProfiles?: boolean;
  /** Where matched pairs are recorded (default: a new `Profiles` for `groupBy`). */
  profiles?: Profiles;
  /** `--cgroup`: only pairs of threads in this cgroup or below it (live; a trace file has no cgroups). */
  cgroup?: string;
  /** `--metrics-by cgroup`: per-cgroup histograms for /metrics, this many cgroups before `other` (default none). */
  cgroupMetrics?: number;
}

/** One outlier as the output contract has it (DESIGN §6): absolute times are exact bigints. */
export interface OutlierRecord {
  type: 'latency';
  analysis: string;
  reason: 'threshold' | 'timeout';
  start_ns: bigint;
  end_ns: bigint;
  latency_ns: number;
  cpu: number | null;
  tid: number | null;
  pid: number | null;
  comm: string | null;
  detail: Detail;
  stack?: string[];
  /** The thread's cgroup path (v2, else the v1 cpu controller's); null when unknown (always for trace files). */
  cgroup: string | null;
  /** The service, container and pod the cgroup path names (`container.ts`), or null. */
  container: ContainerInfo | null;
  /** CPU throttling of the cgroup's quota over a window covering the outlier (live, a quota applies). */
  throttle?: {
    cgroup: string;
    nr_throttled: number;
    throttled_ns: number;
    from_ns: bigint;
    to_ns: bigint;
  } | null;
  /** Pressure stall information of the cgroup at report time (`some avg10`, percent), v2 only. */
  pressure?: { cpu_some_avg10: number | null; io_some_avg10: number | null; memory_some_avg10: number | null };
  /** The flight recorder's trace.dat of this outlier's moment (`--flight-recorder`), when one is written. */
  trace_file?: string;
}

export type OutlierSink = (o: OutlierRecord) => void;

/** What the engine knows about one running analysis. */
export interface AnalysisState {
  readonly analysis: Analysis;
  readonly run: AnalysisRun;
  readonly tracker: Tracker<number>;
  readonly settings: AnalysisSettings;
  /** Events this analysis reads. */
  readonly events: string[];
  /** Outliers reported (threshold and timeout). */
  outliers: number;
  /** False while the analysis is switched off at run time (`Engine.setEnabled`): its handlers are not called. */
  enabled: boolean;
}

const KERNEL_STACK = 'ftrace:kernel_stack';
const MAX_STACK_FRAMES = 128;
/** Group labels cached per analysis before the cache starts over (tids come and go). */
const LABEL_CACHE = 4096;

/** Resolves the events each analysis needs on a source, or explains what is missing. */
export function resolveEvents(
  analyses: readonly Analysis[],
  has: (event: string) => boolean,
): { ok: Map<Analysis, string[]>; missing: Map<Analysis, string> } {
  const ok = new Map<Analysis, string[]>();
  const missing = new Map<Analysis, string>();
  for (const a of analyses) {
    const ev = a.events(has);
    if (typeof ev === 'string') missing.set(a, ev);
    else ok.set(a, ev);
  }
  return { ok, missing };
}

export class Engine implements RecordSink {
  readonly states: AnalysisState[] = [];
  readonly comms: CommTable;
  readonly stacks: StackTable | undefined;
  readonly profiles: Profiles;
  /** Threads' cgroups (live sources with cgroups), else undefined: outliers then say `cgroup: null`. */
  readonly cgroups: CgroupTable | undefined;
  /** Lost events per CPU, as reported by the source. */
  readonly lostPerCpu: number[] = [];
  /** Loss reports whose count the kernel did not give. */
  lostUnknown = 0;
  records = 0;
  /** Time of the record being handled. */
  private now = Number.NEGATIVE_INFINITY;
  /** One function per event id (a no-op for events nobody reads): compiled from `table` once. */
  private dispatch: ((r: TraceRecord) => void)[] = [];
  private readonly table: (((r: TraceRecord) => void)[] | undefined)[] = [];
  /** Owner of each handler in `table` (index in `states`, -1 for the engine's own: comm names, stacks). */
  private readonly owners: (number[] | undefined)[] = [];
  private readonly stackFrames = new Uint32Array(MAX_STACK_FRAMES * 2);
  private readonly stackUsers: AnalysisRun[] = [];
  private nextAdvance = Number.NEGATIVE_INFINITY;
  /** The record being dispatched (`AnalysisContext.endRecord`). */
  private current: TraceRecord | undefined;
  private readonly granularity: number;

  constructor(
    readonly source: TraceSource,
    analyses: readonly Analysis[],
    private readonly opts: EngineOptions,
    private readonly out: OutlierSink,
  ) {
    const schema = source.schema;
    const has = (e: string) => schema.find(e) !== undefined;
    this.granularity = opts.timeoutGranularity ?? 1_000_000;
    this.syscallTable = syscallTableOf(source.arch ?? 'x86_64');
    this.comms = new CommTable((tid) => source.comm(tid));
    const wantStacks = opts.stacks === true && has(KERNEL_STACK) && analyses.some((a) => a.usesStacks);
    this.stacks = wantStacks ? new StackTable() : undefined;
    this.profiles = opts.profiles ?? new Profiles(opts.groupBy, opts.groupLimit, opts.cgroupMetrics);
    this.cgroups = source.cgroups !== undefined ? new CgroupTable(source.cgroups, opts.cgroup) : undefined;
    const cg = this.cgroups;
    const cgroupMetrics = opts.cgroupMetrics !== undefined;
    const { ok, missing } = resolveEvents(analyses, has);
    if (missing.size > 0 && ok.size === 0) {
      const why = [...missing].map(([a, m]) => `${a.name} ${m}`).join('; ');
      throw new SetupError(`this ${source.kind} source has none of the events the analyses need (${why})`);
    }
    const psSwitch = schema.find('sched:sched_switch');
    const tsm = parseTaskStateMask(psSwitch?.printFmt ?? '');
    const taskState = { mask: tsm };
    const syscallName = this.syscallName;

    for (const a of analyses) {
      const events = ok.get(a);
      if (events === undefined) continue;
      const settings: AnalysisSettings = {
        threshold: opts.settings?.[a.name]?.threshold ?? a.defaultThreshold,
        timeout: opts.settings?.[a.name]?.timeout ?? 0,
      };
      const stateRef: { s?: AnalysisState } = {};
      const profileIndex = this.profiles.add(a.name);
      const labels = new Map<number, string>();
      const ctx: AnalysisContext = {
        has,
        int: (e, f) => intReader(fmt(schema, e), f, schema),
        u64: (e, f) => u64Reader(fmt(schema, e), f, schema),
        str: (e, f) => stringReader(fmt(schema, e), f, schema),
        hasField: (e, f) => schema.find(e)?.byName.has(f) === true,
        comms: this.comms,
        taskState,
        syscallName,
        tracker: <D>(onLatency: (e: LatencyEvent<D>) => void) =>
          createTracker<D>({
            name: a.name,
            capacity: opts.capacity ?? 65536,
            threshold: settings.threshold,
            timeout: settings.timeout,
            onLatency,
          }),
        pair:
          opts.noProfiles === true
            ? () => {}
            : opts.tids === undefined &&
                opts.comm === undefined &&
                opts.groupBy === undefined &&
                opts.cgroup === undefined &&
                !cgroupMetrics &&
                cg === undefined
              ? (latency) => this.profiles.record(profileIndex, latency, undefined, this.now)
              : (latency, tid, cpu, code) => {
                  // Every live pair knows its cgroup: a typed-array lookup (a /proc read once per new thread).
                  if (cg !== undefined && tid > 0) cg.touch(tid, this.now);
                  if (this.wants(tid)) {
                    this.profiles.record(profileIndex, latency, this.groupKey(a, labels, tid, cpu, code), this.now);
                    if (cgroupMetrics) this.profiles.recordCgroup(profileIndex, this.metricsLabel(tid), latency);
                  }
                },
        report: (o) => this.report(o, stateRef.s as AnalysisState),
        endRecord: (e) => (e.reason === 'threshold' ? this.current : undefined),
      };
      const run = a.setup(ctx);
      const st: AnalysisState = {
        analysis: a,
        run,
        tracker: run.tracker,
        settings,
        events,
        outliers: 0,
        enabled: true,
      };
      stateRef.s = st;
      this.states.push(st);
      for (const [event, fn] of run.handlers) this.on(schema, event, fn, this.states.length - 1);
      if (run.onStack !== undefined && this.stacks !== undefined) this.stackUsers.push(run);
    }
    // Thread names from every event of the source that names one.
    for (const [event, fn] of commObservers(schema, this.comms)) this.on(schema, event, fn);
    // Threads' cgroups kept current from moves, forks and exits (live).
    if (this.cgroups !== undefined)
      for (const [event, fn] of cgroupObservers(schema, this.cgroups)) this.on(schema, event, fn);
    if (this.stacks !== undefined) {
      const stacks = this.stacks;
      const frames = this.stackFrames;
      const users = this.stackUsers;
      const readStack = stackReader(fmt(schema, KERNEL_STACK), schema);
      this.on(schema, KERNEL_STACK, (r) => {
        const depth = readStack(r, frames);
        if (depth <= 0 || r.pid <= 0) return;
        const id = stacks.intern(frames, depth);
        if (id < 0) return;
        for (let i = 0; i < users.length; i++) users[i].onStack?.(r.pid, id);
      });
    }
    for (const [a, why] of missing) this.skipped.push(`${a.name}: ${why}`);
    this.dispatch = compileDispatch(this.table);
  }

  /** Analyses that could not run on this source, with the reason. */
  readonly skipped: string[] = [];

  /**
   * Name of a syscall number: the source's own numbering (CTF) first, else the table of the traced architecture
   * (x86_64 by default; the generic table for arm64), else `sys_<n>`.
   */
  readonly syscallName = (id: number): string => {
    const own = this.source.syscallName?.(id);
    if (own !== undefined) return own;
    return this.syscallTable?.[id] || `sys_${id}`;
  };
  private readonly syscallTable: readonly string[] | undefined;

  // ---------------------------------------------------------------------------------------------------------------
  // RecordSink

  record(r: TraceRecord): void {
    this.records++;
    const ts = r.ts;
    this.now = ts;
    this.current = r;
    if (ts >= this.nextAdvance) this.advance(ts);
    const id = r.id;
    if (id < this.dispatch.length) this.dispatch[id](r);
  }

  /** Largest record time seen (source-relative ns). */
  get lastTs(): number {
    return this.now;
  }

  lost(cpu: number, count: number, ts: number): void {
    while (this.lostPerCpu.length <= cpu) this.lostPerCpu.push(0);
    if (count >= 0) this.lostPerCpu[cpu] += count;
    else this.lostUnknown++;
    // In-flight pairs begun before the loss may have lost their end: drop them rather than report giant latencies.
    for (const s of this.states) s.tracker.discardBefore(ts);
  }

  cycle(ts: number): void {
    this.cgroups?.cycle(ts);
  }

  tick(ts: number): void {
    if (ts > this.now) this.now = ts;
    this.advance(ts);
  }

  /** Fires due timeouts and rotates profile windows to `ts`. */
  advance(ts: number): void {
    this.nextAdvance = ts + this.granularity;
    for (let i = 0; i < this.states.length; i++) this.states[i].tracker.advance(ts);
    this.profiles.advance(ts);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Run-time control (the daemon's `PUT /api/analyses/{name}`). Not on the record path; call between records.

  /** The state of a running analysis, or undefined when it does not run on this source. */
  state(name: string): AnalysisState | undefined {
    return this.states.find((s) => s.analysis.name === name);
  }

  /** Changes an analysis's threshold (ns): from the next pair on, to pairs in flight too. Throws on a bad value. */
  setThreshold(name: string, ns: number): void {
    const st = this.mustState(name);
    st.tracker.setThreshold(ns);
    st.settings.threshold = ns;
  }

  /** Changes an analysis's timeout (ns, 0 = none). Throws on a bad value. */
  setTimeout(name: string, ns: number): void {
    const st = this.mustState(name);
    st.tracker.setTimeout(ns);
    st.settings.timeout = ns;
  }

  /**
   * Switches an analysis's handlers on or off. Off, its events in flight are discarded (counted by its tracker as
   * `discarded`): a begin seen before and an end seen after a pause must not pair into a false latency.
   */
  setEnabled(name: string, on: boolean): void {
    const st = this.mustState(name);
    if (st.enabled === on) return;
    st.enabled = on;
    st.tracker.discardBefore(Number.POSITIVE_INFINITY);
    this.dispatch = compileDispatch(this.enabledTable());
  }

  /** Events the enabled analyses read. */
  get enabledEvents(): string[] {
    return [...new Set(this.states.filter((s) => s.enabled).flatMap((s) => s.events))];
  }

  private mustState(name: string): AnalysisState {
    const st = this.state(name);
    if (st === undefined) throw new Error(`analysis ${name} does not run on this source`);
    return st;
  }

  /** `table` without the handlers of disabled analyses. */
  private enabledTable(): (((r: TraceRecord) => void)[] | undefined)[] {
    return this.table.map((hs, id) => {
      const own = this.owners[id];
      if (hs === undefined || own === undefined) return hs;
      return hs.filter((_, k) => own[k] < 0 || this.states[own[k]].enabled);
    });
  }

  // ---------------------------------------------------------------------------------------------------------------

  /** Absolute time of a source-relative ns value (exact). */
  absolute(ts: number): bigint {
    return this.source.originNs + BigInt(Math.round(ts));
  }

  /** Symbolized frames of a stack id, skipping the tracing machinery at the top. */
  stackLines(id: number): string[] {
    const st = this.stacks;
    const sym = this.source.symbols;
    if (st === undefined || id < 0) return [];
    const out: string[] = [];
    const p = { hi: 0, lo: 0 };
    const depth = st.depth(id);
    for (let i = 0; i < depth; i++) {
      st.frame(id, i, p);
      const s =
        sym !== undefined
          ? sym.format(p.hi, p.lo)
          : `0x${p.hi.toString(16).padStart(8, '0')}${p.lo.toString(16).padStart(8, '0')}`;
      if (out.length === 0 && isTracingFrame(s)) continue;
      out.push(s);
    }
    return out;
  }

  private on(schema: EventSchema, event: string, fn: (r: TraceRecord) => void, owner = -1): void {
    const f = schema.find(event);
    if (f === undefined) return;
    let hs = this.table[f.id];
    if (hs === undefined) {
      hs = [];
      this.table[f.id] = hs;
      this.owners[f.id] = [];
    }
    hs.push(fn);
    this.owners[f.id]?.push(owner);
  }

  private wants(tid: number): boolean {
    const o = this.opts;
    if (o.tids !== undefined && tid >= 0 && !o.tids.has(tid)) return false;
    if (o.comm !== undefined && tid >= 0) {
      const c = this.comms.get(tid);
      // Live, the kernel already filtered by comm: a thread whose name is gone (it exited) still passes.
      if (c === undefined ? o.commFilteredInKernel !== true : c !== o.comm) return false;
    }
    if (o.cgroup !== undefined) {
      const cg = this.cgroups;
      if (cg === undefined || !cg.matches(cg.idOf(tid))) return false;
    }
    return true;
  }

  /**
   * The group of a pair under `--group-by`. Labels made from numbers (tid, cpu, syscall/irq/vec/dev code) are kept in
   * the analysis's `labels` cache, so a pair allocates no string; comm names come from the comm table.
   */
  private groupKey(
    a: Analysis,
    labels: Map<number, string>,
    tid: number,
    cpu: number,
    code: number,
  ): string | undefined {
    const g = this.opts.groupBy;
    if (g === undefined) return undefined;
    if (g === 'comm') return tid >= 0 ? (this.comms.get(tid) ?? `<${tid}>`) : '-';
    if (g === 'cgroup' || g === 'container' || g === 'unit') {
      return this.cgroups === undefined ? '-' : cgroupLabel(this.cgroups, g, this.cgroups.idOf(tid));
    }
    const n = g === 'tid' ? tid : g === 'cpu' ? cpu : code;
    let label = labels.get(n);
    if (label === undefined) {
      if (g === 'tid') label = tid >= 0 ? String(tid) : '-';
      else if (g === 'cpu') label = String(cpu);
      else
        label =
          a.groupField !== undefined && a.groupField.name === g ? a.groupField.label(code, this.syscallName) : '-';
      if (labels.size >= LABEL_CACHE) labels.clear();
      labels.set(n, label);
    }
    return label;
  }

  /** The `cgroup` label of a pair in /metrics: the path, or `unknown` (no thread, or not resolved). */
  private metricsLabel(tid: number): string {
    const cg = this.cgroups;
    return (cg !== undefined && tid > 0 ? cg.path(cg.idOf(tid)) : null) ?? 'unknown';
  }

  private report(o: Outlier, st: AnalysisState): void {
    if (!this.wants(o.tid)) return;
    st.outliers++;
    const comm = o.tid >= 0 ? (this.comms.get(o.tid) ?? null) : null;
    const rec: OutlierRecord = {
      type: 'latency',
      analysis: o.analysis,
      reason: o.reason,
      start_ns: this.absolute(o.start),
      end_ns: this.absolute(o.end),
      latency_ns: o.latency,
      cpu: o.cpu >= 0 ? o.cpu : null,
      tid: o.tid >= 0 ? o.tid : null,
      pid: o.tid >= 0 ? (this.source.tgid?.(o.tid) ?? null) : null,
      comm,
      detail: o.detail,
      cgroup: null,
      container: null,
    };
    if (o.stack >= 0) rec.stack = this.stackLines(o.stack);
    const cg = this.cgroups;
    if (cg !== undefined && o.tid > 0) this.addCgroup(rec, cg, o);
    this.out(rec);
  }

  /** Cgroup, container, throttling over the outlier and pressure now (report time: reads files, cached). */
  private addCgroup(rec: OutlierRecord, cg: CgroupTable, o: Outlier): void {
    const id = cg.idOf(o.tid);
    rec.cgroup = cg.path(id);
    rec.container = cg.container(id);
    const t: ThrottleWindow | null | undefined = cg.throttle(cg.cpuIdOf(o.tid), o.start, o.end);
    if (t !== undefined) {
      rec.throttle =
        t === null
          ? null
          : {
              cgroup: t.cgroup,
              nr_throttled: t.nr_throttled,
              throttled_ns: t.throttled_ns,
              from_ns: this.absolute(t.from),
              to_ns: this.absolute(t.to),
            };
    }
    const p = cg.pressure(id);
    if (p !== null) rec.pressure = { cpu_some_avg10: p.cpu, io_some_avg10: p.io, memory_some_avg10: p.memory };
  }
}

const noop = (_r: TraceRecord) => {};

/** Handlers per id -> one function per id: the single handler itself, or a loop over several. */
function compileDispatch(table: (((r: TraceRecord) => void)[] | undefined)[]): ((r: TraceRecord) => void)[] {
  const out: ((r: TraceRecord) => void)[] = new Array(table.length).fill(noop);
  for (let id = 0; id < table.length; id++) {
    const hs = table[id];
    if (hs === undefined || hs.length === 0) continue;
    if (hs.length === 1) out[id] = hs[0];
    else if (hs.length === 2) {
      const [a, b] = hs;
      out[id] = (r) => {
        a(r);
        b(r);
      };
    } else {
      out[id] = (r) => {
        for (let i = 0; i < hs.length; i++) hs[i](r);
      };
    }
  }
  return out;
}

function fmt(schema: EventSchema, event: string) {
  const f = schema.find(event);
  if (f === undefined) throw new SetupError(`the trace has no event ${event}`);
  return f;
}

/** The top frames of a stacktrace trigger are the tracing machinery itself. */
function isTracingFrame(sym: string): boolean {
  return /^(trace_event_raw_event_|__traceiter_|trace_call_bpf|__ftrace_trace_stack|ftrace_|__trace_stack|event_triggers_call|trace_event_buffer_commit|stacktrace_trigger|__bpf_trace)/.test(
    sym,
  );
}

/** The syscall table of an architecture name, or undefined when we have none. */
function syscallTableOf(arch: string): readonly string[] | undefined {
  if (/aarch64|arm64|riscv64|loongarch/.test(arch)) return GENERIC_SYSCALLS;
  if (/x86_64|amd64/.test(arch)) return X86_64_SYSCALLS;
  return undefined;
}
