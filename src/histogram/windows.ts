/**
 * Sliding windows over the last 1 minute, 5 minutes and 1 hour, as rings of per-interval histograms merged on read.
 *
 * - Intervals: 10 s for the 1-minute and 5-minute windows (one ring of 30), 1 min for the 1-hour window (a ring of
 *   60, each built from its six 10-s intervals when the minute ends). Interval `k` of length I covers
 *   [k·I, (k+1)·I) on the caller's time line; boundaries are multiples of I from that line's zero.
 * - Time is explicit: `record(ns, ts)` and `advance(ts)` take a time in ns on any time line (the live side passes
 *   the kernel clock, the offline side trace time), so a 3-hour trace analysed offline gives the windows one would
 *   have seen live at the same trace times. Nothing here reads a clock.
 * - Exact aging: with c = floor(now / I) the current interval (now = the latest time given), a window of n
 *   intervals holds the records of intervals c−n+1 .. c. A record at time t is therefore in the window from `t` until
 *   just before `(floor(t / I) + n) · I`, and out of it from that time on: between L − I and L after t (L = n·I),
 *   never longer. For '1m': n = 6, I = 10 s; '5m': 30 × 10 s; '1h': 60 × 60 s.
 * - A record with a time before the current interval (out of order), NaN, infinite or beyond ±2^63 ns goes into the
 *   current interval and is counted (`late`, `badTime`): never dropped, never rewriting a closed interval.
 * - Memory: one dense histogram for the current interval (36 KiB); closed intervals are kept as snapshots in
 *   HdrHistogram's zero-run/varint payload (`codec.ts`, typically 1–6 KiB each; never more than 4 bytes per bucket
 *   for realistic counts), so the three windows of one analysis stay well under 2 MB (see docs/profiles.md).
 */
import { decodeCountsAdd, encodeCounts, maxEncodedLength } from './codec.ts';
import { Histogram, HistogramError } from './histogram.ts';
import { BUCKETS } from './layout.ts';

export type WindowName = '1m' | '5m' | '1h';

export interface WindowSpec {
  /** Window length, ns. */
  lengthNs: number;
  /** Interval length, ns. */
  intervalNs: number;
  /** Intervals per window, the current one included. */
  intervals: number;
}

const SHORT_NS = 10_000_000_000;
const LONG_NS = 60_000_000_000;
const SHORT_PER_LONG = LONG_NS / SHORT_NS;
const SHORT_RING = 30;
/** Times beyond ±2^63 ns (int64 nanoseconds, ±292 years) are refused as bad times. */
const MAX_TIME = 2 ** 63;
const LONG_RING = 60;

export const WINDOWS: Readonly<Record<WindowName, WindowSpec>> = Object.freeze({
  '1m': { lengthNs: 60_000_000_000, intervalNs: SHORT_NS, intervals: 6 },
  '5m': { lengthNs: 300_000_000_000, intervalNs: SHORT_NS, intervals: 30 },
  '1h': { lengthNs: 3_600_000_000_000, intervalNs: LONG_NS, intervals: 60 },
});

export const WINDOW_NAMES: readonly WindowName[] = Object.freeze(['1m', '5m', '1h'] as WindowName[]);

/** A closed interval: its id, its encoded bucket counts, and its exact totals. Immutable. */
class Snapshot {
  constructor(
    readonly id: number,
    readonly bytes: Uint8Array,
    readonly count: number,
    readonly min: number,
    readonly max: number,
    readonly sumHi: number,
    readonly sumLo: number,
    readonly dropped: number,
  ) {}
}

/** Encoding scratch, shared (single-threaded, not re-entrant: used only inside `snapshot`). */
let scratchBytes: Uint8Array | undefined;
/** Merge scratch for building a minute from its six 10-s intervals. */
let scratchHist: Histogram | undefined;

function snapshot(h: Histogram, id: number): Snapshot | null {
  if (h.count === 0 && h.dropped === 0) return null;
  scratchBytes ??= new Uint8Array(maxEncodedLength(BUCKETS));
  const end = h.count > 0 ? h.highIndex + 1 : 0;
  const len = encodeCounts(h.counts, end, scratchBytes, 0);
  const [hi, lo] = h.sumParts();
  return new Snapshot(id, scratchBytes.slice(0, len), h.count, h.min, h.max, hi, lo, h.dropped);
}

function addSnapshot(h: Histogram, s: Snapshot): void {
  decodeCountsAdd(s.bytes, 0, s.bytes.length, h.counts);
  h.addTotals(s.count, s.min, s.max, s.sumHi, s.sumLo, s.dropped);
}

function slot(id: number, size: number): number {
  return ((id % size) + size) % size;
}

export interface WindowsStats {
  /** Records with a time before the current interval (put in the current interval). */
  late: number;
  /** Records or advances with a NaN, infinite or beyond-int64 time (records put in the current interval). */
  badTime: number;
  /** Closed intervals held (10-s and 1-min). */
  snapshots: number;
  /** Bytes of bucket data: the current interval's array plus the snapshots' encoded counts. */
  bytes: number;
}

export class LatencyWindows {
  private readonly cur = new Histogram();
  private started = false;
  /** Current 10-s interval id. */
  private k = 0;
  private curStart = Number.POSITIVE_INFINITY;
  private nextStart = Number.NEGATIVE_INFINITY;
  private readonly shortRing: (Snapshot | null)[] = new Array<Snapshot | null>(SHORT_RING).fill(null);
  private readonly longRing: (Snapshot | null)[] = new Array<Snapshot | null>(LONG_RING).fill(null);
  private nLate = 0;
  private nBadTime = 0;

