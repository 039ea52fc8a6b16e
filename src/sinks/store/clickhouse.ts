/**
 * The fleet sink: ships the local store's outliers and profile snapshots to ClickHouse over HTTP
 * (`@clickhouse/client`), works with ClickHouse 18.16 (no DateTime64, no query parameters) and current versions.
 *
 * The local DuckDB store is the spool (an outbox): every row is committed there first, with a per-store `seq`;
 * the shipper reads rows above its watermark (kept in the store's `meta`, per destination), inserts them in batches,
 * and moves the watermark only after ClickHouse acknowledged the insert. While ClickHouse is down it retries with
 * exponential backoff (0.5 s doubling to 30 s) and rows wait in the store, so nothing is lost across a restart of
 * either side.
 *
 * No duplicates: a batch whose insert failed (or the first batch after opening, in case the previous process died
 * between ClickHouse's acknowledgement and the watermark update) may have landed in part. Before sending it again
 * the shipper asks ClickHouse which of its `seq`s are already there for this `store_id` and sends only the others.
 * The tables are ReplacingMergeTree ordered by (..., store_id, seq) as a second line of defence.
 */
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { chString, chUInt64, isIdentifier } from './chsql.ts';
import { type DuckStore, StoreError } from './duck.ts';
import {
  CLICKHOUSE_OUTLIER_ADDED,
  clickhouseDDL,
  clickhouseOutlier,
  clickhouseProfile,
  type OutlierRow,
  type ProfileRow,
} from './schema.ts';

export interface ClickHouseOptions {
  url: string;
  user?: string;
  password?: string;
  database?: string;
  /** Rows per insert (default 5000). */
  batchRows?: number;
  /** Per-request timeout, ms (default 10 s). */
  requestTimeoutMs?: number;
}

export interface ShipperStats {
  state: 'up' | 'down';
  shippedOutliers: number;
  shippedProfiles: number;
  /** Rows found already in ClickHouse when a failed batch was re-sent (not sent twice). */
  alreadyThere: number;
  failures: number;
  lastError: string | null;
}

const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;

/** ClickHouse error codes that mean the credentials were refused. */
const AUTH_CODES = new Set([192, 193, 194, 195, 516]);

/** One line about a ClickHouse failure; `auth` when the server refused the user. */
export function describeClickHouseError(url: string, user: string, e: unknown): { text: string; auth: boolean } {
  const err = e as NodeJS.ErrnoException & { message?: string };
  const msg = String(err?.message ?? e)
    .split('\n')[0]
    .trim();
  const code = /Code: (\d+)/.exec(msg);
  if (code !== null && AUTH_CODES.has(Number(code[1]))) {
    const what = msg
      .replace(/^Code: \d+[.,]\s*(e\.displayText\(\) = )?(DB::Exception: )?/, '')
      .replace(/,? e\.what\(\).*$/, '');
    return { text: `ClickHouse at ${url} refused user '${user}': ${what}`, auth: true };
  }
  if (err?.code !== undefined && /^E[A-Z]+$/.test(err.code)) {
    return { text: `ClickHouse at ${url} is unreachable (${err.code})`, auth: false };
  }
  if (/timeout/i.test(msg)) return { text: `ClickHouse at ${url} did not answer in time (${msg})`, auth: false };
  return { text: `ClickHouse at ${url}: ${msg.replace(/, e\.what\(\).*$/, '')}`, auth: false };
}

type Table = 'outliers' | 'profiles';

export class ClickHouseShipper {
  private readonly client: ClickHouseClient;
  private readonly db: string;
  private readonly batch: number;
  private readonly key: string;
  private acked: Record<Table, bigint> = { outliers: 0n, profiles: 0n };
  /** A batch of this table may have landed in part: check before sending. */
  private uncertain: Record<Table, boolean> = { outliers: true, profiles: true };
  private backoff = MIN_BACKOFF_MS;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  readonly stats: ShipperStats = {
    state: 'up',
    shippedOutliers: 0,
    shippedProfiles: 0,
    alreadyThere: 0,
    failures: 0,
    lastError: null,
  };

