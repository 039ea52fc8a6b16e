/**
 * `latency-tracker query [REPORT]`: canned reports over a store, `--sql` for anything else (one read-only
 * statement), as a table or JSON Lines, and `--parquet OUT` to export outliers or a query result.
 */

import { resolve } from 'node:path';
import { ANALYSIS_NAMES, findAnalysis } from '../analyses/index.ts';
import { jsonLine } from '../sinks/json.ts';
import { DuckStore, rowsText } from '../sinks/store/duck.ts';
import {
  allOutliersSql,
  checkReadOnly,
  exportParquet,
  formatTable,
  jsonValue,
  type QueryResult,
  REPORT_NAMES,
  REPORTS,
  type ReportFilter,
  runQuery,
} from '../sinks/store/reports.ts';
import { readServeNote, type ServeNote } from '../sinks/store/serve-note.ts';
import { DEFAULT_STORE_PATH } from '../sinks/store/store.ts';
import { SetupError, systemErrorText } from '../sources/errors.ts';
import { parseDuration } from './duration.ts';
import { UsageError } from './options.ts';
import type { Output } from './run.ts';

export interface RawQueryOptions {
  store?: string;
  sql?: string;
  json?: boolean;
  parquet?: string;
  analysis?: string;
  last?: string;
  host?: string;
  limit?: string;
  every?: string;
  token?: string;
}

export async function runQueryCommand(report: string | undefined, raw: RawQueryOptions, io: Output): Promise<number> {
  if (report !== undefined && !REPORT_NAMES.includes(report)) {
    throw new UsageError(`unknown report '${report}' (one of ${REPORT_NAMES.join(', ')})`);
  }
  if (report !== undefined && raw.sql !== undefined) throw new UsageError('give either a REPORT or --sql, not both');
  if (raw.analysis !== undefined && findAnalysis(raw.analysis) === undefined) {
    throw new UsageError(`--analysis: unknown analysis '${raw.analysis}' (one of ${ANALYSIS_NAMES.join(', ')})`);
  }
  const f: ReportFilter = { analysis: raw.analysis, host: raw.host, limit: 20, everySec: 60 };
  if (raw.limit !== undefined) {
    if (!/^\d+$/.test(raw.limit) || Number(raw.limit) <= 0 || Number(raw.limit) > 1e7) {
      throw new UsageError(`--limit: '${raw.limit}' is not a positive integer`);
    }
    f.limit = Number(raw.limit);
  }
  if (raw.last !== undefined) {
    const d = parseDuration(raw.last);
    if (typeof d === 'string') throw new UsageError(`--last: ${d}`);
    f.sinceMs = Date.now() - d / 1e6;
  }
  if (raw.every !== undefined) {
    const d = parseDuration(raw.every);
    if (typeof d === 'string') throw new UsageError(`--every: ${d}`);
    if (d < 1e9) throw new UsageError(`--every: '${raw.every}' is below 1s`);
    f.everySec = Math.round(d / 1e9);
  }
  if (raw.parquet !== undefined && raw.parquet.trim() === '') throw new UsageError('--parquet: empty path');

  const path = raw.store ?? DEFAULT_STORE_PATH;
  const chosen = REPORTS.find((r) => r.name === (report ?? 'top')) ?? REPORTS[0];
  let res: QueryResult;
  let where: string;
  let code = 0;
  const daemon = readServeNote(path);
  if (daemon !== undefined) {
    // The running daemon holds the store (one process at a time): it answers the query.
    if (raw.parquet !== undefined) {
      throw new UsageError(
        `--parquet: the store ${path} is held by the running daemon (pid ${daemon.pid}); reports and --sql go through it, an export needs the daemon stopped`,
      );
    }
    res = await askDaemon(daemon, raw.sql ?? chosen.sql(f), raw.token ?? process.env.LATENCY_TRACKER_TOKEN);
    where = `${resolve(path)}, through the daemon (pid ${daemon.pid})`;
  } else {
    const store = await DuckStore.open({ path, readOnly: true });
    // Committed rows the store cannot give back (a damaged or removed write-ahead log): said, and exit code 1.
    const missing = store.missing;
    if (missing !== undefined) {
      io.err(
        `latency-tracker: store ${store.path}: ${rowsText(missing)} cannot be read back (its write-ahead log ` +
          `${store.path}.wal is damaged or was moved away): the results leave them out\n`,
      );
      code = 1;
    }
    try {
      const conn = store.rconn;
      let sql: string;
      if (raw.sql !== undefined) sql = await checkReadOnly(conn, raw.sql);
      else if (raw.parquet !== undefined && report === undefined) sql = allOutliersSql(f);
      else sql = chosen.sql(f);
      if (raw.parquet !== undefined) {
        const n = await exportParquet(conn, sql, raw.parquet);
        io.err(`latency-tracker: wrote ${n} rows to ${raw.parquet}\n`);
        return code;
      }
      res = await runQuery(conn, sql);
      where = store.path;
    } finally {
      store.closeNow();
    }
  }
  if (raw.json) {
    const type = raw.sql !== undefined ? 'row' : chosen.name;
    const lines: string[] = [];
    for (const row of res.rows) {
      const obj: Record<string, unknown> = { type };
      for (const c of res.columns) obj[c] = jsonValue(row[c]);
      lines.push(`${jsonLine(obj)}\n`);
    }
    io.out(lines.join(''));
  } else {
    if (raw.sql === undefined) io.out(`${chosen.title} — ${where}\n`);
    // Raw SQL gets raw values; the canned reports show durations and times for people.
    io.out(formatTable(res, { raw: raw.sql !== undefined }));
  }
  return code;
}

/** Asks the daemon that holds the store to run one read-only statement (`POST /api/query`). */
async function askDaemon(d: ServeNote, sql: string, token: string | undefined): Promise<QueryResult> {
  let r: Response;
  try {
    r = await fetch(`${d.url}/api/query`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/json',
        ...(token !== undefined ? { Authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({ sql }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (e) {
    const why = systemErrorText((e as { cause?: unknown }).cause ?? e);
    throw new SetupError(`the daemon holding the store (pid ${d.pid}) does not answer at ${d.url}: ${why}`);
  }
  const body = (await r.json().catch(() => ({}))) as {
    error?: string;
    columns?: string[];
    types?: string[];
    rows?: unknown[][];
  };
  if (r.status === 401) {
    throw new UsageError(
      `the daemon holding the store (pid ${d.pid}) needs its token: --token or LATENCY_TRACKER_TOKEN`,
    );
  }
  if (!r.ok || body.columns === undefined || body.types === undefined || body.rows === undefined) {
    throw new UsageError(body.error ?? `the daemon holding the store answered ${r.status} ${r.statusText}`);
  }
  return revive(body.columns, body.types, body.rows);
}

/** Rows as `runQuery` gives them, from the daemon's JSON: timestamps to Dates, 64-bit integers to bigints. */
function revive(columns: string[], types: string[], rows: unknown[][]): QueryResult {
  const conv = types.map((t) => {
    if (/^TIMESTAMP/.test(t)) return (v: unknown) => (typeof v === 'string' ? new Date(v) : v);
    if (/^U?(BIGINT|HUGEINT)(\[\])?$/.test(t)) {
      const big = (v: unknown): unknown =>
        typeof v === 'string' && /^-?\d+$/.test(v) ? BigInt(v) : Array.isArray(v) ? v.map(big) : v;
      return big;
    }
    return (v: unknown) => v;
  });
  return {
    columns,
    rows: rows.map((row) => Object.fromEntries(columns.map((c, i) => [c, conv[i](row[i])]))),
  };
}
