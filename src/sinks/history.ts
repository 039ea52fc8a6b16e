/**
 * Recent outliers, as the daemon asks for them (`GET /api/events`): the interface the outlier store (DuckDB, history
 * that survives restarts; `OutlierStore`) and the in-memory ring of `--no-store` (`server/history.ts`) implement.
 */
import type { OutlierRecord } from '../analyses/engine.ts';
import type { TypedQueryResult } from './store/reports.ts';

export interface HistoryQuery {
  /** Only this analysis. */
  analysis?: string;
  /** Only outliers that ended strictly after this time (ns on the records' `end_ns` time line). */
  since?: bigint;
  /** Only outliers that ended strictly before this time (paging back: the oldest `end_ns` of the previous page). */
  before?: bigint;
  /** Only outliers of threads in this cgroup or below it (validated by the caller). */
  cgroup?: string;
  /** At most this many: the newest that match. */
  limit: number;
}

/** True when cgroup `path` is `under` or below it. */
export function inCgroup(path: string | null, under: string): boolean {
  if (path === null) return false;
  const u = under.replace(/\/+$/, '') || '/';
  return u === '/' || path === u || path.startsWith(`${u}/`);
}

export interface OutlierHistory {
  /**
   * Keeps one outlier reported on `host`. Called on the record path: must be O(1), never throw, never block. The
   * history owns `o` from then on (the caller must not change it).
   */
  add(o: OutlierRecord, host: string): void;
  /** Outliers matching `q`, newest (largest `end_ns`) first. */
  query(q: HistoryQuery): Promise<OutlierRecord[]>;
  /**
   * One read-only SQL statement over the stored outliers and profiles (a store only: `query` asks the daemon that
   * holds the store). At most `maxRows` rows.
   */
  sql?(sql: string, maxRows: number): Promise<TypedQueryResult>;
  /** A bounded ring's occupancy (shown in `/metrics`). */
  readonly occupancy?: RingHistoryStats;
  /** A store's backlog and losses, read without waiting (shown in `/metrics`). */
  readonly counters?: StoreCounters;
}

export interface StoreCounters {
  /** Outliers accepted and not yet committed. */
  queued: number;
  /** Outliers dropped because the store fell behind or failed. */
  dropped: number;
}

export interface RingHistoryStats {
  /** Outliers held now. */
  size: number;
  capacity: number;
  /** Outliers added since start. */
  added: number;
  /** Outliers pushed out by newer ones (counted, exposed in `/metrics`). */
  evicted: number;
}
