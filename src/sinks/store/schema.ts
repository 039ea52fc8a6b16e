/**
 * The outlier store's tables, one description for both engines (DuckDB on one host, ClickHouse for a fleet), and
 * the conversions between the JSON Lines record (DESIGN §6) and a stored row. Pure: no I/O.
 *
 * Time: `start_ns`/`end_ns` are the record's own exact nanoseconds (the kernel's `mono` clock live: boot-relative),
 * kept as unsigned 64-bit integers. `time` is the wall-clock time of the end (UTC), derived once when the outlier is
 * stored; it is what retention, the per-minute reports and ClickHouse's day partitions use.
 */

import { containerLabel, parseContainer } from '../../analyses/container.ts';
import type { OutlierRecord } from '../../analyses/engine.ts';
import type { Detail, DetailValue } from '../../analyses/types.ts';
import { jsonLine } from '../json.ts';

/** The fields of a JSON Lines record as the tables hold them: `detail` as JSON text, no stack as null. */
export type StoredFields = Omit<
  OutlierRecord,
  'type' | 'detail' | 'stack' | 'container' | 'throttle' | 'pressure' | 'trace_file'
> & {
  /** `detail` as JSON text (exact integers). */
  detail: string;
  /** Symbolized kernel stack, or null when none was captured. */
  stack: string[] | null;
  /**
   * Columns derived from `cgroup` for SQL (`GROUP BY unit`, `container`, `pod_uid`); the record's `container`
   * object is parsed again from `cgroup` when a row is read back.
   */
  unit: string | null;
  /** Short container label (`docker:0123456789ab`, `pod:<uid>`), or null. */
  container: string | null;
  pod_uid: string | null;
  /** CPU throttled time over the outlier's window (ns), null when no quota applies or it is unknown. */
  throttled_ns: number | null;
  /** `{"throttle":…,"pressure":…}` as JSON text (exact integers), or null when there were none. */
  cgroup_stats: string | null;
  /** The flight recorder's trace.dat of the outlier, or null. */
  trace_file: string | null;
};

/** The cgroup columns of a record. */
function cgroupColumns(
  o: OutlierRecord,
): Pick<StoredFields, 'cgroup' | 'unit' | 'container' | 'pod_uid' | 'throttled_ns' | 'cgroup_stats'> {
  const c = o.container ?? null;
  const stats: Record<string, unknown> = {};
  if (o.throttle !== undefined) stats.throttle = o.throttle;
  if (o.pressure !== undefined) stats.pressure = o.pressure;
  return {
    cgroup: o.cgroup ?? null,
    unit: c?.unit ?? null,
    container: containerLabel(c),
    pod_uid: c?.pod_uid ?? null,
    throttled_ns: o.throttle?.throttled_ns ?? null,
    cgroup_stats: Object.keys(stats).length > 0 ? jsonLine(stats) : null,
  };
}

/** One outlier as stored (both engines). */
export type OutlierRow = StoredFields & {
  /** Per-store sequence number (assigned by the store, in insertion order; never reused). */
  seq: bigint;
  /** Wall-clock time of the end, ms since the epoch (µs precision kept where the engine has it). */
  timeMs: number;
  host: string;
  /** The analysis's own subject: syscall name, softirq action, device or irq (null for wakeup/offcpu). */
  subject: string | null;
};

/** One profile snapshot: the pairs of one analysis in one interval, with the histogram of their latencies. */
export interface ProfileRow {
  seq: bigint;
  /** Interval end and start, wall clock ms since the epoch. */
  timeMs: number;
  startMs: number;
  host: string;
  analysis: string;
  count: number;
  min_ns: number | null;
  max_ns: number | null;
  sum_ns: bigint;
  p50_ns: number | null;
  p90_ns: number | null;
  p99_ns: number | null;
  p999_ns: number | null;
  /** Outliers reported, pairs over threshold, timeouts fired in the interval. */
  outliers: number;
  over_threshold: number;
  timeouts: number;
  /** Non-empty buckets: representative value (ns) and count, ascending. Mergeable in SQL (weighted quantiles). */
  bucket_ns: number[];
  bucket_counts: number[];
  /** The same histogram in HdrHistogram's V2 compressed base64 form (`toHdrBase64`). */
  hdr: string;
}

