/**
 * The daemon's model: one engine running the analyses over a source, plus what the HTTP side serves from it — the
 * outlier history, the live stream, per-analysis health, run-time settings. Every method here runs on the event
 * loop between read cycles; nothing in it is on the record path except `onOutlier` (O(1): a ring slot and a
 * pending-list push).
 */
import { Engine, type EngineOptions, type OutlierRecord } from '../analyses/engine.ts';
import { ANALYSES } from '../analyses/index.ts';
import type { Analysis } from '../analyses/types.ts';
import { compareProfiles } from '../histogram/compare.ts';
import { drawingBuckets } from '../histogram/drawing.ts';
import type { Histogram } from '../histogram/histogram.ts';
import { summaryFields } from '../histogram/json.ts';
import { compareRowToJSON } from '../histogram/render.ts';
import type { WindowName } from '../histogram/windows.ts';
import type { FlightRecorder } from '../sinks/flight/recorder.ts';
import { formatMetrics, type MetricsSnapshot } from '../sinks/prometheus.ts';
import { renderReport, reportData, WorstOutliers } from '../sinks/report.ts';
import type { SourceStats, TraceSource } from '../sources/types.ts';
import { ApiError } from './errors.ts';
import { type OutlierHistory, RingHistory } from './history.ts';
import { SseHub, type SseOptions } from './sse.ts';

/** Largest threshold or timeout accepted at run time: 1 h, the histograms' range. */
export const MAX_SETTING_NS = 3_600_000_000_000;
export const PROFILE_WINDOWS = ['1m', '5m', '1h', 'all'] as const;
/** Longest statement and most rows `POST /api/query` takes and returns. */
const MAX_SQL = 4000;
const MAX_SQL_ROWS = 10_000;
/** Threshold changes remembered per analysis (the oldest forgotten first). */
const MAX_THRESHOLD_HISTORY = 64;
export type ProfileWindow = (typeof PROFILE_WINDOWS)[number];

/** What can change the kernel side at run time (the live source). */
export interface RecordingControl {
  /** Every event the source was opened with. */
  readonly events: readonly string[];
  /** Enables exactly `events` of those, and the stack trigger when `stacks`. */
  setRecording(events: readonly string[], stacks: boolean): void;
}

export interface DaemonOptions {
  source: TraceSource;
  /** Analyses to run (those the source lacks events for are listed as unavailable). */
  analyses: readonly Analysis[];
  engine?: EngineOptions;
  recording?: RecordingControl;
  /** Keeps the recent outliers (default: a ring of `historyCapacity`). */
  history?: OutlierHistory;
  historyCapacity?: number;
  stream?: SseOptions;
  host: string;
  version: string;
  /** Current time on the source's clock (ns), for the dashboard to place outliers in time. */
  now(): bigint;
  /** Wall clock, ms (injectable for tests). */
  wallMs?(): number;
  /** Health check period, ms (default 1000). */
  healthMs?: number;
  /** The flight recorder: annotates outliers with their trace.dat, which `GET /api/trace-files/{name}` serves. */
  flight?: FlightRecorder;
  /** The report page (`ui/dist-report/report.html`) for `GET /api/report`; undefined when it was not built. */
  reportTemplate?: string;
}

/** Body of `PUT /api/analyses/{name}`, validated. */
export interface AnalysisChange {
  threshold_ns?: number;
  timeout_ns?: number;
  enabled?: boolean;
}

export class Daemon {
  readonly engine: Engine;
  /** The slowest outliers per analysis since start (for the report). */
  readonly worst = new WorstOutliers();
  readonly history: OutlierHistory;
  readonly hub: SseHub;
  readonly http = new Map<number, number>();
  /** HTTP connections closed by the server: no request headers in time, evicted to make room, refused. */
  readonly connections = { timedOut: 0, evicted: 0, refused: 0 };
  private readonly opts: DaemonOptions;
  private readonly wallMs: () => number;
  private readonly startUnix: number;
  /** Per analysis state index: activity counter at the last health check, and when it last changed (unix s). */
  private readonly lastActivity: number[] = [];
  private readonly lastEventUnix: number[] = [];
  /**
   * Per analysis state index, the thresholds it has had: `[since, ns]`, since = the source clock (ns) when it took
   * effect, null for the one it started with. The dashboard draws each outlier against the threshold of its time.
   */
  private readonly thresholds: [bigint | null, number][][] = [];
  private lastTs = Number.NEGATIVE_INFINITY;
  private lastReadUnix = 0;
  private readonly healthTimer: NodeJS.Timeout;
  /** Set when the source has finished (stopped or failed). */
  private finished = false;

