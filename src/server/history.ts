/**
 * Recent outliers for `GET /api/events` with `--no-store`: a bounded in-memory ring (`RingHistory`). With a store,
 * the daemon talks to the store's `OutlierHistory` instead (the interface is in `sinks/history.ts`).
 */
import type { OutlierRecord } from '../analyses/engine.ts';
import { type HistoryQuery, inCgroup, type OutlierHistory, type RingHistoryStats } from '../sinks/history.ts';

export type { HistoryQuery, OutlierHistory, RingHistoryStats, StoreCounters } from '../sinks/history.ts';
export { inCgroup } from '../sinks/history.ts';

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
      if (q.before !== undefined && !(o.end_ns < q.before)) continue;
      if (q.cgroup !== undefined && !inCgroup(o.cgroup, q.cgroup)) continue;
      out.push(o);
    }
    return out;
  }

  get occupancy(): RingHistoryStats {
    return { size: this.n, capacity: this.capacity, added: this.addedCount, evicted: this.evictedCount };
  }
}
