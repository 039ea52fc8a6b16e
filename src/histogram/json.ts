/**
 * The JSON form of a histogram: exact, compact, versioned. Read back with `histogramFromJSON`, the histogram is
 * identical (`equals`) to the one written.
 *
 * ```json
 * {"version":1,"unit":"ns","lowest_ns":1,"highest_ns":3600000000000,"digits":2,
 *  "count":6,"min_ns":120,"max_ns":5000,"sum_ns":6330,"dropped":0,
 *  "buckets":[[120,1,0,2],[2350,3]]}
 * ```
 * - `buckets` lists runs of buckets: `[start index, count, count, ...]`; indices are those of `layout.ts` (and of
 *   HdrHistogram with the same layout fields). Runs hold no zero at either end; a zero inside a run is allowed.
 * - `min_ns`/`max_ns` are the exact values recorded (JSON numbers round-trip doubles exactly), null when empty.
 * - `sum_ns` is a JSON integer when it is a safe integer (or a plain number for fractional sums); beyond 2^53 it is
 *   the exact decimal string, so that no digit is lost to a float.
 * - The layout fields must match this build's layout exactly; the reader refuses anything else.
 */
import { Histogram, HistogramFormatError } from './histogram.ts';
import { BUCKETS, bucketIndex, HIGHEST_NS, LOWEST_NS, SIGNIFICANT_DIGITS } from './layout.ts';

export const HISTOGRAM_JSON_VERSION = 1;

export interface HistogramJSON {
  version: number;
  unit: 'ns';
  lowest_ns: number;
  highest_ns: number;
  digits: number;
  count: number;
  min_ns: number | null;
  max_ns: number | null;
  sum_ns: number | string;
  dropped: number;
  buckets: number[][];
}

const TWO32 = 4294967296;

/** The histogram as a plain JSON-ready object (see the module comment). */
export function histogramToJSON(h: Histogram): HistogramJSON {
  const buckets: number[][] = [];
  let run: number[] | null = null;
  let last = -2;
  h.forEachBucket((i, c) => {
    // Join buckets separated by a single empty one: `,0` is shorter than a new run.
    if (run !== null && i - last <= 2) {
      if (i - last === 2) run.push(0);
      run.push(c);
    } else {
      run = [i, c];
      buckets.push(run);
    }
    last = i;
  });
  const [hi, lo] = h.sumParts();
  const sum = hi * TWO32 + lo;
  return {
    version: HISTOGRAM_JSON_VERSION,
    unit: 'ns',
    lowest_ns: LOWEST_NS,
    highest_ns: HIGHEST_NS,
    digits: SIGNIFICANT_DIGITS,
    count: h.count,
    min_ns: h.count > 0 ? h.min : null,
    max_ns: h.count > 0 ? h.max : null,
    sum_ns: Number.isSafeInteger(sum) || !Number.isInteger(lo) ? sum : h.sumBigInt().toString(),
    dropped: h.dropped,
    buckets,
  };
}

function fail(path: string, what: string, got: unknown): never {
  let shown: string;
  try {
    shown = JSON.stringify(got) ?? String(got);
  } catch {
    shown = String(got);
  }
  if (shown.length > 40) shown = `${shown.slice(0, 37)}...`;
  throw new HistogramFormatError(`${path}: ${what}, got ${shown}`);
}

function count(path: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(path, 'expected a non-negative integer', v);
  return v;
}

/**
 * Reads the JSON form (an already parsed object). `path` names the object in error messages
 * (e.g. `analyses.syscall.histogram`). Throws `HistogramFormatError` saying what is wrong and where.
 */
