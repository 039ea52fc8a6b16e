/**
 * `latency-tracker query`: the canned reports over a store, the read-only check of `--sql`, Parquet export, and
 * the plain-text table printer. Reports are one table (name, title, SQL builder); the CLI's choices come from it.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { shortNs } from '../summary.ts';
import { duckString, StoreError } from './duck.ts';

export interface ReportFilter {
  analysis?: string;
  /** Only rows whose wall time is at or after this (ms since the epoch). */
  sinceMs?: number;
  host?: string;
  /** Rows (top), processes per analysis (processes) or subjects per interval (p99). */
  limit: number;
  /** Interval of the over-time reports, seconds. */
  everySec: number;
}

export interface Report {
  name: string;
  title: string;
  sql(f: ReportFilter): string;
}

function where(f: ReportFilter, extra: string[] = [], analysis = true): string {
  const c = [...extra];
  if (analysis && f.analysis !== undefined) c.push(`analysis = ${duckString(f.analysis)}`);
  if (f.host !== undefined) c.push(`host = ${duckString(f.host)}`);
  if (f.sinceMs !== undefined) c.push(`time >= make_timestamp(${Math.floor(f.sinceMs) * 1000}::BIGINT)`);
  return c.length > 0 ? `WHERE ${c.join(' AND ')}` : '';
}

const bucket = (f: ReportFilter) => `time_bucket(to_seconds(${Math.max(1, Math.floor(f.everySec))}::BIGINT), time)`;

export const REPORTS: readonly Report[] = [
  {
    name: 'top',
    title: 'Top outliers (slowest first)',
    sql: (f) =>
      `SELECT time, analysis, subject, comm, tid, reason, latency_ns FROM outliers ${where(f)} ` +
      `ORDER BY latency_ns DESC, seq LIMIT ${f.limit}`,
  },
  {
    name: 'processes',
    title: 'Worst processes per analysis (by total outlier time)',
    sql: (f) =>
      `SELECT analysis, comm, pid, count(*) AS outliers, quantile_disc(latency_ns, 0.99) AS p99_ns, ` +
      `max(latency_ns) AS max_ns, sum(latency_ns)::BIGINT AS total_ns FROM outliers ${where(f)} ` +
      `GROUP BY analysis, comm, pid ` +
      `QUALIFY row_number() OVER (PARTITION BY analysis ORDER BY sum(latency_ns) DESC, comm, pid) <= ${f.limit} ` +
      'ORDER BY analysis, total_ns DESC, comm, pid',
  },
  {
    name: 'cgroups',
    title: 'Worst cgroups per analysis (by total outlier time): service, container, pod, CPU throttling',
    sql: (f) =>
      `SELECT analysis, cgroup, unit, container, pod_uid, count(*) AS outliers, ` +
      `quantile_disc(latency_ns, 0.99) AS p99_ns, sum(latency_ns)::BIGINT AS total_ns, ` +
      `count(throttled_ns) FILTER (WHERE throttled_ns > 0) AS throttled, ` +
      `sum(throttled_ns)::BIGINT AS throttled_total_ns FROM outliers ${where(f, ['cgroup IS NOT NULL'])} ` +
      `GROUP BY analysis, cgroup, unit, container, pod_uid ` +
      `QUALIFY row_number() OVER (PARTITION BY analysis ORDER BY sum(latency_ns) DESC, cgroup) <= ${f.limit} ` +
      'ORDER BY analysis, total_ns DESC, cgroup',
  },
  {
    name: 'p99',
    title: 'Outlier p99 per subject over time (syscall unless --analysis)',
    sql: (f) =>
      `WITH s AS (SELECT ${bucket(f)} AS t, subject, count(*) AS outliers, quantile_disc(latency_ns, 0.5) AS p50_ns, ` +
      `quantile_disc(latency_ns, 0.99) AS p99_ns, max(latency_ns) AS max_ns FROM outliers ` +
      `${where({ ...f, analysis: f.analysis ?? 'syscall' })} GROUP BY ALL) ` +
      'SELECT t AS time, subject, outliers, p50_ns, p99_ns, max_ns FROM s ' +
      `QUALIFY row_number() OVER (PARTITION BY t ORDER BY p99_ns DESC, subject) <= ${f.limit} ` +
      'ORDER BY t, p99_ns DESC, subject',
  },
  {
    name: 'rate',
    title: 'Outliers per interval and analysis',
    sql: (f) =>
      `WITH s AS (SELECT ${bucket(f)} AS t, analysis, count(*) AS outliers, max(latency_ns) AS max_ns ` +
      `FROM outliers ${where(f)} GROUP BY ALL) SELECT t AS time, analysis, outliers, max_ns FROM s ORDER BY t, analysis`,
  },
  {
    name: 'profiles',
    title: 'Latency of all pairs per interval (profile snapshots merged)',
    sql: (f) =>
      `WITH b AS (SELECT ${bucket(f)} AS t, analysis, unnest(bucket_ns) AS v, unnest(bucket_counts) AS c ` +
      `FROM profiles ${where(f)}), ` +
      'g AS (SELECT t, analysis, v, sum(c) AS c FROM b GROUP BY ALL), ' +
      'w AS (SELECT t, analysis, v, sum(c) OVER (PARTITION BY t, analysis ORDER BY v) AS cum, ' +
      'sum(c) OVER (PARTITION BY t, analysis) AS n FROM g) ' +
      'SELECT t AS time, analysis, any_value(n)::BIGINT AS pairs, ' +
      'min(v) FILTER (WHERE cum >= ceil(0.5 * n)) AS p50_ns, min(v) FILTER (WHERE cum >= ceil(0.99 * n)) AS p99_ns, ' +
      'min(v) FILTER (WHERE cum >= ceil(0.999 * n)) AS p999_ns, max(v) AS max_ns FROM w GROUP BY t, analysis ORDER BY t, analysis',
  },
];

