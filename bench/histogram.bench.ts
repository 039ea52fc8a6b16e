/**
 * Histogram benchmarks: `record` calls per second (against hdr-histogram-js in the same run, and against the bare
 * loop), merge cost, window read cost, percentile query cost, and the memory of the three windows of one analysis.
 * Measures the built package (`dist/`, what users run; `npm run bench` builds it first).
 */
import * as hdr from 'hdr-histogram-js';
import { compareHistograms, HIGHEST_NS, Histogram, LatencyWindows } from '../dist/index.js';
import { type BenchResult, bestOf } from './util.ts';

const VALUES = 1 << 16;

/** Latency-like values: log-normal body around 20 us with a heavy tail, seeded (xorshift32, written here). */
function latencies(n: number, seed: number): Float64Array {
  let s = seed >>> 0 || 1;
  const u = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const z = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
    out[i] = u() < 0.97 ? Math.round(20_000 * Math.exp(0.7 * z)) : Math.round(100_000 / u() ** (1 / 1.5));
  }
  return out;
}

/** Values spread over the whole range, so that every bucket of an interval is non-empty (the memory worst case). */
function wholeRange(n: number, seed: number): Float64Array {
  let s = seed >>> 0 || 1;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = Math.round(HIGHEST_NS ** ((s + 0.5) / 4294967296));
  }
  return out;
}

export function recordBench(n: number): BenchResult[] {
  const v = latencies(VALUES, 1);
  const mask = VALUES - 1;
  const ours = bestOf(3, () => {
    const h = new Histogram();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) h.record(v[i & mask]);
    const rate = (n / (performance.now() - t0)) * 1000;
    if (h.count !== n) throw new Error('lost records');
    return rate;
  });
  const theirs = bestOf(3, () => {
    const h = hdr.build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: HIGHEST_NS,
      numberOfSignificantValueDigits: 2,
      bitBucketSize: 64,
      autoResize: false,
    });
    const t0 = performance.now();
    for (let i = 0; i < n; i++) h.recordValue(v[i & mask]);
    return (n / (performance.now() - t0)) * 1000;
  });
  let sink = 0;
  const bare = bestOf(3, () => {
    const t0 = performance.now();
    let s = 0;
    for (let i = 0; i < n; i++) s += v[i & mask];
    sink += s;
    return (n / (performance.now() - t0)) * 1000;
  });
  if (sink === 0) throw new Error('unreachable');
  const w = new LatencyWindows();
  const windowed = bestOf(3, () => {
    w.reset();
    const t0 = performance.now();
    // 1 record per 10 us of trace time: 1 M per 10-s interval, so rotations are included.
    for (let i = 0; i < n; i++) w.record(v[i & mask], i * 10_000);
    return (n / (performance.now() - t0)) * 1000;
  });
  return [
    { name: 'record/s vs hdr-histogram-js recordValue', value: ours, baseline: theirs },
    { name: 'record/s vs bare loop (load + add)', value: ours, baseline: bare },
    { name: 'LatencyWindows.record/s (with rotation)', value: windowed },
  ];
}

/** Best of 3 (the least disturbed) time per call, in microseconds. */
function microseconds(reps: number, fn: () => void): number {
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) fn();
    best = Math.min(best, ((performance.now() - t0) * 1000) / reps);
  }
  return best;
}

/** Costs in microseconds per operation. */
export function queryBench(): { name: string; us: number }[] {
  const full = new Histogram();
  for (const x of latencies(1_000_000, 2)) full.record(x);
  const wide = new Histogram();
  for (const x of wholeRange(1_000_000, 3)) wide.record(x);
  const into = new Histogram();
  let sink = 0;
  const out = [
    { name: 'merge (latency-like, 1 M values)', us: microseconds(20_000, () => into.merge(full)) },
    { name: 'merge (every bucket non-empty)', us: microseconds(20_000, () => into.merge(wide)) },
    { name: 'percentile(99)', us: microseconds(100_000, () => (sink += full.percentile(99))) },
    {
      name: 'percentiles([50, 90, 99, 99.9])',
      us: microseconds(100_000, () => (sink += full.percentiles([50, 90, 99, 99.9])[0])),
    },
  ];
  const w = new LatencyWindows();
  const v = latencies(VALUES, 4);
  let ts = 0;
  for (let i = 0; i < 3_900_000; i++) w.record(v[i & (VALUES - 1)], (ts += 1_000_000)); // 1 k/s for 65 min
  const h = new Histogram();
  out.push({ name: "window('1m') read (6 intervals)", us: microseconds(2_000, () => w.window('1m', h)) });
  out.push({ name: "window('1h') read (60 + 6 intervals)", us: microseconds(500, () => w.window('1h', h)) });
  if (sink === 0) throw new Error('unreachable');
  return out;
}

