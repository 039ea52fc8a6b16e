// What the daemon's HTTP API returns (field names as DESIGN §6), and small helpers to call it.

export type Detail = Record<string, string | number | boolean | null>;

export interface Outlier {
  type: 'latency';
  analysis: string;
  reason: 'threshold' | 'timeout';
  start_ns: number;
  end_ns: number;
  latency_ns: number;
  cpu: number | null;
  tid: number | null;
  pid: number | null;
  comm: string | null;
  detail: Detail;
  stack?: string[];
  /** The thread's cgroup path (null when unknown). */
  cgroup?: string | null;
  container?: Container | null;
  throttle?: {
    cgroup: string;
    nr_throttled: number;
    throttled_ns: number;
    from_ns: number;
    to_ns: number;
  } | null;
  pressure?: { cpu_some_avg10: number | null; io_some_avg10: number | null; memory_some_avg10: number | null };
  /** The flight recorder's trace.dat of this outlier (a path on the daemon's host). */
  trace_file?: string;
}

export interface Container {
  runtime: string;
  id: string | null;
  unit: string | null;
  pod_uid: string | null;
  qos: string | null;
}

export type CgroupField = 'cgroup' | 'container' | 'unit';

/** The value of a cgroup grouping field of an outlier ('–' when none), as the CLI's --group-by labels it. */
export function cgroupValue(o: Outlier, field: CgroupField): string {
  const c = o.container ?? null;
  if (field === 'cgroup') return o.cgroup ?? '–';
  if (field === 'unit') return c?.unit ?? '–';
  if (c === null) return '–';
  if (c.id !== null) return `${c.runtime}:${c.id.slice(0, 12)}`;
  return c.pod_uid !== null ? `pod:${c.pod_uid}` : '–';
}

/** One short word for the table: the container, else the unit, else the path. */
export function whereText(o: Outlier): string {
  if (o.cgroup === null || o.cgroup === undefined) return '–';
  const c = cgroupValue(o, 'container');
  if (c !== '–') return c;
  return o.container?.unit ?? o.cgroup;
}

/** True when `path` is `under` or below it. */
export function inCgroup(path: string | null | undefined, under: string): boolean {
  if (path === null || path === undefined) return false;
  const u = under.replace(/\/+$/, '') || '/';
  return u === '/' || path === u || path.startsWith(`${u}/`);
}

/** The daemon URL that downloads an outlier's trace.dat (by its file name). */
export function traceFileUrl(path: string): string {
  return `/api/trace-files/${encodeURIComponent(path.slice(path.lastIndexOf('/') + 1))}`;
}

export interface AnalysisInfo {
  analysis: string;
  description: string;
  available: boolean;
  missing: string | null;
  enabled: boolean;
  up: boolean;
  threshold_ns: number;
  timeout_ns: number;
  default_threshold_ns: number;
  events: string[];
  pairs?: number;
  outliers?: number;
  over_threshold?: number;
  timeouts?: number;
  unmatched?: number;
  table_full?: number;
  in_flight?: number;
  last_event_unix_s?: number | null;
  /** The thresholds the analysis has had; `since_ns` (daemon clock) null for the one it started with. */
  threshold_history?: { since_ns: number | null; threshold_ns: number }[];
}

export interface AnalysesResponse {
  host: string;
  now_ns: number;
  unix_ns: number;
  processed_ns: number | null;
  analyses: AnalysisInfo[];
}

export type WindowName = '1m' | '5m' | '1h' | 'all';
export const WINDOWS: WindowName[] = ['1m', '5m', '1h'];

export interface ProfileResponse {
  analysis: string;
  window: WindowName;
  count: number;
  min_ns: number | null;
  max_ns: number | null;
  mean_ns: number | null;
  p50_ns: number | null;
  p90_ns: number | null;
  p99_ns: number | null;
  p999_ns: number | null;
  buckets: [number, number, number][];
}

export interface Change {
  a: number | null;
  b: number | null;
  change: number | null;
  relative: number | null;
}