  constructor(
    private readonly store: DuckStore,
    private readonly opts: ClickHouseOptions,
    private readonly log: (line: string) => void,
  ) {
    this.db = opts.database ?? 'latency_tracker';
    if (!isIdentifier(this.db)) throw new StoreError(`--clickhouse-database: '${this.db}' is not a plain identifier`);
    this.batch = opts.batchRows ?? 5000;
    this.client = createClient({
      url: opts.url,
      username: opts.user ?? 'default',
      password: opts.password ?? '',
      request_timeout: opts.requestTimeoutMs ?? 10_000,
      compression: { request: false, response: false },
      log: { level: ClickHouseLogLevel.OFF },
    });
    const u = new URL(opts.url);
    this.key = `clickhouse:${u.protocol}//${u.host}${u.pathname.replace(/\/$/, '')}/${this.db}`;
  }

  /** Checks the server and the credentials, creates the database and tables if missing. One-line errors. */
  async start(): Promise<void> {
    const user = this.opts.user ?? 'default';
    try {
      await this.client.query({ query: 'SELECT version()', format: 'JSONEachRow' }).then((r) => r.json());
      for (const sql of clickhouseDDL(this.db)) await this.client.command({ query: sql });
      await this.addColumns();
    } catch (e) {
      throw new StoreError(describeClickHouseError(this.opts.url, user, e).text);
    }
    for (const t of ['outliers', 'profiles'] as const) {
      this.acked[t] = BigInt((await this.store.getMeta(`${this.key}:${t}`)) ?? '0');
    }
  }

  /**
   * Tables created by an older latency-tracker lack the columns added since (the cgroup ones): added here. Checked
   * in `system.columns` first (`ADD COLUMN IF NOT EXISTS` is newer than the oldest ClickHouse we support).
   */
  private async addColumns(): Promise<void> {
    const res = await this.client.query({
      query: `SELECT name FROM system.columns WHERE database = ${chString(this.db)} AND table = 'outliers'`,
      format: 'JSONEachRow',
    });
    const have = new Set(((await res.json()) as { name: string }[]).map((r) => r.name));
    for (const [name, type] of CLICKHOUSE_OUTLIER_ADDED) {
      if (!have.has(name))
        await this.client.command({ query: `ALTER TABLE ${this.db}.outliers ADD COLUMN ${name} ${type}` });
    }
  }

  /** Ships soon (after new rows were committed). */
  kick(): void {
    if (this.stopped) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    if (this.timer !== undefined) return; // backing off: the timer will ship
    this.running = this.loop();
  }

  private async loop(): Promise<void> {
    try {
      do {
        this.again = false;
        const more = await this.shipAll(Number.POSITIVE_INFINITY);
        if (more === 'down') {
          this.scheduleRetry();
          return;
        }
      } while (this.again && !this.stopped);
    } finally {
      this.running = undefined;
    }
  }

