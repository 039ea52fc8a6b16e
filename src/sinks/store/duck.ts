/**
 * The embedded store: one DuckDB file (`@duckdb/node-api`) with the `outliers`, `profiles` and `meta` tables of
 * `schema.ts`. Appends go through DuckDB appenders in data chunks of up to 2048 rows, one transaction per batch
 * (`flushSync`): the synchronous part of the store, which is why `OutlierStore` runs this class in a worker thread.
 *
 * Opening turns every failure into a `StoreError` with one sentence (locked by another process, not a DuckDB file,
 * unreadable write-ahead log, read-only directory, newer schema) — never a crash loop.
 *
 * The commit ledger (issue 18): `<store>.committed` holds the store's id and the highest outlier and profile `seq`
 * committed, rewritten after every commit (one small write, no fsync: DuckDB has synced its log first, so after a
 * crash the ledger can only lag behind the log, never run ahead). Opening compares it with what DuckDB gives back.
 * DuckDB skips a write-ahead log whose first entry is damaged as if it were a torn tail, and drops it at the next
 * checkpoint: committed rows would vanish without a word. So when a log is present, the store is first replayed
 * read-only; if rows the ledger says were committed are missing, opening for writing is refused and both files are
 * left as they are. Rows missing without a log (moved away by the user) are reported once (`missing`).
 */
import { randomUUID } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  BIGINT,
  type DuckDBAppender,
  type DuckDBConnection,
  DuckDBDataChunk,
  DuckDBInstance,
  DuckDBTimestampValue,
  type DuckDBType,
  type DuckDBValue,
  INTEGER,
  LIST,
  listValue,
  TIMESTAMP,
  UBIGINT,
  VARCHAR,
} from '@duckdb/node-api';
import type { OutlierRecord } from '../../analyses/engine.ts';
import { systemErrorText } from '../../sources/errors.ts';
import type { HistoryQuery } from '../history.ts';
import {
  DUCK_DDL,
  DUCK_OUTLIER_COLUMNS,
  DUCK_PROFILE_COLUMNS,
  type OutlierRow,
  type ProfileRow,
  SCHEMA_VERSION,
  toRecord,
} from './schema.ts';

/** A store problem the user can act on: one sentence, exit code 2. */
export class StoreError extends Error {
  override name = 'StoreError';
  readonly exitCode = 2;
}

export interface DuckStoreOptions {
  path: string;
  /** Open for queries only (`query`): no schema changes, no retention; writes are refused by DuckDB. */
  readOnly?: boolean;
  /** Delete outliers and snapshots older than this many days (0 = keep forever). */
  retentionDays?: number;
  /** Keep the data under this many bytes, deleting the oldest first (0 = no limit). */
  retentionBytes?: number;
}

export interface RetentionResult {
  /** Rows deleted (outliers, profiles). */
  outliers: number;
  profiles: number;
  /** Deleted outliers that had not been shipped to ClickHouse yet (counted, never silent). */
  unshipped: number;
  /** Bytes of data blocks after the pass. */
  bytes: number;
}

/** DuckDB types of the SQL type names the tables use (schema.ts), for the appenders' data chunks. */
const DUCK_TYPES: Record<string, DuckDBType> = {
  UBIGINT,
  BIGINT,
  INTEGER,
  TIMESTAMP,
  VARCHAR,
  'VARCHAR[]': LIST(VARCHAR),
  'UBIGINT[]': LIST(UBIGINT),
};
/** Column types in appender order, read off the DDL's column list (`name TYPE [NOT NULL]`): one list to keep. */
function columnTypes(columns: readonly string[]): DuckDBType[] {
  return columns.map((c) => {
    const t = DUCK_TYPES[c.split(' ')[1]];
    if (t === undefined) throw new Error(`no DuckDB type for column "${c}"`);
    return t;
  });
}
const OUTLIER_TYPES = columnTypes(DUCK_OUTLIER_COLUMNS);
const PROFILE_TYPES = columnTypes(DUCK_PROFILE_COLUMNS);
/** Rows per row group of the store's tables (the unit in which deleted rows free space). */
const ROW_GROUP_ROWS = 8192;
/** DuckDB's data chunk capacity (STANDARD_VECTOR_SIZE). */
const CHUNK = 2048;
const DAY_MS = 86_400_000;

