/**
 * The store's worker thread: owns the DuckDB store (whose appends are synchronous) and the ClickHouse shipper, so
 * that neither ever runs on the thread that reads the kernel's trace. Messages are handled in arrival order; every
 * request gets exactly one reply with its id. See `store.ts` for the protocol's other side.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ClickHouseShipper } from './clickhouse.ts';
import { DuckStore, rowsText, StoreError, storeFailure } from './duck.ts';
import type { WorkerInit, WorkerReply, WorkerRequest, WorkerStats } from './protocol.ts';
import { runStoreSql } from './reports.ts';
import { decodeBatch, type ProfileRow } from './schema.ts';

const port = parentPort;
if (port === null) throw new Error('store worker: not in a worker thread');
const init = workerData as WorkerInit;

let store: DuckStore;
let shipper: ClickHouseShipper | undefined;
const stats: WorkerStats = {
  written: 0,
  profiles: 0,
  retentionDeleted: 0,
  unshippedExpired: 0,
  bytes: 0,
  failed: null,
  closeFailed: null,
  clickhouse: null,
};
let retentionTimer: NodeJS.Timeout | undefined;
let retentionRunning: Promise<void> | undefined;

function reply(m: WorkerReply): void {
  port?.postMessage(m);
}

function log(line: string): void {
  reply({ t: 'log', line });
}

async function retention(): Promise<void> {
  const r = await store.retention(Date.now(), shipper?.watermarks);
  stats.retentionDeleted += r.outliers;
  stats.unshippedExpired += r.unshipped;
  stats.bytes = r.bytes;
  if (r.unshipped > 0) log(`retention deleted ${r.unshipped} outliers that ClickHouse had not received yet`);
}

function scheduleRetention(): void {
  retentionTimer = setTimeout(() => {
    retentionRunning = retention()
      .catch((e) => log(`retention failed: ${(e as Error).message.split('\n')[0]}`))
      .finally(() => {
        retentionRunning = undefined;
        scheduleRetention();
      });
  }, init.retentionEveryMs);
  retentionTimer.unref();
}

async function start(): Promise<void> {
  try {
    store = await DuckStore.open(init.store);
    const missing = store.missing;
    if (missing !== undefined) {
      log(
        `store ${store.path}: ${rowsText(missing)} are missing (its write-ahead log was moved away or damaged); ` +
          'going on with the rows it holds',
      );
    }
    if (init.clickhouse !== undefined) {
      shipper = new ClickHouseShipper(store, init.clickhouse, log);
      try {
        await shipper.start();
      } catch (e) {
        store.closeNow();
        throw e;
      }
    }
    await retention();
    scheduleRetention();
    shipper?.kick();
    reply({ t: 'ready', storeId: store.storeId, path: store.path });
  } catch (e) {
    let msg = e instanceof StoreError ? e.message : `store ${init.store.path}: ${storeFailure(e)}`;
    if (/\(the disk is full\)$/.test(msg)) msg += '; free some space and start again (committed rows wait in its log)';
    (store as DuckStore | undefined)?.closeNow();
    reply({ t: 'fatal', message: msg.split('\n')[0] });
  }
}

function snapshotStats(): WorkerStats {
  return { ...stats, clickhouse: shipper === undefined ? null : { ...shipper.stats } };
}

let chain: Promise<void> = start();

port.on('message', (m: WorkerRequest) => {
  chain = chain.then(() => handle(m));
});

async function handle(m: WorkerRequest): Promise<void> {
  try {
    switch (m.t) {
      case 'outliers': {
        if (stats.failed !== null) throw new Error(stats.failed);
        const rows = decodeBatch(m.batch);
        store.appendOutliers(rows);
        stats.written += rows.length;
        reply({ t: 'ack', id: m.id, n: rows.length });
        shipper?.kick();
        return;
      }
      case 'profiles': {
        if (stats.failed !== null) throw new Error(stats.failed);
        store.appendProfiles(m.rows as ProfileRow[]);
        stats.profiles += m.rows.length;
        reply({ t: 'ack', id: m.id, n: m.rows.length });
        shipper?.kick();
        return;
      }
      case 'history': {
        const records = await store.history(m.q);
        reply({ t: 'history', id: m.id, records });
        return;
      }
      case 'sql': {
        const result = await runStoreSql(store.rconn, m.sql, m.maxRows);
        reply({ t: 'sql', id: m.id, result });
        return;
      }
      case 'stats': {
        const s = snapshotStats();
        if (shipper !== undefined && s.clickhouse !== null) {
          const p = await shipper.pending();
          s.clickhouse = { ...s.clickhouse, pendingOutliers: p.outliers, pendingProfiles: p.profiles };
        }
        reply({ t: 'stats', id: m.id, stats: s });
        return;
      }
      case 'close': {
        if (retentionTimer !== undefined) clearTimeout(retentionTimer);
        if (retentionRunning !== undefined) await retentionRunning;
        if (shipper !== undefined) await shipper.stop(Date.now() + m.shipDeadlineMs);
        const s = snapshotStats();
        if (shipper !== undefined && s.clickhouse !== null) {
          const p = await shipper.pending();
          s.clickhouse = { ...s.clickhouse, pendingOutliers: p.outliers, pendingProfiles: p.profiles };
        }
        try {
          await store.close();
        } catch (e) {
          // The rows committed so far are in DuckDB's log; the counts stay true, and the reason is said.
          s.closeFailed = storeFailure(e);
          store.closeNow();
        }
        reply({ t: 'closed', id: m.id, stats: s });
        return;
      }
    }
  } catch (e) {
    const msg = storeFailure(e);
    if (m.t === 'outliers' || m.t === 'profiles') {
      // A failed append (disk full, I/O error): the store stops taking rows; the main thread counts them as dropped.
      if (stats.failed === null) {
        stats.failed = msg;
        log(`store ${init.store.path}: ${msg}; outliers are dropped (counted) from now on`);
      }
      reply({ t: 'nack', id: m.id, n: m.t === 'outliers' ? m.batch.n : m.rows.length });
    } else {
      reply({ t: 'error', id: m.id, message: msg });
    }
  }
}