  constructor(opts: DaemonOptions) {
    this.opts = opts;
    this.wallMs = opts.wallMs ?? Date.now;
    this.startUnix = this.wallMs() / 1000;
    this.history = opts.history ?? new RingHistory(opts.historyCapacity ?? 4096);
    this.hub = new SseHub(opts.stream);
    const host = opts.host;
    const history = this.history;
    const hub = this.hub;
    const flight = opts.flight;
    const worst = this.worst;
    this.engine = new Engine(opts.source, opts.analyses, opts.engine ?? {}, (o: OutlierRecord) => {
      flight?.annotate(o);
      worst.add(o);
      history.add(o, host);
      hub.offer(o);
    });
    for (let i = 0; i < this.engine.states.length; i++) {
      this.lastActivity.push(0);
      this.lastEventUnix.push(0);
      this.thresholds.push([[null, this.engine.states[i].settings.threshold]]);
    }
    this.healthTimer = setInterval(() => this.checkHealth(), opts.healthMs ?? 1000);
    this.healthTimer.unref();
  }

  get hostName(): string {
    return this.opts.host;
  }

  /** Runs the source into the engine until it stops. */
  async run(): Promise<SourceStats> {
    try {
      return await this.opts.source.run(this.engine);
    } finally {
      this.finished = true;
      this.checkHealth();
    }
  }

  /** Stops the health timer and the streams (the caller stops the source and the HTTP server). */
  close(): void {
    clearInterval(this.healthTimer);
    this.hub.close();
  }