export interface MemoryResult {
  name: string;
  /** JS heap + ArrayBuffer backing stores (typed arrays live outside the heap), bytes. */
  bytes: number;
  /** Bucket-data bytes reported by the windows themselves. */
  own: number;
  snapshots: number;
}

/** Memory of one analysis' three windows after 65 minutes of traffic (mean of K); NaN without --expose-gc. */
export function windowsMemory(): MemoryResult[] {
  const gcOnce = (globalThis as { gc?: () => void }).gc;
  // Twice, for a settled heap.
  const gc =
    gcOnce &&
    (() => {
      gcOnce();
      gcOnce();
    });
  const used = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  // K windows fed the same records, measured together: heap noise (code flushing, feedback) is divided by K.
  const K = 4;
  const run = (name: string, values: Float64Array, perInterval: number): MemoryResult => {
    // Warm the module-level scratch buffers first, so that only the windows' own memory is counted.
    const warm = new LatencyWindows();
    warm.record(1, 0);
    warm.advance(120e9);
    gc?.();
    const before = used();
    const ws: InstanceType<typeof LatencyWindows>[] = [];
    for (let k = 0; k < K; k++) ws.push(new LatencyWindows());
    const step = 10e9 / perInterval;
    const mask = values.length - 1;
    const n = perInterval * 6 * 65; // 65 minutes
    for (const w of ws) for (let i = 0; i < n; i++) w.record(values[i & mask], i * step);
    gc?.();
    const bytes = gc === undefined ? Number.NaN : (used() - before) / K;
    const s = ws[0].stats;
    if (ws.some((w) => w.window('1h').count === 0)) throw new Error('empty window');
    return { name, bytes, own: s.bytes, snapshots: s.snapshots };
  };
  return [
    run('latency-like, 100 k records/10 s', latencies(1 << 20, 5), 100_000),
    run('every bucket non-empty, 1 M records/10 s', wholeRange(1 << 22, 6), 1_000_000),
  ];
}

export interface CalibrationResult {
  n: number;
  /** Trials with any verdict other than 'no significant change' between two samples of one distribution. */
  falseAlarms: number;
  /** Trials where a +20 % shift of the values above p98 was reported 'regressed' at p99. */
  detected: number;
  trials: number;
}

/**
 * How `compare` behaves on seeded latency-like samples (default options): false alarms between two independent
 * samples of the same distribution, and detection of a +20 % tail shift at p99, each over `trials` trials of n values
 * per side.
 */
export function compareCalibration(sizes: readonly number[], trials: number): CalibrationResult[] {
  const ref = new Histogram();
  for (const x of latencies(1_000_000, 99)) ref.record(x);
  const p98 = ref.percentile(98);
  return sizes.map((n) => {
    let falseAlarms = 0;
    let detected = 0;
    for (let t = 0; t < trials; t++) {
      const a = new Histogram();
      const b = new Histogram();
      const c = new Histogram();
      for (const x of latencies(n, 1000 + 3 * t)) a.record(x);
      for (const x of latencies(n, 1001 + 3 * t)) b.record(x);
      for (const x of latencies(n, 1002 + 3 * t)) c.record(x > p98 ? Math.round(x * 1.2) : x);
      if (compareHistograms(a, b).percentiles.some((p) => p.verdict !== 'no significant change')) falseAlarms++;
      if (compareHistograms(a, c).percentiles[2].verdict === 'regressed') detected++;
    }
    return { n, falseAlarms, detected, trials };
  });
}
