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

/** A duration for an input field: `50ms`, `250us`, `2s`; `0` for none. */
export function durationText(ns: number): string {
  if (ns === 0) return '0';
  if (ns % 1e9 === 0) return `${ns / 1e9}s`;
  if (ns % 1e6 === 0) return `${ns / 1e6}ms`;
  if (ns % 1e3 === 0) return `${ns / 1e3}us`;
  return `${ns}ns`;
}

/** Parses `50ms`, `250us`, `1.5s`, `800ns`; a bare number is µs (as on the command line). */
export function parseDuration(text: string): number | string {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s|m)?\s*$/.exec(text);
  if (m === null) return `'${text}' is not a duration (e.g. 50ms, 250us, 2s)`;
  const mult: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9 };
  const ns = Math.round(Number(m[1]) * mult[m[2] ?? 'us']);
  if (!Number.isSafeInteger(ns) || ns > 3600e9) return 'at most 1 h';
  return ns;
}

export function relativeText(r: number | null): string {
  if (r === null) return '–';
  const pct = r * 100;
  return `${pct >= 0 ? '+' : ''}${pct.toFixed(Math.abs(pct) < 10 ? 1 : 0)} %`;
}
