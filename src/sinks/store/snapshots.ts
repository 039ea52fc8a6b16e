/**
 * Per-interval profile snapshots for the store: every interval, for each analysis, the pairs recorded since the
 * previous snapshot — the difference of the engine's whole-run histogram between two snapshots — with its totals,
 * percentiles, non-empty buckets and HdrHistogram form. Nothing is added to the record path: the snapshotter reads
 * the histograms the engine keeps anyway, on the caller's timer.
 *
 * Exactness: count and sum are exact. Min and max are exact when the interval holds the run's new minimum or
 * maximum, otherwise the representative value of the lowest/highest bucket of the interval (≤ 1 % off).
 */
import { toHdrBase64 } from '../../histogram/hdr.ts';
import { Histogram } from '../../histogram/histogram.ts';
import { BUCKETS, bucketValue } from '../../histogram/layout.ts';
import type { ProfileRow } from './schema.ts';

/** What a snapshot needs of one analysis (the engine's state, narrowed). */
export interface ProfileSource {
  readonly name: string;
  /** The whole-run histogram (only grows). */
  total(): Histogram;
  /** Counters that only grow: outliers reported, pairs over threshold, timeouts. */
  counters(): { outliers: number; overThreshold: number; timeouts: number };
}

interface Prev {
  h: Histogram;
  outliers: number;
  overThreshold: number;
  timeouts: number;
}

const TWO32 = 4294967296;

export class ProfileSnapshotter {
  private readonly prev = new Map<string, Prev>();
  private startMs: number;

  constructor(
    private readonly sources: readonly ProfileSource[],
    private readonly host: string,
    nowMs: number,
  ) {
    this.startMs = nowMs;
    for (const s of sources) this.prev.set(s.name, { h: new Histogram(), outliers: 0, overThreshold: 0, timeouts: 0 });
  }

  /** Snapshots of the interval that ends at `nowMs` (analyses with no pair and no outlier in it are skipped). */
  take(nowMs: number): ProfileRow[] {
    const out: ProfileRow[] = [];
    for (const s of this.sources) {
      const p = this.prev.get(s.name) as Prev;
      const cur = s.total();
      const c = s.counters();
      const d = delta(cur, p.h);
      const outliers = c.outliers - p.outliers;
      if (d.count > 0 || outliers > 0) {
        const [p50, p90, p99, p999] = d.percentiles([50, 90, 99, 99.9]);
        const bucketNs: number[] = [];
        const bucketCounts: number[] = [];
        d.forEachBucket((i, n) => {
          bucketNs.push(bucketValue(i));
          bucketCounts.push(n);
        });
        const empty = d.count === 0;
        out.push({
          seq: 0n,
          timeMs: nowMs,
          startMs: this.startMs,
          host: this.host,
          analysis: s.name,
          count: d.count,
          min_ns: empty ? null : Math.round(d.min),
          max_ns: empty ? null : Math.round(d.max),
          sum_ns: d.sumBigInt(),
          p50_ns: empty ? null : Math.round(p50),
          p90_ns: empty ? null : Math.round(p90),
          p99_ns: empty ? null : Math.round(p99),
          p999_ns: empty ? null : Math.round(p999),
          outliers,
          over_threshold: c.overThreshold - p.overThreshold,
          timeouts: c.timeouts - p.timeouts,
          bucket_ns: bucketNs,
          bucket_counts: bucketCounts,
          hdr: toHdrBase64(d),
        });
      }
      p.h.reset().merge(cur);
      p.outliers = c.outliers;
      p.overThreshold = c.overThreshold;
      p.timeouts = c.timeouts;
    }
    this.startMs = nowMs;
    return out;
  }
}

/** `cur − prev` for a histogram that only grew since `prev` was copied from it (see the module comment). */
export function delta(cur: Histogram, prev: Histogram): Histogram {
  const d = new Histogram();
  const count = cur.count - prev.count;
  if (count <= 0) return d;
  const a = cur.counts;
  const b = prev.counts;
  let lo = -1;
  let hi = -1;
  const end = Math.min(cur.highIndex + 1, BUCKETS);
  for (let i = Math.max(cur.lowIndex, 0); i < end; i++) {
    const n = a[i] - b[i];
    if (n > 0) {
      d.counts[i] = n;
      if (lo < 0) lo = i;
      hi = i;
    }
  }
  const min = prev.count === 0 || cur.min < prev.min ? cur.min : bucketValue(lo);
  const max = prev.count === 0 || cur.max > prev.max ? cur.max : bucketValue(hi);
  const sum = cur.sumBigInt() - prev.sumBigInt();
  const sumHi = Number(sum / BigInt(TWO32));
  const sumLo = Number(sum % BigInt(TWO32));
  d.addTotals(count, min, max, sumHi, sumLo, cur.dropped - prev.dropped);
  return d;
}