export const REPORT_NAMES = REPORTS.map((r) => r.name);

/** Every outlier matching the filters, in insertion order (what `--parquet` exports without a report or --sql). */
export function allOutliersSql(f: ReportFilter): string {
  return `SELECT * FROM outliers ${where(f)} ORDER BY seq`;
}

/** Statement types `--sql` may run: SELECT (with DESCRIBE, SHOW, SUMMARIZE, FROM-first) and EXPLAIN. */
const READ_TYPES = new Map<number, string>([
  [1, 'SELECT'],
  [4, 'EXPLAIN'],
]);
const TYPE_NAMES: Record<number, string> = {
  2: 'INSERT',
  3: 'UPDATE',
  5: 'DELETE',
  6: 'PREPARE',
  7: 'CREATE',
  8: 'EXECUTE',
  9: 'ALTER',
  10: 'TRANSACTION',
  11: 'COPY',
  12: 'ANALYZE',
  13: 'SET',
  14: 'CREATE FUNCTION',
  15: 'DROP',
  16: 'EXPORT',
  17: 'PRAGMA',
  18: 'VACUUM',
  19: 'CALL',
  20: 'SET',
  21: 'LOAD',
  23: 'INSTALL',
  25: 'ATTACH',
  26: 'DETACH',
  28: 'COPY DATABASE',
};

/**
 * Checks that `sql` is one read-only statement; returns it without a trailing semicolon. Throws `StoreError` naming
 * the refused statement otherwise (the store is also opened read-only: this is the friendly first line).
 */
export async function checkReadOnly(conn: DuckDBConnection, sql: string): Promise<string> {
  let ex: Awaited<ReturnType<DuckDBConnection['extractStatements']>>;
  try {
    ex = await conn.extractStatements(sql);
  } catch (e) {
    throw new StoreError(`--sql: ${firstLine(e)}`);
  }
  if (ex.count !== 1) throw new StoreError(`--sql: give exactly one statement (got ${ex.count})`);
  let type: number;
  try {
    type = (await ex.prepare(0)).statementType as number;
  } catch (e) {
    throw new StoreError(`--sql: ${firstLine(e)}`);
  }
  if (!READ_TYPES.has(type)) {
    const name = TYPE_NAMES[type] ?? `type ${type}`;
    throw new StoreError(`--sql: the store is opened read-only; ${name} statements are refused (use SELECT)`);
  }
  return sql.trim().replace(/;\s*$/, '');
}

export function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e)
    .split('\n')[0]
    .replace(/^Failed to extract statements: /, '');
}

export interface QueryResult {
  columns: string[];
  rows: Record<string, unknown>[];
}

/** Runs a (checked) query and returns its rows as JS values (BIGINT → bigint, TIMESTAMP → Date, LIST → array). */
export async function runQuery(conn: DuckDBConnection, sql: string): Promise<QueryResult> {
  try {
    const r = await conn.runAndReadAll(sql);
    return { columns: r.columnNames(), rows: r.getRowObjectsJS() as Record<string, unknown>[] };
  } catch (e) {
    throw new StoreError(firstLine(e));
  }
}

/** Writes the result of `sql` to a Parquet file; returns the number of rows written. */
export async function exportParquet(conn: DuckDBConnection, sql: string, out: string): Promise<number> {
  try {
    const r = await conn.run(`COPY (${sql}) TO ${duckString(out)} (FORMAT parquet)`);
    return Number(r.rowsChanged);
  } catch (e) {
    throw new StoreError(`--parquet ${out}: ${firstLine(e)}`);
  }
}

/** One value for a table cell: `*_ns` as durations, times in UTC, lists joined. */
function cell(col: string, v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (v instanceof Date) {
    const iso = v.toISOString().replace('T', ' ').replace('Z', '');
    return iso.endsWith('.000') ? iso.slice(0, -4) : iso;
  }
  if (col.endsWith('_ns') && (typeof v === 'bigint' || typeof v === 'number')) return shortNs(Number(v));
  if (Array.isArray(v)) return v.map((x) => cell('', x)).join(' ');
  if (typeof v === 'object') return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
  return String(v);
}

/** A plain table: a header, then one line per row; numbers right-aligned; long cells cut at `maxCell`. */
export function formatTable(res: QueryResult, maxCell = 60): string {
  if (res.rows.length === 0) return '(no rows)\n';
  const cols = res.columns;
  const cells = res.rows.map((r) =>
    cols.map((c) => {
      const s = cell(c, r[c]);
      return s.length > maxCell ? `${s.slice(0, maxCell - 1)}…` : s;
    }),
  );
  const right = cols.map((_c, i) =>
    res.rows.every((r) => ['number', 'bigint'].includes(typeof r[cols[i]]) || r[cols[i]] === null),
  );
  const width = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => (right[i] ? v.padStart(width[i]) : v.padEnd(width[i])))
      .join('  ')
      .trimEnd();
  return `${[line(cols), ...cells.map(line)].join('\n')}\n`;
}

/** JSON-ready value: Dates as ISO strings (bigints stay bigints for `jsonLine`). */
export function jsonValue(v: unknown): unknown {
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(jsonValue);
  return v;
}