  private scheduleRetry(): void {
    if (this.stopped) return;
    const wait = this.backoff * (0.75 + Math.random() * 0.5);
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.kick();
    }, wait);
  }

  /** Ships batches until nothing is pending ('idle'), the deadline passes ('more'), or a failure ('down'). */
  private async shipAll(deadline: number): Promise<'idle' | 'more' | 'down'> {
    for (;;) {
      let sent = 0;
      for (const t of ['outliers', 'profiles'] as const) {
        const r = await this.shipBatch(t);
        if (r < 0) return 'down';
        sent += r;
      }
      if (sent === 0) return 'idle';
      if (Date.now() >= deadline || this.stopped) return 'more';
    }
  }

  /** One batch of one table: rows read, or -1 on failure. */
  private async shipBatch(t: Table): Promise<number> {
    const rows: (OutlierRow | ProfileRow)[] =
      t === 'outliers'
        ? await this.store.outliersAfter(this.acked[t], this.batch)
        : await this.store.profilesAfter(this.acked[t], this.batch);
    if (rows.length === 0) return 0;
    const last = rows[rows.length - 1].seq;
    try {
      let todo = rows;
      if (this.uncertain[t]) {
        const there = await this.present(t, rows);
        if (there.size > 0) {
          todo = rows.filter((r) => !there.has(r.seq));
          this.stats.alreadyThere += rows.length - todo.length;
        }
      }
      if (todo.length > 0) {
        const id = this.store.storeId;
        const values =
          t === 'outliers'
            ? (todo as OutlierRow[]).map((r) => clickhouseOutlier(r, id))
            : (todo as ProfileRow[]).map((r) => clickhouseProfile(r, id));
        await this.client.insert({ table: `${this.db}.${t}`, values, format: 'JSONEachRow' });
      }
      this.acked[t] = last;
      await this.store.setMeta(`${this.key}:${t}`, last.toString());
      this.uncertain[t] = false;
      if (t === 'outliers') this.stats.shippedOutliers += todo.length;
      else this.stats.shippedProfiles += todo.length;
      if (this.stats.state === 'down') this.log(`ClickHouse at ${this.opts.url} is back: shipping the spooled rows`);
      this.stats.state = 'up';
      this.backoff = MIN_BACKOFF_MS;
      return rows.length;
    } catch (e) {
      this.uncertain[t] = true;
      this.stats.failures++;
      const d = describeClickHouseError(this.opts.url, this.opts.user ?? 'default', e);
      this.stats.lastError = d.text;
      if (this.stats.state === 'up') this.log(`${d.text}; spooling to the local store and retrying`);
      this.stats.state = 'down';
      return -1;
    }
  }

  /** Seqs of `rows` that ClickHouse already holds for this store. */
  private async present(t: Table, rows: (OutlierRow | ProfileRow)[]): Promise<Set<bigint>> {
    let minT = Number.POSITIVE_INFINITY;
    let maxT = Number.NEGATIVE_INFINITY;
    const hosts = new Set<string>();
    for (const r of rows) {
      if (r.timeMs < minT) minT = r.timeMs;
      if (r.timeMs > maxT) maxT = r.timeMs;
      hosts.add(r.host);
    }
    const sql =
      `SELECT toString(seq) AS seq_text FROM ${this.db}.${t} WHERE host IN (${[...hosts].map(chString).join(', ')})` +
      ` AND time >= toDateTime(${Math.floor(minT / 1000)}) AND time <= toDateTime(${Math.floor(maxT / 1000) + 1})` +
      ` AND store_id = ${chString(this.store.storeId)}` +
      ` AND seq >= ${chUInt64(rows[0].seq)} AND seq <= ${chUInt64(rows[rows.length - 1].seq)}`;
    const res = await this.client.query({ query: sql, format: 'JSONEachRow' });
    const got = (await res.json()) as { seq_text: string }[];
    return new Set(got.map((r) => BigInt(r.seq_text)));
  }

  /** The shipping watermarks (rows with a higher seq are not in ClickHouse yet). */
  get watermarks(): Readonly<Record<Table, bigint>> {
    return this.acked;
  }

  /** Rows of the store not shipped yet. */
  async pending(): Promise<{ outliers: number; profiles: number }> {
    const n = async (t: Table) =>
      Number(
        (
          await this.store.rows<{ n: bigint }>(`SELECT count(*) AS n FROM ${t} WHERE seq > $1::UBIGINT`, [
            this.acked[t],
          ])
        )[0].n,
      );
    return { outliers: await n('outliers'), profiles: await n('profiles') };
  }

  /**
   * Stops retrying and ships what is pending until `deadlineMs` (absolute, ms). What is left stays in the store
   * and is shipped the next time the store is opened with the same destination.
   */
  async stop(deadlineMs: number): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running !== undefined) await this.running;
    // One more pass unless the server was down a moment ago and the time is short.
    let tries = 0;
    while (Date.now() < deadlineMs && tries++ < 100) {
      const r = await this.shipAllUntil(deadlineMs);
      if (r === 'idle') break;
      if (r === 'down')
        await new Promise((res) => setTimeout(res, Math.min(500, Math.max(0, deadlineMs - Date.now()))));
    }
    await this.client.close();
  }

  private async shipAllUntil(deadline: number): Promise<'idle' | 'more' | 'down'> {
    const wasStopped = this.stopped;
    this.stopped = false;
    try {
      return await this.shipAll(deadline);
    } finally {
      this.stopped = wasStopped;
    }
  }
}
