/**
 * `latency-tracker query [REPORT]`: canned reports over a store, `--sql` for anything else (one read-only
 * statement), as a table or JSON Lines, and `--parquet OUT` to export outliers or a query result.
 */
import { ANALYSIS_NAMES, findAnalysis } from '../analyses/index.ts';
import { jsonLine } from '../sinks/json.ts';
import { DuckStore, rowsText } from '../sinks/store/duck.ts';
import {
  allOutliersSql,
  checkReadOnly,
  exportParquet,
  formatTable,
  jsonValue,
  REPORT_NAMES,
  REPORTS,
  type ReportFilter,
  runQuery,
} from '../sinks/store/reports.ts';
import { DEFAULT_STORE_PATH } from '../sinks/store/store.ts';
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

  const store = await DuckStore.open({ path: raw.store ?? DEFAULT_STORE_PATH, readOnly: true });
  // Committed rows the store cannot give back (a damaged or removed write-ahead log): said, and exit code 1.
  const missing = store.missing;
  if (missing !== undefined) {
    io.err(
      `latency-tracker: store ${store.path}: ${rowsText(missing)} cannot be read back (its write-ahead log ` +
        `${store.path}.wal is damaged or was moved away): the results leave them out\n`,
    );
  }
  const code = missing === undefined ? 0 : 1;
  try {
    const conn = store.rconn;
    const chosen = REPORTS.find((r) => r.name === (report ?? 'top')) ?? REPORTS[0];
    let sql: string;
    if (raw.sql !== undefined) sql = await checkReadOnly(conn, raw.sql);
    else if (raw.parquet !== undefined && report === undefined) sql = allOutliersSql(f);
    else sql = chosen.sql(f);

    if (raw.parquet !== undefined) {
      const n = await exportParquet(conn, sql, raw.parquet);
      io.err(`latency-tracker: wrote ${n} rows to ${raw.parquet}\n`);
      return code;
    }
    const res = await runQuery(conn, sql);
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
      if (raw.sql === undefined) io.out(`${chosen.title} — ${store.path}\n`);
      io.out(formatTable(res));
    }
    return code;
  } finally {
    store.closeNow();
  }
}