  /** Records which analyses saw events since the last check, and whether the source read anything. */
  checkHealth(): void {
    const now = this.wallMs() / 1000;
    const states = this.engine.states;
    for (let i = 0; i < states.length; i++) {
      const s = states[i].tracker.stats;
      const activity = s.tracked + s.exists + s.unmatchedOut;
      if (activity !== this.lastActivity[i]) {
        this.lastActivity[i] = activity;
        this.lastEventUnix[i] = now;
      }
    }
    const ts = this.engine.lastTs;
    if (ts !== this.lastTs) {
      this.lastTs = ts;
      this.lastReadUnix = now;
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // What the API serves

  /** The source's clock now and the wall clock at the same moment: the dashboard maps `end_ns` to wall time. */
  clock(): { now_ns: bigint; unix_ns: bigint } {
    return { now_ns: this.opts.now(), unix_ns: BigInt(Math.round(this.wallMs())) * 1_000_000n };
  }

  /**
   * Time (source clock, ns) up to which every event has been handled, or null before the first read: an event that
   * happened before it has been counted and, if it was an outlier, reported.
   */
  processedNs(): bigint | null {
    const ts = this.engine.lastTs;
    return Number.isFinite(ts) ? this.engine.absolute(ts) : null;
  }

  /** Every analysis of the table: available or not, settings and counters. */
  analyses(): Record<string, unknown>[] {
    return ANALYSES.map((a) => this.analysisInfo(a.name));
  }

  /** An analysis of the table as the API and `/metrics` both show it: its state when it runs, and its settings. */
  private stateOf(a: Analysis) {
    const i = this.engine.states.findIndex((s) => s.analysis === a);
    const st = i >= 0 ? this.engine.states[i] : undefined;
    return {
      st,
      enabled: st?.enabled ?? false,
      up: st?.enabled === true && !this.finished,
      thresholdNs: st?.settings.threshold ?? a.defaultThreshold,
      timeoutNs: st?.settings.timeout ?? 0,
      lastEventUnix: i >= 0 ? this.lastEventUnix[i] : 0,
    };
  }

  analysisInfo(name: string): Record<string, unknown> {
    const a = ANALYSES.find((x) => x.name === name);
    if (a === undefined) throw unknownAnalysis(name);
    const { st, enabled, up, thresholdNs, timeoutNs, lastEventUnix } = this.stateOf(a);
    const missing = this.engine.skipped.find((s) => s.startsWith(`${a.name}: `));
    const base = {
      analysis: a.name,
      description: a.description,
      available: st !== undefined,
      missing: st !== undefined ? null : missing !== undefined ? missing.slice(a.name.length + 2) : 'not requested',
      enabled,
      up,
      threshold_ns: thresholdNs,
      timeout_ns: timeoutNs,
      default_threshold_ns: a.defaultThreshold,
      events: st?.events ?? [],
    };
    if (st === undefined) return base;
    const s = st.tracker.stats;
    const history = this.thresholds[this.engine.states.indexOf(st)] ?? [];
    return {
      ...base,
      // The first threshold took effect when tracing started (the source's origin); before that it is not known.
      threshold_history: history.map(([since, ns]) => ({ since_ns: since ?? this.startedNs(), threshold_ns: ns })),
      pairs: s.completed,
      outliers: st.outliers,
      over_threshold: s.overThreshold,
      timeouts: s.timeouts,
      unmatched: s.unmatchedOut,
      table_full: s.full,
      in_flight: s.inFlight,
      last_event_unix_s: lastEventUnix === 0 ? null : lastEventUnix,
    };
  }

  /** When tracing started (source clock, ns), or null before it has. */
  private startedNs(): bigint | null {
    const o = this.opts.source.originNs;
    return o > 0n ? o : null;
  }

  /** Applies a validated change; returns the analysis as `analysisInfo` shows it. */
  update(name: string, change: AnalysisChange): Record<string, unknown> {
    const a = ANALYSES.find((x) => x.name === name);
    if (a === undefined) throw unknownAnalysis(name);
    const st = this.engine.state(name);
    if (st === undefined) {
      throw new ApiError(409, `analysis ${name} does not run here (${this.analysisInfo(name).missing})`);
    }
    if (change.threshold_ns !== undefined && change.threshold_ns !== st.settings.threshold) {
      this.engine.setThreshold(name, change.threshold_ns);
      const h = this.thresholds[this.engine.states.indexOf(st)];
      h.push([this.opts.now(), change.threshold_ns]);
      if (h.length > MAX_THRESHOLD_HISTORY) h.shift();
    }
    if (change.timeout_ns !== undefined) this.engine.setTimeout(name, change.timeout_ns);
    if (change.enabled !== undefined && change.enabled !== st.enabled) {
      this.engine.setEnabled(name, change.enabled);
      this.syncRecording();
    }
    return this.analysisInfo(name);
  }

  /** Tells the kernel to record only what the enabled analyses (and thread names, and stacks) need. */
  private syncRecording(): void {
    const rec = this.opts.recording;
    if (rec === undefined) return;
    const engine = this.engine;
    const used = new Set(engine.states.flatMap((s) => s.events));
    const enabled = new Set(engine.enabledEvents);
    const stacks = engine.stacks !== undefined && engine.states.some((s) => s.enabled && s.analysis.usesStacks);
    const want = rec.events.filter((e) => enabled.has(e) || !used.has(e) || (stacks && e === 'sched:sched_switch'));
    rec.setRecording(want, stacks);
  }

  /** Histogram summary of one analysis over a window, with buckets for drawing. */
  profile(name: string, window: ProfileWindow): Record<string, unknown> {
    const h = this.histogram(name, window);
    return { analysis: name, window, ...summaryFields(h), buckets: drawingBuckets(h) };
  }

  /** Verdicts of the profiles library: `current` window against `baseline` window, per analysis. */
  compare(name: string | undefined, current: ProfileWindow, baseline: ProfileWindow): Record<string, unknown> {
    if (name !== undefined) this.histogram(name, current); // 404/409 for an unknown or unavailable analysis
    const p = this.engine.profiles;
    const asProfile = (w: ProfileWindow) => p.toProfile({ window: w }, w === 'all' ? undefined : w);
    const rows = compareProfiles(asProfile(baseline), asProfile(current)).filter(
      (r) => r.group === null && (name === undefined || r.analysis === name),
    );
    return {
      current,
      baseline,
      current_covers_ns: this.covers(current),
      baseline_covers_ns: this.covers(baseline),
      rows: rows.map(compareRowToJSON),
    };
  }

  /**
   * How much time window `w` really covers now (ns): the window's length, or less while the daemon has run for less
   * (two minutes after start, "the last hour" is two minutes long). Null before the first event.
   */
  private covers(w: ProfileWindow): number | null {
    const now = this.engine.lastTs;
    if (!Number.isFinite(now)) return null;
    const first = this.engine.states[0];
    if (w === 'all' || first === undefined) return Math.max(0, Math.round(now));
    const start = this.engine.profiles.windows(first.analysis.name).windowStart(w);
    return Math.max(0, Math.round(now - Math.max(0, Number.isNaN(start) ? 0 : start)));
  }

  async events(q: {
    analysis?: string;
    since?: bigint;
    before?: bigint;
    limit: number;
    cgroup?: string;
  }): Promise<OutlierRecord[]> {
    if (q.analysis !== undefined && ANALYSES.every((a) => a.name !== q.analysis)) throw unknownAnalysis(q.analysis);
    return this.history.query(q);
  }

  /**
   * One read-only SQL statement on the daemon's store, for `latency-tracker query` (the store admits one process):
   * `{columns, types, rows}` with rows as arrays, timestamps as ISO strings, integers exact.
   */
  async sql(text: string): Promise<Record<string, unknown>> {
    const h = this.history;
    if (h.sql === undefined) throw new ApiError(409, 'this daemon keeps no store (--no-store): nothing to query');
    if (text.length > MAX_SQL) throw new ApiError(413, `the statement is over ${MAX_SQL} characters`);
    let r: Awaited<ReturnType<NonNullable<OutlierHistory['sql']>>>;
    try {
      r = await h.sql(text, MAX_SQL_ROWS);
    } catch (e) {
      throw new ApiError(400, String((e as Error)?.message ?? e).split('\n')[0]);
    }
    // Timestamps as ISO text, 64-bit integers as decimal text (exact; the client revives them by column type).
    const cell = (v: unknown): unknown =>
      v instanceof Date
        ? v.toISOString()
        : typeof v === 'bigint'
          ? v.toString()
          : Array.isArray(v)
            ? v.map(cell)
            : v === undefined
              ? null
              : v;
    return { columns: r.columns, types: r.types, rows: r.rows.map((row) => r.columns.map((c) => cell(row[c]))) };
  }

  metricsSnapshot(): MetricsSnapshot {
    const e = this.engine;
    const cpu = process.cpuUsage();
    const mem = process.memoryUsage();
    return {
      version: this.opts.version,
      analyses: ANALYSES.map((a) => {
        const { st, enabled, up, thresholdNs, timeoutNs, lastEventUnix } = this.stateOf(a);
        return {
          analysis: a.name,
          available: st !== undefined,
          enabled,
          up,
          thresholdNs,
          timeoutNs,
          histogram: st !== undefined ? e.profiles.total(a.name) : undefined,
          stats: st?.tracker.stats,
          lastEventUnixSeconds: lastEventUnix,
          byCgroup: st !== undefined ? e.profiles.cgroupGroups(a.name) : undefined,
        };
      }),
      records: e.records,
      // One series per traced CPU from the start (a counter that appears only after the first loss is hard to alert on).
      lostPerCpu: Array.from(
        { length: Math.max(this.opts.source.cpus, e.lostPerCpu.length) },
        (_, c) => e.lostPerCpu[c] ?? 0,
      ),
      lostUnknown: e.lostUnknown,
      lastReadUnixSeconds: this.lastReadUnix,
      history: this.history.occupancy,
      store: this.history.counters,
      flight: this.opts.flight?.metrics(),
      stream: { ...this.hub.stats },
      http: this.http,
      connections: { ...this.connections },
      cgroups: e.cgroups?.stats,
      process: {
        cpuSeconds: (cpu.user + cpu.system) / 1e6,
        residentBytes: mem.rss,
        heapBytes: mem.heapUsed,
        startUnixSeconds: Math.floor(this.startUnix),
      },
    };
  }

  /**
   * The self-contained HTML report of everything since start (`GET /api/report`, the dashboard's "Download
   * report"), or undefined when the report page was not built.
   */
  report(): string | undefined {
    const template = this.opts.reportTemplate;
    if (template === undefined) return undefined;
    const e = this.engine;
    const c = this.clock();
    const stats = {
      records: e.records,
      lostPerCpu: Array.from(
        { length: Math.max(this.opts.source.cpus, e.lostPerCpu.length) },
        (_, i) => e.lostPerCpu[i] ?? 0,
      ),
      lossReports: e.lostUnknown,
      errors: {},
    };
    const meta = {
      title: this.opts.host,
      source: 'live kernel',
      tool: `latency-tracker ${this.opts.version}`,
      generatedMs: this.wallMs(),
      unixOffsetNs: c.unix_ns - c.now_ns,
    };
    return renderReport(template, reportData(e, stats, meta, this.worst));
  }

  /** The path of a flight recorder file of ours by its name (validated), or undefined. */
  traceFile(name: string): string | undefined {
    return this.opts.flight?.pathOf(name);
  }

  metrics(): string {
    return formatMetrics(this.metricsSnapshot());
  }

  private histogram(name: string, window: ProfileWindow): Histogram {
    if (ANALYSES.every((a) => a.name !== name)) throw unknownAnalysis(name);
    if (this.engine.state(name) === undefined) throw new ApiError(409, `analysis ${name} does not run here`);
    const p = this.engine.profiles;
    return window === 'all' ? p.total(name) : p.window(name, window as WindowName);
  }
}

function unknownAnalysis(name: string): ApiError {
  const shown = name.length > 40 ? `${name.slice(0, 40)}...` : name;
  return new ApiError(404, `unknown analysis '${shown}' (one of ${ANALYSES.map((a) => a.name).join(', ')})`);
}

export { drawingBuckets } from '../histogram/drawing.ts';