/** Detail fields that name an outlier's subject, in order of preference. */
const SUBJECT_FIELDS = ['syscall', 'action', 'dev', 'irq'] as const;

/** The subject of an outlier for per-subject reports: syscall name, softirq action, device, or irq number. */
export function subjectOf(detail: Detail): string | null {
  for (const f of SUBJECT_FIELDS) {
    const v = detail[f];
    if (v !== undefined && v !== null) return String(v);
  }
  return null;
}

/** The stored row of an outlier (`seq` is filled in by the store). */
export function toRow(o: OutlierRecord, host: string, timeMs: number): OutlierRow {
  return {
    seq: 0n,
    timeMs,
    host,
    analysis: o.analysis,
    reason: o.reason,
    start_ns: o.start_ns,
    end_ns: o.end_ns,
    latency_ns: o.latency_ns,
    cpu: o.cpu,
    tid: o.tid,
    pid: o.pid,
    comm: o.comm,
    subject: subjectOf(o.detail),
    detail: jsonLine(o.detail),
    stack: o.stack ?? null,
    ...cgroupColumns(o),
    trace_file: o.trace_file ?? null,
  };
}

/**
 * Outliers in columns, for the trip from the main thread to the store's worker: typed arrays move without a copy
 * and strings clone as flat text, much cheaper than cloning one object (with its detail and stack) per outlier.
 * `-1` stands for null in `cpu`/`tid`/`pid` (their real values are never negative); a stack is its frames joined
 * by newlines (a symbol never contains one).
 */
export interface OutlierBatch {
  n: number;
  host: string[];
  analysis: string[];
  reason: string[];
  start: BigUint64Array;
  end: BigUint64Array;
  latency: Float64Array;
  timeMs: Float64Array;
  cpu: Int32Array;
  tid: Int32Array;
  pid: Int32Array;
  comm: (string | null)[];
  subject: (string | null)[];
  detail: string[];
  stack: (string | null)[];
  cgroup: (string | null)[];
  unit: (string | null)[];
  container: (string | null)[];
  pod_uid: (string | null)[];
  /** -1 stands for null. */
  throttled: Float64Array;
  cgroup_stats: (string | null)[];
  trace_file: (string | null)[];
}

export function encodeBatch(
  records: OutlierRecord[],
  hosts: string[],
  timeMs: (o: OutlierRecord) => number,
): OutlierBatch {
  const n = records.length;
  const b: OutlierBatch = {
    n,
    host: hosts,
    analysis: new Array<string>(n),
    reason: new Array<string>(n),
    start: new BigUint64Array(n),
    end: new BigUint64Array(n),
    latency: new Float64Array(n),
    timeMs: new Float64Array(n),
    cpu: new Int32Array(n),
    tid: new Int32Array(n),
    pid: new Int32Array(n),
    comm: new Array<string | null>(n),
    subject: new Array<string | null>(n),
    detail: new Array<string>(n),
    stack: new Array<string | null>(n),
    cgroup: new Array<string | null>(n),
    unit: new Array<string | null>(n),
    container: new Array<string | null>(n),
    pod_uid: new Array<string | null>(n),
    throttled: new Float64Array(n),
    cgroup_stats: new Array<string | null>(n),
    trace_file: new Array<string | null>(n),
  };
  for (let i = 0; i < n; i++) {
    const o = records[i];
    b.analysis[i] = o.analysis;
    b.reason[i] = o.reason;
    b.start[i] = o.start_ns;
    b.end[i] = o.end_ns;
    b.latency[i] = o.latency_ns;
    b.timeMs[i] = timeMs(o);
    b.cpu[i] = o.cpu ?? -1;
    b.tid[i] = o.tid ?? -1;
    b.pid[i] = o.pid ?? -1;
    b.comm[i] = o.comm;
    b.subject[i] = subjectOf(o.detail);
    b.detail[i] = jsonLine(o.detail);
    b.stack[i] = o.stack === undefined ? null : o.stack.join('\n');
    const c = cgroupColumns(o);
    b.cgroup[i] = c.cgroup;
    b.unit[i] = c.unit;
    b.container[i] = c.container;
    b.pod_uid[i] = c.pod_uid;
    b.throttled[i] = c.throttled_ns ?? -1;
    b.cgroup_stats[i] = c.cgroup_stats;
    b.trace_file[i] = o.trace_file ?? null;
  }
  return b;
}