  /** Records a latency `ns` that happened at time `ts` (ns on the caller's time line); moves time forward to `ts`. */
  record(ns: number, ts: number): void {
    if (ts >= this.nextStart) this.rotate(ts);
    else if (!(ts >= this.curStart)) this.outOfOrder(ts);
    this.cur.record(ns);
  }

  /** Moves time forward to `ts` (earlier times are ignored): intervals that ended by `ts` are closed. */
  advance(ts: number): void {
    if (ts >= this.nextStart) this.rotate(ts);
    else if (!(ts >= -MAX_TIME)) this.nBadTime++;
  }

  /**
   * Where window `name` begins (ns on the caller's time line): the start of its oldest interval. With `now`, the
   * window covers [max(this, the first time given), now]. NaN before the first time is given.
   */
  windowStart(name: WindowName): number {
    const spec = WINDOWS[name];
    if (spec === undefined) throw new HistogramError(`unknown window ${JSON.stringify(name)} (1m, 5m or 1h)`);
    if (!this.started) return Number.NaN;
    if (spec.intervalNs === LONG_NS) return (Math.floor(this.k / SHORT_PER_LONG) - spec.intervals + 1) * LONG_NS;
    return (this.k - spec.intervals + 1) * SHORT_NS;
  }

  /** Start of the current interval (ns), or NaN before the first time is given. */
  get intervalStart(): number {
    return this.started ? this.curStart : Number.NaN;
  }

  private outOfOrder(ts: number): void {
    if (!(ts >= -MAX_TIME)) this.nBadTime++;
    else this.nLate++;
  }

  private rotate(ts: number): void {
    if (!(ts <= MAX_TIME)) {
      // +Infinity, or beyond int64 nanoseconds: interval ids would stop being exact integers.
      this.nBadTime++;
      return;
    }
    const k = Math.floor(ts / SHORT_NS);
    if (this.started) {
      this.shortRing[slot(this.k, SHORT_RING)] = snapshot(this.cur, this.k);
      this.cur.reset();
      const m = Math.floor(this.k / SHORT_PER_LONG);
      if (Math.floor(k / SHORT_PER_LONG) > m) this.closeMinute(m);
    }
    this.started = true;
    this.k = k;
    this.curStart = k * SHORT_NS;
    this.nextStart = (k + 1) * SHORT_NS;
    this.expire();
  }

  private closeMinute(m: number): void {
    scratchHist ??= new Histogram();
    const h = scratchHist.reset();
    for (let id = m * SHORT_PER_LONG; id < (m + 1) * SHORT_PER_LONG; id++) {
      const s = this.shortRing[slot(id, SHORT_RING)];
      if (s !== null && s.id === id) addSnapshot(h, s);
    }
    this.longRing[slot(m, LONG_RING)] = snapshot(h, m);
  }

  /** Drops snapshots no window can use any more (their memory is freed at once, not when the slot is reused). */
  private expire(): void {
    const k = this.k;
    for (let i = 0; i < SHORT_RING; i++) {
      const s = this.shortRing[i];
      if (s !== null && (s.id <= k - SHORT_RING || s.id >= k)) this.shortRing[i] = null;
    }
    const m = Math.floor(k / SHORT_PER_LONG);
    for (let i = 0; i < LONG_RING; i++) {
      const s = this.longRing[i];
      if (s !== null && (s.id <= m - LONG_RING || s.id >= m)) this.longRing[i] = null;
    }
  }

  /**
   * The window `name` as of the latest time given, merged into `into` (reset first) or a new histogram. The result
   * belongs to the caller. Throws `HistogramError` for an unknown window name.
   */
  window(name: WindowName, into?: Histogram): Histogram {
    const spec = WINDOWS[name];
    if (spec === undefined) throw new HistogramError(`unknown window ${JSON.stringify(name)} (1m, 5m or 1h)`);
    const out = into === undefined ? new Histogram() : into.reset();
    if (this.started) {
      const k = this.k;
      let firstShort: number;
      if (spec.intervalNs === LONG_NS) {
        const m = Math.floor(k / SHORT_PER_LONG);
        for (let id = m - spec.intervals + 1; id < m; id++) {
          const s = this.longRing[slot(id, LONG_RING)];
          if (s !== null && s.id === id) addSnapshot(out, s);
        }
        firstShort = m * SHORT_PER_LONG;
      } else {
        firstShort = k - spec.intervals + 1;
      }
      for (let id = firstShort; id < k; id++) {
        const s = this.shortRing[slot(id, SHORT_RING)];
        if (s !== null && s.id === id) addSnapshot(out, s);
      }
    }
    return out.merge(this.cur);
  }

  get stats(): WindowsStats {
    let snapshots = 0;
    let bytes = this.cur.counts.byteLength;
    for (const s of [...this.shortRing, ...this.longRing]) {
      if (s === null) continue;
      snapshots++;
      bytes += s.bytes.byteLength;
    }
    return { late: this.nLate, badTime: this.nBadTime, snapshots, bytes };
  }

  /** Forgets everything, including the current time. */
  reset(): void {
    this.cur.reset();
    this.started = false;
    this.k = 0;
    this.curStart = Number.POSITIVE_INFINITY;
    this.nextStart = Number.NEGATIVE_INFINITY;
    this.shortRing.fill(null);
    this.longRing.fill(null);
    this.nLate = 0;
    this.nBadTime = 0;
  }
}