export function histogramFromJSON(o: unknown, path = 'histogram'): Histogram {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) fail(path, 'expected an object', o);
  const j = o as Record<string, unknown>;
  if (j.version !== HISTOGRAM_JSON_VERSION) {
    fail(`${path}.version`, `unsupported histogram version (this build reads ${HISTOGRAM_JSON_VERSION})`, j.version);
  }
  if (j.unit !== 'ns') fail(`${path}.unit`, 'expected "ns"', j.unit);
  if (j.lowest_ns !== LOWEST_NS || j.highest_ns !== HIGHEST_NS || j.digits !== SIGNIFICANT_DIGITS) {
    fail(
      path,
      `layout differs from this build's (lowest_ns ${LOWEST_NS}, highest_ns ${HIGHEST_NS}, digits ${SIGNIFICANT_DIGITS})`,
      [j.lowest_ns, j.highest_ns, j.digits],
    );
  }
  const n = count(`${path}.count`, j.count);
  const dropped = count(`${path}.dropped`, j.dropped);
  if (!Array.isArray(j.buckets)) fail(`${path}.buckets`, 'expected an array of runs', j.buckets);
  const h = new Histogram();
  const c = h.counts;
  let total = 0;
  let prevEnd = 0;
  let lowIdx = -1;
  let highIdx = -1;
  j.buckets.forEach((run: unknown, r: number) => {
    const rp = `${path}.buckets[${r}]`;
    if (!Array.isArray(run) || run.length < 2) fail(rp, 'expected [start, count, ...]', run);
    const start = count(rp, run[0]);
    if (start < prevEnd || start + run.length - 1 > BUCKETS) {
      fail(rp, `runs must be in increasing order and end by bucket ${BUCKETS - 1}`, start);
    }
    for (let k = 1; k < run.length; k++) {
      const v = count(`${rp}[${k}]`, run[k]);
      if (v === 0 && (k === 1 || k === run.length - 1)) fail(`${rp}[${k}]`, 'a run cannot begin or end with 0', v);
      c[start + k - 1] = v;
      total += v;
    }
    if (lowIdx < 0) lowIdx = start;
    highIdx = start + run.length - 2;
    prevEnd = start + run.length - 1;
  });
  if (total !== n) fail(`${path}.count`, `does not match the buckets' total ${total}`, n);
  if (n === 0) {
    if (j.min_ns !== null || j.max_ns !== null) fail(path, 'an empty histogram has null min_ns and max_ns', j.min_ns);
    if (j.sum_ns !== 0) fail(`${path}.sum_ns`, 'an empty histogram has sum 0', j.sum_ns);
    h.addTotals(0, 0, 0, 0, 0, dropped);
    return h;
  }
  const min = j.min_ns;
  const max = j.max_ns;
  if (typeof min !== 'number' || !(min >= 0) || !Number.isFinite(min)) fail(`${path}.min_ns`, 'expected ns', min);
  if (typeof max !== 'number' || !(max >= min) || !Number.isFinite(max)) fail(`${path}.max_ns`, 'expected ns', max);
  if (lowIdx !== bucketIndex(min) || highIdx !== bucketIndex(max)) {
    fail(path, 'min_ns/max_ns do not fall in the first/last non-empty bucket', [min, max]);
  }
  let sumHi: number;
  let sumLo: number;
  const s = j.sum_ns;
  if (typeof s === 'number' && s >= 0 && Number.isFinite(s)) {
    sumHi = Math.floor(s / TWO32);
    sumLo = s - sumHi * TWO32;
  } else if (typeof s === 'string' && /^[0-9]{1,40}$/.test(s)) {
    const big = BigInt(s);
    sumHi = Number(big >> 32n);
    sumLo = Number(big & 0xffffffffn);
  } else {
    fail(`${path}.sum_ns`, 'expected a non-negative number or a decimal string', s);
  }
  h.addTotals(n, min, max, sumHi, sumLo, dropped);
  return h;
}

/** The histogram fields of a `summary` line of the JSON Lines contract (DESIGN §6), in contract order. */
export interface SummaryFields {
  count: number;
  min_ns: number | null;
  max_ns: number | null;
  /** Exact: a number while it is a safe integer, a bigint beyond (the writer prints it as a JSON integer). */
  sum_ns: number | bigint;
  mean_ns: number | null;
  p50_ns: number | null;
  p90_ns: number | null;
  p99_ns: number | null;
  p999_ns: number | null;
}

/**
 * `count`, `min_ns`, `max_ns`, `sum_ns` (exact), `mean_ns`, and `p50_ns`..`p999_ns` (nearest rank, within 1/256) for a
 * `summary` line; null where an empty histogram has no value.
 */
export function summaryFields(h: Histogram): SummaryFields {
  const empty = h.count === 0;
  const [p50, p90, p99, p999] = h.percentiles([50, 90, 99, 99.9]);
  const [hi, lo] = h.sumParts();
  const sum = hi * TWO32 + lo;
  return {
    count: h.count,
    min_ns: empty ? null : h.min,
    max_ns: empty ? null : h.max,
    sum_ns: Number.isSafeInteger(sum) || !Number.isInteger(lo) ? sum : h.sumBigInt(),
    mean_ns: empty ? null : h.mean,
    p50_ns: empty ? null : p50,
    p90_ns: empty ? null : p90,
    p99_ns: empty ? null : p99,
    p999_ns: empty ? null : p999,
  };
}