export interface PercentileChange extends Change {
  verdict: 'regressed' | 'improved' | 'no significant change';
  insufficient: boolean;
}

export interface CompareRow {
  analysis: string;
  count: Change;
  p50_ns: PercentileChange;
  p90_ns: PercentileChange;
  p99_ns: PercentileChange;
  p999_ns: PercentileChange;
  max_ns: Change;
}

export interface CompareResponse {
  current: WindowName;
  baseline: WindowName;
  /** How much time each window really covers (less than its length while the daemon is young); null before data. */
  current_covers_ns: number | null;
  baseline_covers_ns: number | null;
  rows: CompareRow[];
}

export class ApiFailure extends Error {}

export async function getJson<T>(path: string): Promise<T> {
  const r = await fetch(path, { headers: { Accept: 'application/json' } });
  const body = (await r.json().catch(() => ({}))) as { error?: string };
  if (!r.ok) throw new ApiFailure(body.error ?? `${r.status} ${r.statusText}`);
  return body as T;
}

export async function putJson<T>(path: string, obj: unknown): Promise<T> {
  const r = await fetch(path, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(obj),
  });
  const body = (await r.json().catch(() => ({}))) as { error?: string };
  if (!r.ok) throw new ApiFailure(body.error ?? `${r.status} ${r.statusText}`);
  return body as T;
}

/** `1.23 ms`, `450 µs`, `2.1 s`: three significant digits. */
export function formatNs(ns: number | null | undefined): string {
  if (ns === null || ns === undefined || Number.isNaN(ns)) return '–';
  const a = Math.abs(ns);
  const [v, u] = a >= 1e9 ? [ns / 1e9, 's'] : a >= 1e6 ? [ns / 1e6, 'ms'] : a >= 1e3 ? [ns / 1e3, 'µs'] : [ns, 'ns'];
  const digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
  return `${v.toFixed(digits)} ${u}`;
}

/** Settings read and written as the command line does (`50ms`, `1.5ms`, `1h`; a bare number is µs). */
export { parseDuration } from '../../src/cli/duration.ts';
export { durationText } from '../../src/sinks/durations.ts';

/** A tick label: like `formatNs`, and empty (never a dash) where uPlot has no value. */
export function tickNs(ns: number | null | undefined): string {
  return ns === null || ns === undefined || !Number.isFinite(ns) ? '' : formatNs(ns);
}

/** `14:02:07.123` local, from wall-clock ms. */
export function clockText(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

/** `2025-12-04 14:02:07.123` local, from wall-clock ms. */
export function dateTimeText(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${clockText(ms)}`;
}

/** A span for people: `42 s`, `2 min 5 s`, `1 h 0 min`. */
export function spanText(ns: number): string {
  const s = Math.round(ns / 1e9);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function relativeText(r: number | null): string {
  if (r === null) return '–';
  const pct = r * 100;
  return `${pct >= 0 ? '+' : ''}${pct.toFixed(Math.abs(pct) < 10 ? 1 : 0)} %`;
}

/**
 * Bins of a latency histogram (`[low_ns, high_ns, count]`, four per power of two, non-empty only) as the steps of a
 * log-scale x axis: empty ranges between them are drawn as gaps (zero), every bin at its true width.
 */
export function histogramSteps(buckets: [number, number, number][]): [number[], number[]] {
  if (buckets.length === 0) return [[], []];
  const k = (ns: number) => Math.round(Math.log2(ns) * 4);
  const byK = new Map<number, number>();
  for (const [low, , c] of buckets) byK.set(k(low), (byK.get(k(low)) ?? 0) + c);
  const first = k(buckets[0][0]);
  const last = k(buckets[buckets.length - 1][0]);
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = first; i <= last + 1; i++) {
    xs.push(2 ** (i / 4));
    ys.push(i <= last ? (byK.get(i) ?? 0) : 0);
  }
  return [xs, ys];
}