/** A DuckDB string literal (standard SQL: a quote is doubled; backslashes are plain characters). */
export function duckString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** Turns DuckDB's open errors into one sentence. */
export function openErrorMessage(path: string, e: unknown): string {
  const msg = String((e as Error)?.message ?? e).split('\n')[0];
  const lock = /Conflicting lock is held in (.*?) \(PID (\d+)\)/.exec(msg);
  if (lock) {
    return `store ${path} is in use by another process (pid ${lock[2]}, ${lock[1]}): one process at a time can open it`;
  }
  if (/WAL|write-ahead/i.test(msg)) {
    return `store ${path}: its write-ahead log ${path}.wal cannot be replayed (${msg.replace(/^[A-Za-z ]*Error: /, '')}); move ${path}.wal away to open the store without its last writes`;
  }
  if (/not a valid DuckDB database file|Could not read enough bytes|checksum|Corrupt|invalid/i.test(msg)) {
    return `store ${path} is not a readable DuckDB database (corrupt, or another kind of file): move it away or choose another path`;
  }
  if (/database does not exist/.test(msg)) return `store ${path} does not exist`;
  if (/newer version|older version|storage version|serialization/i.test(msg)) {
    return `store ${path} was written by another DuckDB version (${msg.replace(/^[A-Za-z ]*Error: /, '')})`;
  }
  return `cannot open store ${path}: ${msg.replace(/^[A-Za-z ]*Error: /, '')}`;
}

/** A failure of DuckDB while the store is open (a commit, a checkpoint), as one clause without DuckDB's prefixes. */
export function storeFailure(e: unknown): string {
  let msg = String((e as Error)?.message ?? e)
    .split('\n')[0]
    .replace(/^[A-Za-z ]*Error: /, '')
    .replace(/^(Failed to (append|commit): )+/, '');
  const ck = /^Checkpoint failed for database "[^"]*"\. The database has been invalidated\. Original error: (.*)$/.exec(
    msg,
  );
  if (ck) msg = `checkpoint failed: ${ck[1]}`;
  if (/No space left on device/.test(msg)) msg += ' (the disk is full)';
  return msg;
}

/** The highest seqs committed to a store (the commit ledger's content; see the module comment). */
export interface Committed {
  storeId: string | undefined;
  outliers: bigint;
  profiles: bigint;
}

/** Where the commit ledger of the store at `path` is. */
export function ledgerPath(path: string): string {
  return `${path}.committed`;
}

function readLedger(path: string): Committed | undefined {
  let text: string;
  try {
    text = readFileSync(ledgerPath(path), 'utf8');
  } catch {
    return undefined;
  }
  const m = /^store_id (\S+)\noutliers (\d{1,20})\nprofiles (\d{1,20})\n$/.exec(text);
  return m === null ? undefined : { storeId: m[1], outliers: BigInt(m[2]), profiles: BigInt(m[3]) };
}

/** Committed rows the ledger knows of and the store does not give back (same store, or one with no id left). */
function missingRows(
  ledger: Committed | undefined,
  got: Committed,
): { outliers: number; profiles: number } | undefined {
  if (ledger === undefined || (got.storeId !== undefined && got.storeId !== ledger.storeId)) return undefined;
  const o = ledger.outliers > got.outliers ? Number(ledger.outliers - got.outliers) : 0;
  const p = ledger.profiles > got.profiles ? Number(ledger.profiles - got.profiles) : 0;
  return o > 0 || p > 0 ? { outliers: o, profiles: p } : undefined;
}

/** `N committed outliers and M committed profile snapshots` (the non-zero parts). */
export function rowsText(m: { outliers: number; profiles: number }): string {
  const parts: string[] = [];
  if (m.outliers > 0) parts.push(`${m.outliers} committed outlier${m.outliers === 1 ? '' : 's'}`);
  if (m.profiles > 0) parts.push(`${m.profiles} committed profile snapshot${m.profiles === 1 ? '' : 's'}`);
  return parts.join(' and ');
}

