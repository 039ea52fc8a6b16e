/**
 * `OutlierStore`: the outlier store as the rest of the program sees it (live `--store`, and the daemon's
 * `GET /api/events` through `OutlierHistory`). It runs on the main thread and does almost nothing there:
 *
 * - `add(o, host)` — the engine's outlier callback — only pushes the record into a bounded queue. When the queue
 *   plus the batches the worker has not committed yet hold `maxQueued` outliers, the outlier is dropped and counted
 *   (`stats().dropped`): memory stays bounded whatever the rate.
 * - Every `flushIntervalMs` (default 1 s), or as soon as `batchSize` outliers wait, the queue goes to the worker
 *   thread (`worker.ts`) in one message; the worker appends it to DuckDB in one transaction and acknowledges.
 * - `close()` sends what is queued, waits for the commit, lets the ClickHouse shipper deliver what it can within a
 *   deadline, checkpoints and closes the file. `live` calls it on SIGINT/SIGTERM; `serve` must too.
 *
 * After a SIGKILL, what is lost is what was still queued (at most one flush interval of outliers) plus a batch the
 * worker was committing; DuckDB replays its write-ahead log on the next open, so the file opens cleanly.
 */
import { hostname } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { OutlierRecord } from '../../analyses/engine.ts';
import type { HistoryQuery, OutlierHistory, StoreCounters } from '../history.ts';
import type { ClickHouseOptions } from './clickhouse.ts';
import { StoreError } from './duck.ts';
import type { WorkerInit, WorkerReply, WorkerRequest, WorkerStats } from './protocol.ts';
import type { TypedQueryResult } from './reports.ts';
import { batchTransfer, encodeBatch, type ProfileRow } from './schema.ts';

/** Where the daemon keeps its store unless told otherwise. */
export const DEFAULT_STORE_DIR = '/var/lib/latency-tracker';
export const DEFAULT_STORE_PATH = `${DEFAULT_STORE_DIR}/outliers.duckdb`;

export interface StoreOptions {
  /** The DuckDB file (created with its directory if missing). */
  path: string;
  /** Delete rows older than this many days (default 30; 0 = never). */
  retentionDays?: number;
  /** Keep the data under this many bytes, oldest deleted first (default 1 GiB; 0 = no limit). */
  retentionBytes?: number;
  /** How often queued outliers are committed, ms (default 1000): the most a SIGKILL can lose. */
  flushIntervalMs?: number;
  /** Outliers queued or being committed at most; beyond, dropped and counted (default 65536). */
  maxQueued?: number;
  /** Commit early when this many outliers wait (default 8192). */
  batchSize?: number;
  /** How often retention runs, ms (default 60 s; it also runs at open). */
  retentionEveryMs?: number;
  /** Also ship everything to ClickHouse (the store is the spool while ClickHouse is down). */
  clickhouse?: ClickHouseOptions;
  /**
   * How `end_ns` maps to wall time: `mono` (default) — the record's times are the kernel's CLOCK_MONOTONIC, as live
   * runs use; `now` — the time the outlier is added.
   */
  clock?: 'mono' | 'now';
  /** Diagnostics (ClickHouse down and back, store failures): one line each. */
  log?: (line: string) => void;
}

export interface StoreStats extends WorkerStats {
  /** Outliers waiting on the main thread, and sent but not yet committed. */
  queued: number;
  inFlight: number;
  /** Outliers dropped because the store fell behind (queue full) or failed. */
  dropped: number;
  droppedFailed: number;
}

/** The built package runs `worker.js`; tests and benches run the sources through tsx, which the worker must load. */
const fromSource = import.meta.url.endsWith('.ts');
const workerUrl = new URL(fromSource ? './worker.ts' : './worker.js', import.meta.url);