/** Buffers of a batch to transfer (not copy) with `postMessage`. */
export function batchTransfer(b: OutlierBatch): ArrayBuffer[] {
  return [b.start, b.end, b.latency, b.timeMs, b.cpu, b.tid, b.pid, b.throttled].map((a) => a.buffer as ArrayBuffer);
}

export function decodeBatch(b: OutlierBatch): OutlierRow[] {
  const rows = new Array<OutlierRow>(b.n);
  const orNull = (v: number) => (v < 0 ? null : v);
  for (let i = 0; i < b.n; i++) {
    const st = b.stack[i];
    rows[i] = {
      seq: 0n,
      timeMs: b.timeMs[i],
      host: b.host[i],
      analysis: b.analysis[i],
      reason: b.reason[i] === 'timeout' ? 'timeout' : 'threshold',
      start_ns: b.start[i],
      end_ns: b.end[i],
      latency_ns: b.latency[i],
      cpu: orNull(b.cpu[i]),
      tid: orNull(b.tid[i]),
      pid: orNull(b.pid[i]),
      comm: b.comm[i],
      subject: b.subject[i],
      detail: b.detail[i],
      stack: st === null ? null : st === '' ? [] : st.split('\n'),
      cgroup: b.cgroup[i],
      unit: b.unit[i],
      container: b.container[i],
      pod_uid: b.pod_uid[i],
      throttled_ns: b.throttled[i] < 0 ? null : b.throttled[i],
      cgroup_stats: b.cgroup_stats[i],
      trace_file: b.trace_file[i],
    };
  }
  return rows;
}

/** Parses `detail` JSON text back, keeping integers beyond 2^53 exact (as bigint). */
export function parseDetail(text: string): Detail {
  const big = text.replace(/:(-?\d{16,})(?=[,}])/g, ':"\\u0000$1"');
  const obj = JSON.parse(big, (_k, v: unknown) => {
    if (typeof v === 'string' && v.startsWith('\u0000')) {
      const n = BigInt(v.slice(1));
      return Number.isSafeInteger(Number(n)) ? Number(n) : n;
    }
    return v;
  }) as Record<string, DetailValue>;
  return obj;
}

/** The JSON Lines record of a stored row (what `GET /api/events` and `query --json` give back). */
export function toRecord(r: Omit<StoredFields, 'reason'> & { reason: string }): OutlierRecord {
  const rec: OutlierRecord = {
    type: 'latency',
    analysis: r.analysis,
    reason: r.reason === 'timeout' ? 'timeout' : 'threshold',
    start_ns: r.start_ns,
    end_ns: r.end_ns,
    latency_ns: r.latency_ns,
    cpu: r.cpu,
    tid: r.tid,
    pid: r.pid,
    comm: r.comm,
    detail: parseDetail(r.detail),
    cgroup: r.cgroup ?? null,
    container: parseContainer(r.cgroup),
  };
  if (r.stack !== null) rec.stack = r.stack;
  if (typeof r.cgroup_stats === 'string') {
    const stats = parseDetail(r.cgroup_stats) as unknown as Pick<OutlierRecord, 'throttle' | 'pressure'>;
    const t = stats.throttle;
    if (t !== undefined) {
      rec.throttle = t === null ? null : { ...t, from_ns: BigInt(t.from_ns), to_ns: BigInt(t.to_ns) };
    }
    if (stats.pressure !== undefined) rec.pressure = stats.pressure;
  }
  if (r.trace_file !== null && r.trace_file !== undefined) rec.trace_file = r.trace_file;
  return rec;
}