/** What a read-only replay of the store gives back: its id and highest seqs (0 for tables it does not have). */
async function probeCommitted(path: string): Promise<Committed> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    await c.run(`ATTACH ${duckString(path)} AS store (READ_ONLY)`);
    const rows = async <T>(sql: string) => (await c.runAndReadAll(sql)).getRowObjectsJS() as T[];
    const tables = new Set(
      (
        await rows<{ n: string }>("SELECT table_name AS n FROM information_schema.tables WHERE table_catalog = 'store'")
      ).map((t) => t.n),
    );
    const out: Committed = { storeId: undefined, outliers: 0n, profiles: 0n };
    const meta = new Map<string, string>();
    if (tables.has('meta'))
      for (const r of await rows<{ key: string; value: string }>('SELECT key, value FROM store.meta'))
        meta.set(r.key, r.value);
    out.storeId = meta.get('store_id');
    for (const t of ['outliers', 'profiles'] as const) {
      let max = BigInt(meta.get(`last_seq_${t}`) ?? '0');
      if (tables.has(t)) {
        const m = (await rows<{ m: bigint | null }>(`SELECT max(seq) AS m FROM store.${t}`))[0]?.m ?? 0n;
        if (m > max) max = m;
      }
      out[t] = max;
    }
    return out;
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

/** Checks that the store can be created or written where asked, before DuckDB tries. */
function checkWritable(path: string): void {
  const dir = dirname(path);
  if (!existsSync(dir)) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o750 });
    } catch (e) {
      throw new StoreError(`cannot create the directory ${dir} for store ${path}: ${systemErrorText(e)}`);
    }
  }
  try {
    if (existsSync(path)) {
      if (statSync(path).isDirectory()) throw new StoreError(`store ${path} is a directory, not a file`);
      accessSync(path, constants.R_OK | constants.W_OK);
    }
    accessSync(dir, constants.W_OK);
  } catch (e) {
    if (e instanceof StoreError) throw e;
    throw new StoreError(`cannot write store ${path}: ${dir} is not writable (${systemErrorText(e)})`);
  }
}