function startWorker(init: WorkerInit): Worker {
  if (!fromSource) return new Worker(workerUrl, { workerData: init });
  // Node 20 does not apply `--import tsx` to a worker's entry point: register tsx in the worker first.
  const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(workerUrl.href)}); })`;
  return new Worker(boot, { eval: true, workerData: init });
}

export class OutlierStore implements OutlierHistory {
  private records: OutlierRecord[] = [];
  private hosts: string[] = [];
  private profiles: ProfileRow[] = [];
  private inFlight = 0;
  private dropped = 0;
  private droppedFailed = 0;
  /** Rows the worker acknowledged as committed (what the exit line says if the worker cannot answer any more). */
  private acked = { outliers: 0, profiles: 0 };
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(m: WorkerReply): void; reject(e: Error): void }>();
  private readonly timer: NodeJS.Timeout;
  private flushSoon = false;
  private dead: string | null = null;
  private closing: Promise<StoreStats> | undefined;
  private offsetMs = 0;
  private readonly flushIntervalMs: number;
  private readonly maxQueued: number;
  private readonly batchSize: number;
  private readonly log: (line: string) => void;

  private constructor(
    private readonly worker: Worker,
    readonly path: string,
    readonly storeId: string,
    private readonly opts: StoreOptions,
  ) {
    this.flushIntervalMs = opts.flushIntervalMs ?? 1000;
    this.maxQueued = opts.maxQueued ?? 65536;
    this.batchSize = Math.min(opts.batchSize ?? 8192, this.maxQueued);
    this.log = opts.log ?? (() => {});
    this.syncClock();
    this.timer = setInterval(() => this.flushNow(), this.flushIntervalMs);
    this.timer.unref();
    worker.on('message', (m: WorkerReply) => this.onMessage(m));
    worker.on('error', (e) => this.die(`store worker failed: ${e.message.split('\n')[0]}`));
    worker.on('exit', (code) => this.die(`store worker exited (code ${code})`));
  }

  /**
   * Opens (or creates) the store and, with `clickhouse`, checks the server and creates its tables. Every failure
   * is a `StoreError` with one sentence: locked, corrupt, read-only directory, ClickHouse unreachable or refusing
   * the credentials.
   */
  static async open(opts: StoreOptions): Promise<OutlierStore> {
    const init: WorkerInit = {
      store: {
        path: opts.path,
        retentionDays: opts.retentionDays ?? 30,
        retentionBytes: opts.retentionBytes ?? 1024 ** 3,
      },
      clickhouse: opts.clickhouse,
      retentionEveryMs: opts.retentionEveryMs ?? 60_000,
    };
    const worker = startWorker(init);
    const first = await new Promise<WorkerReply>((resolve) => {
      const onMsg = (m: WorkerReply) => {
        if (m.t === 'log') {
          opts.log?.(m.line);
          return;
        }
        worker.off('message', onMsg);
        worker.off('error', onErr);
        resolve(m);
      };
      const onErr = (e: Error) => resolve({ t: 'fatal', message: `store worker failed: ${e.message.split('\n')[0]}` });
      worker.on('message', onMsg);
      worker.on('error', onErr);
    });
    if (first.t !== 'ready') {
      await worker.terminate();
      throw new StoreError(first.t === 'fatal' ? first.message : `store worker: unexpected ${first.t}`);
    }
    return new OutlierStore(worker, first.path, first.storeId, opts);
  }

  /** The host name outliers of this machine are stored under. */
  static host(): string {
    return hostname();
  }

  /** Queues one outlier (the engine's callback: constant time, never blocks, never throws). */
  add(o: OutlierRecord, host: string): void {
    if (this.dead !== null || this.closing !== undefined || this.records.length + this.inFlight >= this.maxQueued) {
      this.dropped++;
      return;
    }
    this.records.push(o);
    this.hosts.push(host);
    if (this.records.length >= this.batchSize && !this.flushSoon) {
      this.flushSoon = true;
      setImmediate(() => this.flushNow());
    }
  }

  /** Queues profile snapshots (a few per interval; bounded by the same limit). */
  addProfiles(rows: ProfileRow[]): void {
    if (this.dead !== null || this.closing !== undefined) return;
    for (const r of rows) if (this.profiles.length < this.maxQueued) this.profiles.push(r);
  }

  /** Outliers queued or being committed (`add` drops beyond `maxQueued`): a producer may wait while it is high. */
  get backlog(): number {
    return this.records.length + this.inFlight;
  }

  /** Sends what is queued to the worker now; resolves when it is committed. */
  flush(): Promise<void> {
    const acks = this.flushNow();
    return Promise.all(acks).then(() => undefined);
  }

  private flushNow(): Promise<unknown>[] {
    this.flushSoon = false;
    const out: Promise<unknown>[] = [];
    if (this.dead !== null) {
      this.dropped += this.records.length;
      this.records = [];
      this.hosts = [];
      this.profiles = [];
      return out;
    }
    this.syncClock();
    if (this.records.length > 0) {
      const records = this.records;
      const hosts = this.hosts;
      this.records = [];
      this.hosts = [];
      const now = Date.now();
      const batch = encodeBatch(records, hosts, (o) => this.wallMs(o.end_ns, now));
      this.inFlight += records.length;
      out.push(
        this.request({ t: 'outliers', id: 0, batch }, batchTransfer(batch)).then(
          (m) => {
            this.inFlight -= records.length;
            if (m.t === 'nack') this.droppedFailed += m.n;
            else if (m.t === 'ack') this.acked.outliers += m.n;
          },
          () => {
            this.inFlight -= records.length;
            this.droppedFailed += records.length;
          },
        ),
      );
    }
    if (this.profiles.length > 0) {
      const rows = this.profiles;
      this.profiles = [];
      out.push(
        this.request({ t: 'profiles', id: 0, rows }).then(
          (m) => {
            if (m.t === 'ack') this.acked.profiles += m.n;
          },
          () => {},
        ),
      );
    }
    return out;
  }

  private syncClock(): void {
    this.offsetMs = Date.now() - Number(process.hrtime.bigint()) / 1e6;
  }

  /** Wall-clock ms of a record time; records from another time line (a trace file) get the time they were added. */
  private wallMs(endNs: bigint, now: number): number {
    if (this.opts.clock === 'now') return now;
    const t = this.offsetMs + Number(endNs) / 1e6;
    return Math.abs(t - now) > 3_600_000 ? now : t;
  }

  /** Stored outliers (committed ones, after what is queued now): `GET /api/events`. Oldest first. */
  async query(q: HistoryQuery): Promise<OutlierRecord[]> {
    this.flushNow();
    const m = await this.request({ t: 'history', id: 0, q });
    if (m.t !== 'history') throw new StoreError(m.t === 'error' ? m.message : 'store: bad reply');
    return m.records;
  }

  /** One read-only statement on the store (`query` asking the daemon that holds it); see `runStoreSql`. */
  async sql(sql: string, maxRows: number): Promise<TypedQueryResult> {
    this.flushNow();
    const m = await this.request({ t: 'sql', id: 0, sql, maxRows });
    if (m.t !== 'sql') throw new StoreError(m.t === 'error' ? m.message : 'store: bad reply');
    return m.result;
  }

  /** Backlog and losses as the main thread knows them now (for `/metrics`; `stats()` asks the worker). */
  get counters(): StoreCounters {
    return { queued: this.records.length + this.inFlight, dropped: this.dropped + this.droppedFailed };
  }

  /** Counters: queued, dropped, written, retention, ClickHouse state and backlog. */
  async stats(): Promise<StoreStats> {
    const m = await this.request({ t: 'stats', id: 0 });
    if (m.t !== 'stats') throw new StoreError(m.t === 'error' ? m.message : 'store: bad reply');
    return this.withLocal(m.stats);
  }

  private withLocal(s: WorkerStats): StoreStats {
    return {
      ...s,
      queued: this.records.length,
      inFlight: this.inFlight,
      dropped: this.dropped,
      droppedFailed: this.droppedFailed,
    };
  }

  /**
   * Flushes everything queued, gives the ClickHouse shipper up to `shipDeadlineMs` (default 5 s) to deliver the
   * backlog (the rest waits in the store for the next run), checkpoints and closes. Idempotent.
   */
  close(opts: { shipDeadlineMs?: number } = {}): Promise<StoreStats> {
    this.closing ??= (async () => {
      clearInterval(this.timer);
      await Promise.all(this.flushNow());
      // Without the worker's own answer, the counts are what it acknowledged: never a "0 written" that hides rows.
      const fallback = (why: string): WorkerStats => ({
        written: this.acked.outliers,
        profiles: this.acked.profiles,
        retentionDeleted: 0,
        unshippedExpired: 0,
        bytes: 0,
        failed: null,
        closeFailed: why,
        clickhouse: null,
      });
      let stats: WorkerStats;
      if (this.dead !== null) stats = fallback(this.dead);
      else {
        const m = await this.request({ t: 'close', id: 0, shipDeadlineMs: opts.shipDeadlineMs ?? 5000 }).catch(
          (e: Error) => ({ t: 'error' as const, id: 0, message: e.message }),
        );
        stats = m.t === 'closed' ? m.stats : fallback(m.t === 'error' ? m.message : 'close failed');
      }
      this.dead ??= 'closed';
      await this.worker.terminate();
      return this.withLocal(stats);
    })();
    return this.closing;
  }

  private request(m: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    if (this.dead !== null) return Promise.reject(new StoreError(this.dead));
    const id = this.nextId++;
    m.id = id;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage(m, transfer);
    });
  }

  private onMessage(m: WorkerReply): void {
    if (m.t === 'log') {
      this.log(m.line);
      return;
    }
    if (m.t === 'ready' || m.t === 'fatal') return;
    const w = this.waiting.get(m.id);
    if (w === undefined) return;
    this.waiting.delete(m.id);
    w.resolve(m);
  }

  private die(why: string): void {
    if (this.dead !== null) return;
    this.dead = why;
    this.log(why);
    for (const w of this.waiting.values()) w.reject(new StoreError(why));
    this.waiting.clear();
  }
}