// ---------------------------------------------------------------------------------------------------------------
// DuckDB

/** Columns of the DuckDB `outliers` table, in appender order. */
export const DUCK_OUTLIER_COLUMNS = [
  'seq UBIGINT NOT NULL',
  'time TIMESTAMP NOT NULL',
  'host VARCHAR NOT NULL',
  'analysis VARCHAR NOT NULL',
  'reason VARCHAR NOT NULL',
  'start_ns UBIGINT NOT NULL',
  'end_ns UBIGINT NOT NULL',
  'latency_ns BIGINT NOT NULL',
  'cpu INTEGER',
  'tid INTEGER',
  'pid INTEGER',
  'comm VARCHAR',
  'subject VARCHAR',
  'detail VARCHAR NOT NULL',
  'stack VARCHAR[]',
  'cgroup VARCHAR',
  'unit VARCHAR',
  'container VARCHAR',
  'pod_uid VARCHAR',
  'throttled_ns BIGINT',
  'cgroup_stats VARCHAR',
  'trace_file VARCHAR',
] as const;

/** Outlier columns added after the first release: stores made before get them with `ALTER TABLE` on open. */
export const DUCK_OUTLIER_ADDED = DUCK_OUTLIER_COLUMNS.slice(15);

/** Columns of the DuckDB `profiles` table, in appender order. */
export const DUCK_PROFILE_COLUMNS = [
  'seq UBIGINT NOT NULL',
  'time TIMESTAMP NOT NULL',
  'start TIMESTAMP NOT NULL',
  'host VARCHAR NOT NULL',
  'analysis VARCHAR NOT NULL',
  'count UBIGINT NOT NULL',
  'min_ns BIGINT',
  'max_ns BIGINT',
  'sum_ns UBIGINT NOT NULL',
  'p50_ns BIGINT',
  'p90_ns BIGINT',
  'p99_ns BIGINT',
  'p999_ns BIGINT',
  'outliers UBIGINT NOT NULL',
  'over_threshold UBIGINT NOT NULL',
  'timeouts UBIGINT NOT NULL',
  'bucket_ns UBIGINT[] NOT NULL',
  'bucket_counts UBIGINT[] NOT NULL',
  'hdr VARCHAR NOT NULL',
] as const;

/** Schema version written to `meta`; a store with another version is refused with a clear error. */
export const SCHEMA_VERSION = '1';

export const DUCK_DDL = [
  `CREATE TABLE IF NOT EXISTS outliers (${DUCK_OUTLIER_COLUMNS.join(', ')})`,
  ...DUCK_OUTLIER_ADDED.map((c) => `ALTER TABLE outliers ADD COLUMN IF NOT EXISTS ${c}`),
  `CREATE TABLE IF NOT EXISTS profiles (${DUCK_PROFILE_COLUMNS.join(', ')})`,
  'CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)',
];

// ---------------------------------------------------------------------------------------------------------------
// ClickHouse (18.16 and later: no DateTime64, no LowCardinality, no query parameters)

/** Outlier columns added after the first release (name, type): added to existing tables on start. */
export const CLICKHOUSE_OUTLIER_ADDED: [string, string][] = [
  ['cgroup', 'Nullable(String)'],
  ['unit', 'Nullable(String)'],
  ['container', 'Nullable(String)'],
  ['pod_uid', 'Nullable(String)'],
  ['throttled_ns', 'Nullable(UInt64)'],
  ['cgroup_stats', 'Nullable(String)'],
];