export class DuckStore {
  private outApp: DuckDBAppender | undefined;
  private profApp: DuckDBAppender | undefined;
  private nextSeq = 1n;
  private nextProfileSeq = 1n;
  /** This store's identity (random, kept in `meta`): with `seq`, names a row across a fleet. */
  storeId = '';
  /**
   * Committed rows the commit ledger knows of and the store could not give back (its write-ahead log moved away or
   * damaged); undefined when none. Reported once: the ledger is rewritten on opening for writing.
   */
  missing: { outliers: number; profiles: number } | undefined;
  /** The store id found in the file at open (undefined for a store created now). */
  private foundStoreId: string | undefined;
  /** The seqs last kept in `meta` (`keepSeqs` writes only when they change: a refused start writes nothing). */
  private keptSeqs = { outliers: -1n, profiles: -1n };
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly opts: DuckStoreOptions,
    private readonly db: DuckDBInstance,
    /** Appenders and writes. */
    readonly wconn: DuckDBConnection,
    /** Reads (queries run on DuckDB's threads while the writer appends). */
    readonly rconn: DuckDBConnection,
  ) {}

  static async open(opts: DuckStoreOptions): Promise<DuckStore> {
    const path = resolve(opts.path);
    if (!opts.readOnly) checkWritable(path);
    else if (!existsSync(path)) throw new StoreError(`store ${path} does not exist`);
    const ledger = readLedger(path);
    const wal = `${path}.wal`;
    if (!opts.readOnly && ledger !== undefined && existsSync(wal)) {
      // Replay the log read-only first: a log DuckDB can only partly replay would be dropped by the first checkpoint.
      let got: Committed;
      try {
        got = await probeCommitted(path);
      } catch (e) {
        throw new StoreError(openErrorMessage(path, e));
      }
      const lost = missingRows(ledger, got);
      if (lost !== undefined) {
        throw new StoreError(
          `store ${path}: its write-ahead log ${wal} is damaged, ${rowsText(lost)} in it cannot be read back; both ` +
            `files are left untouched (keep a copy: moving ${wal} away opens the store without those rows)`,
        );
      }
    }
    // The file is attached (not opened as the main database) to choose its row group size: DuckDB frees space
    // only for whole row groups, so smaller ones make size retention finer (8192 rows instead of 122880).
    const db = await DuckDBInstance.create(':memory:');
    let w: DuckDBConnection | undefined;
    let r: DuckDBConnection | undefined;
    try {
      w = await db.connect();
      const mode = opts.readOnly ? ', READ_ONLY' : '';
      await w.run(`ATTACH ${duckString(path)} AS store (ROW_GROUP_SIZE ${ROW_GROUP_ROWS}${mode})`);
      await w.run('USE store');
      // The writer (live --store, the daemon) never reads other files; with this off, a read-only query the daemon
      // answers for `query` (`GET`/`POST /api/query`) can read the store's tables and nothing else on the machine.
      if (!opts.readOnly) await w.run('SET enable_external_access = false');
      r = await db.connect();
      await r.run('USE store');
    } catch (e) {
      w?.closeSync();
      r?.closeSync();
      db.closeSync();
      throw new StoreError(openErrorMessage(path, e));
    }
    const s = new DuckStore(path, opts, db, w, r);
    try {
      await s.init();
    } catch (e) {
      s.closeNow();
      if (ledger !== undefined && existsSync(wal)) {
        // A store whose every table was still in its (damaged) log: say so rather than "not a store".
        throw new StoreError(
          `store ${path}: its write-ahead log ${wal} is damaged, the committed rows in it cannot be read back`,
        );
      }
      if (e instanceof StoreError) throw e;
      throw new StoreError(openErrorMessage(path, e));
    }
    // Against the id the file had (a store whose id was only in a lost log gets a new one, yet lost those rows).
    s.missing = missingRows(ledger, { ...s.committed, storeId: s.foundStoreId });
    if (!opts.readOnly) s.writeLedger();
    return s;
  }

  /** The highest seqs given so far, with the store's id. */
  get committed(): Committed {
    return { storeId: this.storeId || undefined, outliers: this.nextSeq - 1n, profiles: this.nextProfileSeq - 1n };
  }

  /** Rewrites the commit ledger (best effort: a ledger that cannot be written only lags behind). */
  private writeLedger(): void {
    const c = this.committed;
    try {
      writeFileSync(
        ledgerPath(this.path),
        `store_id ${this.storeId}\noutliers ${c.outliers}\nprofiles ${c.profiles}\n`,
      );
    } catch {
      // a full disk: DuckDB's own write failed or will fail first
    }
  }

  private async init(): Promise<void> {
    if (!this.opts.readOnly) {
      for (const sql of DUCK_DDL) await this.wconn.run(sql);
    }
    const tables = await this.rows<{ name: string }>(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_catalog = 'store'",
    );
    const names = new Set(tables.map((t) => t.name));
    if (!names.has('outliers') || !names.has('meta') || !names.has('profiles')) {
      throw new StoreError(`store ${this.path} is a DuckDB database but not a latency-tracker store`);
    }
    const version = await this.getMeta('schema_version');
    if (version !== undefined && version !== SCHEMA_VERSION) {
      throw new StoreError(
        `store ${this.path} has schema version ${version}; this latency-tracker reads version ${SCHEMA_VERSION}`,
      );
    }
    if (this.opts.readOnly) {
      this.foundStoreId = await this.getMeta('store_id');
      this.storeId = this.foundStoreId ?? '';
      this.nextSeq = (await this.maxSeq('outliers')) + 1n;
      this.nextProfileSeq = (await this.maxSeq('profiles')) + 1n;
      return;
    }
    if (version === undefined) await this.setMeta('schema_version', SCHEMA_VERSION);
    let id = await this.getMeta('store_id');
    this.foundStoreId = id;
    if (id === undefined) {
      id = randomUUID();
      await this.setMeta('store_id', id);
    }
    this.storeId = id;
    this.nextSeq = (await this.maxSeq('outliers')) + 1n;
    this.nextProfileSeq = (await this.maxSeq('profiles')) + 1n;
    this.keptSeqs = {
      outliers: BigInt((await this.getMeta('last_seq_outliers')) ?? '-1'),
      profiles: BigInt((await this.getMeta('last_seq_profiles')) ?? '-1'),
    };
    this.outApp = await this.wconn.createAppender('outliers', 'main', 'store');
    this.profApp = await this.wconn.createAppender('profiles', 'main', 'store');
  }

  /** Highest sequence number ever given in `table` (rows deleted by retention included, via `meta`). */
  private async maxSeq(table: 'outliers' | 'profiles'): Promise<bigint> {
    const r = await this.rows<{ m: bigint | null }>(`SELECT max(seq) AS m FROM ${table}`);
    const inTable = r[0]?.m ?? 0n;
    const kept = BigInt((await this.getMeta(`last_seq_${table}`)) ?? '0');
    return inTable > kept ? inTable : kept;
  }

  async getMeta(key: string): Promise<string | undefined> {
    const r = await this.rconn.runAndReadAll('SELECT value FROM meta WHERE key = $1', [key]);
    const rows = r.getRowObjectsJS() as { value: string }[];
    return rows[0]?.value;
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.wconn.run('INSERT OR REPLACE INTO meta VALUES ($1, $2)', [key, value]);
  }

  /** Rows of a read query as plain JS objects (BIGINT → bigint, TIMESTAMP → Date, LIST → array). */
  async rows<T>(sql: string, params?: DuckDBValue[]): Promise<T[]> {
    const r = await this.rconn.runAndReadAll(sql, params);
    return r.getRowObjectsJS() as T[];
  }

  /** Appends outliers in one transaction; assigns their `seq`. Returns the last seq given. */
  appendOutliers(rows: OutlierRow[]): bigint {
    const app = this.writer(this.outApp);
    for (let off = 0; off < rows.length; off += CHUNK) {
      const n = Math.min(CHUNK, rows.length - off);
      const cols: DuckDBValue[][] = OUTLIER_TYPES.map(() => new Array<DuckDBValue>(n));
      for (let j = 0; j < n; j++) {
        const r = rows[off + j];
        r.seq = this.nextSeq++;
        cols[0][j] = r.seq;
        cols[1][j] = new DuckDBTimestampValue(BigInt(Math.round(r.timeMs * 1000)));
        cols[2][j] = r.host;
        cols[3][j] = r.analysis;
        cols[4][j] = r.reason;
        cols[5][j] = r.start_ns;
        cols[6][j] = r.end_ns;
        cols[7][j] = BigInt(Math.round(r.latency_ns));
        cols[8][j] = r.cpu;
        cols[9][j] = r.tid;
        cols[10][j] = r.pid;
        cols[11][j] = r.comm;
        cols[12][j] = r.subject;
        cols[13][j] = r.detail;
        cols[14][j] = r.stack === null ? null : listValue(r.stack);
        cols[15][j] = r.cgroup;
        cols[16][j] = r.unit;
        cols[17][j] = r.container;
        cols[18][j] = r.pod_uid;
        cols[19][j] = r.throttled_ns === null ? null : BigInt(Math.round(r.throttled_ns));
        cols[20][j] = r.cgroup_stats;
        cols[21][j] = r.trace_file;
      }
      const chunk = DuckDBDataChunk.create(OUTLIER_TYPES, n);
      chunk.setColumns(cols);
      app.appendDataChunk(chunk);
    }
    app.flushSync();
    this.writeLedger();
    return this.nextSeq - 1n;
  }

  /** Appends profile snapshots in one transaction; assigns their `seq`. */
  appendProfiles(rows: ProfileRow[]): bigint {
    const app = this.writer(this.profApp);
    for (let off = 0; off < rows.length; off += CHUNK) {
      const n = Math.min(CHUNK, rows.length - off);
      const cols: DuckDBValue[][] = PROFILE_TYPES.map(() => new Array<DuckDBValue>(n));
      const big = (v: number | null) => (v === null ? null : BigInt(Math.round(v)));
      for (let j = 0; j < n; j++) {
        const r = rows[off + j];
        r.seq = this.nextProfileSeq++;
        const row: DuckDBValue[] = [
          r.seq,
          new DuckDBTimestampValue(BigInt(Math.round(r.timeMs * 1000))),
          new DuckDBTimestampValue(BigInt(Math.round(r.startMs * 1000))),
          r.host,
          r.analysis,
          BigInt(r.count),
          big(r.min_ns),
          big(r.max_ns),
          r.sum_ns,
          big(r.p50_ns),
          big(r.p90_ns),
          big(r.p99_ns),
          big(r.p999_ns),
          BigInt(r.outliers),
          BigInt(r.over_threshold),
          BigInt(r.timeouts),
          listValue(r.bucket_ns.map((v) => BigInt(Math.round(v)))),
          listValue(r.bucket_counts.map((v) => BigInt(v))),
          r.hdr,
        ];
        for (let c = 0; c < row.length; c++) cols[c][j] = row[c];
      }
      const chunk = DuckDBDataChunk.create(PROFILE_TYPES, n);
      chunk.setColumns(cols);
      app.appendDataChunk(chunk);
    }
    app.flushSync();
    this.writeLedger();
    return this.nextProfileSeq - 1n;
  }

  private writer(app: DuckDBAppender | undefined): DuckDBAppender {
    if (app === undefined || this.closed) throw new StoreError(`store ${this.path} is not open for writing`);
    return app;
  }

  /** Outliers for `GET /api/events`: the newest `limit` that match, newest first (the `OutlierHistory` contract). */
  async history(q: HistoryQuery): Promise<OutlierRecord[]> {
    const where: string[] = [];
    const params: DuckDBValue[] = [];
    if (q.analysis !== undefined) {
      params.push(q.analysis);
      where.push(`analysis = $${params.length}`);
    }
    if (q.since !== undefined) {
      params.push(q.since < 0n ? 0n : q.since);
      where.push(`end_ns > $${params.length}::UBIGINT`);
    }
    if (q.before !== undefined) {
      params.push(q.before < 0n ? 0n : q.before);
      where.push(`end_ns < $${params.length}::UBIGINT`);
    }
    if (q.cgroup !== undefined) {
      const under = q.cgroup.replace(/\/+$/, '') || '/';
      if (under === '/') where.push('cgroup IS NOT NULL');
      else {
        params.push(under);
        const n = params.length;
        where.push(`(cgroup = $${n} OR starts_with(cgroup, $${n} || '/'))`);
      }
    }
    const limit = Math.max(0, Math.min(Math.floor(q.limit), 100_000));
    const cond = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const rows = await this.rows<RawOutlier>(
      `SELECT * FROM outliers ${cond} ORDER BY end_ns DESC, seq DESC LIMIT ${limit}`,
      params,
    );
    return rows.map(rawToRecord);
  }

  /** Outlier rows with seq above `after`, ascending, at most `limit` (for shipping to ClickHouse). */
  async outliersAfter(after: bigint, limit: number): Promise<OutlierRow[]> {
    const rows = await this.rows<RawOutlier>(
      `SELECT * FROM outliers WHERE seq > $1::UBIGINT ORDER BY seq LIMIT ${Math.floor(limit)}`,
      [after],
    );
    return rows.map(rawToRow);
  }

  async profilesAfter(after: bigint, limit: number): Promise<ProfileRow[]> {
    const rows = await this.rows<RawProfile>(
      `SELECT * FROM profiles WHERE seq > $1::UBIGINT ORDER BY seq LIMIT ${Math.floor(limit)}`,
      [after],
    );
    return rows.map(rawToProfile);
  }

  /** Bytes of data blocks in use (the file itself does not shrink; freed blocks are reused). */
  async dataBytes(): Promise<number> {
    const r = await this.rows<{ block_size: bigint; used_blocks: bigint }>(
      "SELECT block_size, used_blocks FROM pragma_database_size() WHERE database_name = 'store'",
    );
    const wal = existsSync(`${this.path}.wal`) ? statSync(`${this.path}.wal`).size : 0;
    return Number(r[0].block_size * r[0].used_blocks) + wal;
  }

  /**
   * Applies retention: rows older than `retentionDays`, then the oldest rows while the data is above
   * `retentionBytes`. `shipped` gives the ClickHouse watermarks, to count deleted rows that were never shipped.
   */
  async retention(nowMs: number, shipped?: { outliers: bigint }): Promise<RetentionResult> {
    const res: RetentionResult = { outliers: 0, profiles: 0, unshipped: 0, bytes: 0 };
    if (this.opts.readOnly || this.closed) return res;
    // Nothing is written unless something is deleted: a start refused later (a full disk, a damaged block) must not
    // grow the write-ahead log each time.
    const unshippedAfter = shipped?.outliers;
    const days = this.opts.retentionDays ?? 0;
    if (days > 0) {
      const cutoff = new DuckDBTimestampValue(BigInt(Math.round((nowMs - days * DAY_MS) * 1000)));
      const old = await this.rows<{ n: bigint }>(
        'SELECT (SELECT count(*) FROM outliers WHERE time < $1) + (SELECT count(*) FROM profiles WHERE time < $1) AS n',
        [cutoff],
      );
      if (Number(old[0].n) > 0) {
        await this.keepSeqs();
        if (unshippedAfter !== undefined)
          res.unshipped += await this.countUnshipped('time < $1', [cutoff], unshippedAfter);
        res.outliers += await this.deleteWhere('outliers', 'time < $1', [cutoff]);
        res.profiles += await this.deleteWhere('profiles', 'time < $1', [cutoff]);
      }
    }
    const limit = this.opts.retentionBytes ?? 0;
    if (limit > 0) {
      // Measure checkpointed data only (appends not yet checkpointed are not counted consistently).
      await this.wconn.run('CHECKPOINT store');
      let bytes = await this.dataBytes();
      // Each pass deletes the oldest share that would bring the data to ~80 % of the limit if rows were of equal
      // size. DuckDB frees space per row group (8192 rows): a pass that freed little deletes a larger share next
      // time, but the newest row group of each table is always kept (the data may exceed the limit by that much).
      let boost = 1;
      for (let pass = 0; pass < 8 && bytes > limit; pass++) {
        const share = Math.min(1, (1 - (0.8 * limit) / bytes) * boost);
        let deleted = 0;
        for (const table of ['outliers', 'profiles'] as const) {
          const n = Number((await this.rows<{ n: bigint }>(`SELECT count(*) AS n FROM ${table}`))[0].n);
          const k = Math.min(Math.ceil(n * share), n - ROW_GROUP_ROWS);
          if (k <= 0) continue;
          const cut = await this.rows<{ s: bigint }>(
            `SELECT seq AS s FROM ${table} ORDER BY seq LIMIT 1 OFFSET ${k - 1}`,
          );
          if (cut.length === 0) continue;
          await this.keepSeqs();
          if (table === 'outliers' && unshippedAfter !== undefined) {
            res.unshipped += await this.countUnshipped('seq <= $1::UBIGINT', [cut[0].s], unshippedAfter);
          }
          const d = await this.deleteWhere(table, 'seq <= $1::UBIGINT', [cut[0].s]);
          deleted += d;
          if (table === 'outliers') res.outliers += d;
          else res.profiles += d;
        }
        if (deleted === 0) break;
        await this.wconn.run('CHECKPOINT store');
        const after = await this.dataBytes();
        boost = after > bytes * 0.9 ? boost + 0.5 : 1;
        bytes = after;
      }
      res.bytes = bytes;
    } else {
      res.bytes = await this.dataBytes();
    }
    return res;
  }

  /** Remembers the highest seqs given, so that a store emptied by retention never reuses them. */
  private async keepSeqs(): Promise<void> {
    const o = this.nextSeq - 1n;
    const p = this.nextProfileSeq - 1n;
    if (o !== this.keptSeqs.outliers) await this.setMeta('last_seq_outliers', String(o));
    if (p !== this.keptSeqs.profiles) await this.setMeta('last_seq_profiles', String(p));
    this.keptSeqs = { outliers: o, profiles: p };
  }

  private async countUnshipped(cond: string, params: DuckDBValue[], after: bigint): Promise<number> {
    const r = await this.rows<{ n: bigint }>(
      `SELECT count(*) AS n FROM outliers WHERE ${cond} AND seq > $${params.length + 1}::UBIGINT`,
      [...params, after],
    );
    return Number(r[0].n);
  }

  private async deleteWhere(table: string, cond: string, params: DuckDBValue[]): Promise<number> {
    const r = await this.wconn.run(`DELETE FROM ${table} WHERE ${cond}`, params);
    return Number(r.rowsChanged);
  }

  /** Checkpoints (folds the write-ahead log into the file) and closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (!this.opts.readOnly) {
        this.outApp?.closeSync();
        this.profApp?.closeSync();
        await this.keepSeqs();
        await this.wconn.run('CHECKPOINT store');
      }
    } finally {
      this.closeNow();
    }
  }

  /** Closes without a checkpoint (what a crash leaves: DuckDB replays the log on the next open). */
  closeNow(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.wconn.closeSync();
      this.rconn.closeSync();
    } finally {
      this.db.closeSync();
    }
  }
}

