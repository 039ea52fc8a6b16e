/**
 * Latency over time, for the report's heatmap and percentiles over time: one coarse histogram per time bin.
 *
 * - Latency buckets: 8 per power of two (each ~9 % wide), bucket 0 for values below 1 ns, up to 2^43 ns (~2.4 h);
 *   a value goes to `coarseIndex(v)`, one table lookup after the layout's own bucket index.
 * - Time bins: `binNs` wide, starting at 1 ms, from the first value's time; when a value falls beyond the last bin,
 *   neighbouring bins are merged in pairs and `binNs` doubles, so at most `maxBins` bins cover any run length
 *   (a 10-minute trace gets ~5-s bins, a day ~10-min bins). Values before the first bin go into it (counted, `late`).
 * - Memory: `2 * maxBins * COARSE_BUCKETS` u32 counts (~550 KiB for 200 bins), allocated at the first value.
 *   Per bin the exact count and maximum are kept as well.
 */
import { BUCKETS, bucketIndex, bucketValue } from './layout.ts';

export const PER_OCTAVE = 8;
const OCTAVES = 43;
export const COARSE_BUCKETS = 1 + OCTAVES * PER_OCTAVE;

/** Coarse bucket of each bucket of the fine layout (by its reported value). */
const COARSE_OF = (() => {
  const t = new Uint16Array(BUCKETS);
  for (let i = 0; i < BUCKETS; i++) t[i] = coarseOfValue(bucketValue(i));
  return t;
})();

function coarseOfValue(v: number): number {
  if (!(v >= 1)) return 0;
  return Math.min(COARSE_BUCKETS - 1, 1 + Math.floor(Math.log2(v) * PER_OCTAVE));
}

/** Coarse bucket of a latency (ns, >= 0). */
export function coarseIndex(v: number): number {
  return COARSE_OF[bucketIndex(v)];
}

/** Lower and upper bound (ns) of coarse bucket `b`. */
export function coarseBounds(b: number): [number, number] {
  if (b <= 0) return [0, 1];
  return [2 ** ((b - 1) / PER_OCTAVE), 2 ** (b / PER_OCTAVE)];
}

/** The representative value of coarse bucket `b` (geometric middle). */
export function coarseValue(b: number): number {
  if (b <= 0) return 0;
  return 2 ** ((b - 0.5) / PER_OCTAVE);
}

export class Timeline {
  /** First bin's start (the caller's time line, ns) and bin width. */
  t0 = 0;
  binNs: number;
  /** Bins in use (0..bins-1). */
  bins = 0;
  /** Values given a time before the first bin (put into it). */
  late = 0;
  private counts: Uint32Array | undefined;
  private readonly n: Float64Array;
  private readonly max: Float64Array;
  private readonly cap: number;

  constructor(
    readonly maxBins = 200,
    startBinNs = 1_000_000,
  ) {
    if (!Number.isInteger(maxBins) || maxBins < 2) throw new RangeError(`timeline bins ${maxBins}`);
    this.binNs = startBinNs;
    this.cap = maxBins * 2;
    this.n = new Float64Array(this.cap);
    this.max = new Float64Array(this.cap);
  }

  /** One value `v` (ns) at time `ts` (ns). No allocation after the first call. */
  record(v: number, ts: number): void {
    let c = this.counts;
    if (c === undefined) {
      c = new Uint32Array(this.cap * COARSE_BUCKETS);
      this.counts = c;
      this.t0 = Math.floor(ts / this.binNs) * this.binNs;
    }
    let k = Math.floor((ts - this.t0) / this.binNs);
    if (!(k >= 0)) {
      k = 0;
      this.late++;
    }
    while (k >= this.cap) {
      this.halve();
      k = Math.floor((ts - this.t0) / this.binNs);
    }
    if (k >= this.bins) this.bins = k + 1;
    c[k * COARSE_BUCKETS + (v >= 0 ? coarseIndex(v) : 0)]++;
    this.n[k]++;
    if (v > this.max[k]) this.max[k] = v;
  }

  /** Merges bins in pairs: half as many, twice as wide. */
  private halve(): void {
    const c = this.counts as Uint32Array;
    const B = COARSE_BUCKETS;
    const half = Math.ceil(this.bins / 2);
    for (let j = 0; j < half; j++) {
      const a = 2 * j;
      const b = a + 1;
      for (let x = 0; x < B; x++) c[j * B + x] = c[a * B + x] + (b < this.bins ? c[b * B + x] : 0);
      this.n[j] = this.n[a] + (b < this.bins ? this.n[b] : 0);
      this.max[j] = Math.max(this.max[a], b < this.bins ? this.max[b] : 0);
    }
    c.fill(0, half * B);
    this.n.fill(0, half);
    this.max.fill(0, half);
    this.bins = half;
    this.binNs *= 2;
  }

  /** Values in bin `k`, and its largest. */
  count(k: number): number {
    return this.n[k];
  }
  maxOf(k: number): number {
    return this.max[k];
  }

  /** Non-zero cells as flat `[bin, bucket, count, ...]`. */
  cells(): number[] {
    const out: number[] = [];
    const c = this.counts;
    if (c === undefined) return out;
    for (let k = 0; k < this.bins; k++) {
      if (this.n[k] === 0) continue;
      for (let b = 0; b < COARSE_BUCKETS; b++) {
        const x = c[k * COARSE_BUCKETS + b];
        if (x > 0) out.push(k, b, x);
      }
    }
    return out;
  }

  /** Percentile `q` (0..100) of bin `k` from its coarse buckets (the bucket's middle; ~4.5 % error), or null. */
  percentile(k: number, q: number): number | null {
    const c = this.counts;
    const n = this.n[k];
    if (c === undefined || n === 0) return null;
    const rank = Math.max(1, Math.ceil((q / 100) * n));
    let seen = 0;
    for (let b = 0; b < COARSE_BUCKETS; b++) {
      seen += c[k * COARSE_BUCKETS + b];
      if (seen >= rank) return Math.min(coarseValue(b), this.max[k]);
    }
    return this.max[k];
  }
}