/**
 * ClickHouse tables. `store_id` + `seq` identify a row across the fleet (the local store's id and sequence): the
 * shipper uses them to find what a failed insert did deliver, and ReplacingMergeTree collapses any duplicate that
 * slipped through on merge. Partitioned by day, ordered by host, analysis, time.
 */
export function clickhouseDDL(db: string): string[] {
  return [
    `CREATE DATABASE IF NOT EXISTS ${db}`,
    `CREATE TABLE IF NOT EXISTS ${db}.outliers (
  time DateTime, host String, analysis String, reason String,
  start_ns UInt64, end_ns UInt64, latency_ns UInt64,
  cpu Nullable(Int32), tid Nullable(Int32), pid Nullable(Int32), comm Nullable(String),
  subject Nullable(String), detail String, stack Array(String),
  store_id String, seq UInt64,
  ${CLICKHOUSE_OUTLIER_ADDED.map(([n, t]) => `${n} ${t}`).join(', ')}
) ENGINE = ReplacingMergeTree() PARTITION BY toDate(time) ORDER BY (host, analysis, time, store_id, seq)`,
    `CREATE TABLE IF NOT EXISTS ${db}.profiles (
  time DateTime, start DateTime, host String, analysis String,
  count UInt64, min_ns Nullable(UInt64), max_ns Nullable(UInt64), sum_ns UInt64,
  p50_ns Nullable(UInt64), p90_ns Nullable(UInt64), p99_ns Nullable(UInt64), p999_ns Nullable(UInt64),
  outliers UInt64, over_threshold UInt64, timeouts UInt64,
  bucket_ns Array(UInt64), bucket_counts Array(UInt64), hdr String,
  store_id String, seq UInt64
) ENGINE = ReplacingMergeTree() PARTITION BY toDate(time) ORDER BY (host, analysis, time, store_id, seq)`,
  ];
}

/** A ClickHouse `JSONEachRow` object of an outlier row (UInt64 as decimal strings: exact). */
export function clickhouseOutlier(r: OutlierRow, storeId: string): Record<string, unknown> {
  return {
    time: Math.floor(r.timeMs / 1000),
    host: r.host,
    analysis: r.analysis,
    reason: r.reason,
    start_ns: r.start_ns.toString(),
    end_ns: r.end_ns.toString(),
    latency_ns: String(r.latency_ns),
    cpu: r.cpu,
    tid: r.tid,
    pid: r.pid,
    comm: r.comm,
    subject: r.subject,
    detail: r.detail,
    stack: r.stack ?? [],
    store_id: storeId,
    seq: r.seq.toString(),
    cgroup: r.cgroup,
    unit: r.unit,
    container: r.container,
    pod_uid: r.pod_uid,
    throttled_ns: r.throttled_ns === null ? null : String(Math.round(r.throttled_ns)),
    cgroup_stats: r.cgroup_stats,
  };
}

export function clickhouseProfile(r: ProfileRow, storeId: string): Record<string, unknown> {
  const u = (v: number | null) => (v === null ? null : String(v));
  return {
    time: Math.floor(r.timeMs / 1000),
    start: Math.floor(r.startMs / 1000),
    host: r.host,
    analysis: r.analysis,
    count: String(r.count),
    min_ns: u(r.min_ns),
    max_ns: u(r.max_ns),
    sum_ns: r.sum_ns.toString(),
    p50_ns: u(r.p50_ns),
    p90_ns: u(r.p90_ns),
    p99_ns: u(r.p99_ns),
    p999_ns: u(r.p999_ns),
    outliers: String(r.outliers),
    over_threshold: String(r.over_threshold),
    timeouts: String(r.timeouts),
    bucket_ns: r.bucket_ns.map(String),
    bucket_counts: r.bucket_counts.map(String),
    hdr: r.hdr,
    store_id: storeId,
    seq: r.seq.toString(),
  };
}