/** An outlier row as DuckDB hands it back: TIMESTAMP as a Date, BIGINT as a bigint, `reason` as plain text. */
type RawOutlier = Omit<OutlierRow, 'timeMs' | 'latency_ns' | 'reason' | 'throttled_ns'> & {
  time: Date;
  latency_ns: bigint;
  reason: string;
  throttled_ns: bigint | null;
};

interface RawProfile {
  seq: bigint;
  time: Date;
  start: Date;
  host: string;
  analysis: string;
  count: bigint;
  min_ns: bigint | null;
  max_ns: bigint | null;
  sum_ns: bigint;
  p50_ns: bigint | null;
  p90_ns: bigint | null;
  p99_ns: bigint | null;
  p999_ns: bigint | null;
  outliers: bigint;
  over_threshold: bigint;
  timeouts: bigint;
  bucket_ns: bigint[];
  bucket_counts: bigint[];
  hdr: string;
}

function rawToRecord(r: RawOutlier): OutlierRecord {
  return toRecord({
    ...r,
    latency_ns: Number(r.latency_ns),
    throttled_ns: r.throttled_ns === null ? null : Number(r.throttled_ns),
  });
}

function rawToRow(r: RawOutlier): OutlierRow {
  return {
    seq: r.seq,
    timeMs: r.time.getTime(),
    host: r.host,
    analysis: r.analysis,
    reason: r.reason === 'timeout' ? 'timeout' : 'threshold',
    start_ns: r.start_ns,
    end_ns: r.end_ns,
    latency_ns: Number(r.latency_ns),
    cpu: r.cpu,
    tid: r.tid,
    pid: r.pid,
    comm: r.comm,
    subject: r.subject,
    detail: r.detail,
    stack: r.stack,
    cgroup: r.cgroup,
    unit: r.unit,
    container: r.container,
    pod_uid: r.pod_uid,
    throttled_ns: r.throttled_ns === null ? null : Number(r.throttled_ns),
    cgroup_stats: r.cgroup_stats,
    trace_file: r.trace_file ?? null,
  };
}

function rawToProfile(r: RawProfile): ProfileRow {
  const n = (v: bigint | null) => (v === null ? null : Number(v));
  return {
    seq: r.seq,
    timeMs: r.time.getTime(),
    startMs: r.start.getTime(),
    host: r.host,
    analysis: r.analysis,
    count: Number(r.count),
    min_ns: n(r.min_ns),
    max_ns: n(r.max_ns),
    sum_ns: r.sum_ns,
    p50_ns: n(r.p50_ns),
    p90_ns: n(r.p90_ns),
    p99_ns: n(r.p99_ns),
    p999_ns: n(r.p999_ns),
    outliers: Number(r.outliers),
    over_threshold: Number(r.over_threshold),
    timeouts: Number(r.timeouts),
    bucket_ns: r.bucket_ns.map(Number),
    bucket_counts: r.bucket_counts.map(Number),
    hdr: r.hdr,
  };
}
