/** Messages between `OutlierStore` (main thread) and the store worker (`worker.ts`). */
import type { OutlierRecord } from '../../analyses/engine.ts';
import type { HistoryQuery } from '../history.ts';
import type { ClickHouseOptions, ShipperStats } from './clickhouse.ts';
import type { DuckStoreOptions } from './duck.ts';
import type { TypedQueryResult } from './reports.ts';
import type { OutlierBatch, ProfileRow } from './schema.ts';

export interface WorkerInit {
  store: DuckStoreOptions;
  clickhouse?: ClickHouseOptions;
  /** How often retention runs, ms. */
  retentionEveryMs: number;
}

export type WorkerRequest =
  | { t: 'outliers'; id: number; batch: OutlierBatch }
  | { t: 'profiles'; id: number; rows: ProfileRow[] }
  | { t: 'history'; id: number; q: HistoryQuery }
  | { t: 'sql'; id: number; sql: string; maxRows: number }
  | { t: 'stats'; id: number }
  | { t: 'close'; id: number; shipDeadlineMs: number };

export interface WorkerStats {
  /** Outliers and profile snapshots committed to the store. */
  written: number;
  profiles: number;
  /** Outliers deleted by retention, and of those the ones ClickHouse had not received. */
  retentionDeleted: number;
  unshippedExpired: number;
  /** Bytes of data after the last retention pass. */
  bytes: number;
  /** Set when an append failed: the store takes no more rows. */
  failed: string | null;
  /** Set when closing failed (the final checkpoint: a full disk, a damaged block); the rows committed stay in the log. */
  closeFailed: string | null;
  clickhouse: (ShipperStats & { pendingOutliers?: number; pendingProfiles?: number }) | null;
}

export type WorkerReply =
  | { t: 'ready'; storeId: string; path: string }
  | { t: 'fatal'; message: string }
  | { t: 'log'; line: string }
  | { t: 'ack'; id: number; n: number }
  | { t: 'nack'; id: number; n: number }
  | { t: 'history'; id: number; records: OutlierRecord[] }
  | { t: 'sql'; id: number; result: TypedQueryResult }
  | { t: 'stats'; id: number; stats: WorkerStats }
  | { t: 'closed'; id: number; stats: WorkerStats }
  | { t: 'error'; id: number; message: string };
