/**
 * Recent outliers for `GET /api/events`. The daemon talks to an `OutlierHistory`: the outlier store (DuckDB, history
 * that survives restarts; `OutlierStore`), or with `--no-store` a bounded in-memory ring (`RingHistory`).
 */
import type { OutlierRecord } from '../analyses/engine.ts';

export interface HistoryQuery {
  /** Only this analysis. */
  analysis?: string;
  /** Only outliers that ended strictly after this time (ns on the records' `end_ns` time line). */
  since?: bigint;
  /** At most this many: the newest that match. */
  limit: number;
  /** Only outliers of threads in this cgroup or below it (validated by the caller). */
  cgroup?: string;
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

/** The last `capacity` outliers, in arrival order (which is `end_ns` order within one live source). */
export class RingHistory implements OutlierHistory {
  private readonly ring: (OutlierRecord | undefined)[];
  private next = 0;
  private n = 0;
  private addedCount = 0;
  private evictedCount = 0;

  constructor(readonly capacity = 4096) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1_000_000) {
      throw new RangeError(`history capacity must be an integer in 1..1000000, got ${capacity}`);
    }
    this.ring = new Array(capacity).fill(undefined);
  }

  add(o: OutlierRecord, _host: string): void {
    if (this.n === this.capacity) this.evictedCount++;
    else this.n++;
    this.ring[this.next] = o;
    this.next = this.next + 1 === this.capacity ? 0 : this.next + 1;
    this.addedCount++;
  }

  async query(q: HistoryQuery): Promise<OutlierRecord[]> {
    const out: OutlierRecord[] = [];
    const since = q.since;
    for (let k = 1; k <= this.n && out.length < q.limit; k++) {
      const o = this.ring[(this.next - k + this.capacity) % this.capacity] as OutlierRecord;
      if (q.analysis !== undefined && o.analysis !== q.analysis) continue;
      if (since !== undefined && !(o.end_ns > since)) continue;
      if (q.cgroup !== undefined && !inCgroup(o.cgroup, q.cgroup)) continue;
      out.push(o);
    }
    return out;
  }

  get occupancy(): RingHistoryStats {
    return { size: this.n, capacity: this.capacity, added: this.addedCount, evicted: this.evictedCount };
  }
}
