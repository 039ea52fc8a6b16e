/**
 * Prometheus histogram export: cumulative `_bucket{le}` counts on a fixed ladder in seconds, with exact `_sum` and
 * `_count`. A pure serializer (DESIGN: the HTTP exporter lives in `sinks/`); it writes one histogram's sample lines,
 * the caller writes `# HELP`/`# TYPE` once per metric family.
 *
 * The ladder: 1-2-5 steps from 1 µs to 1000 s, then 2000 s and 3600 s (1 h), then `+Inf`: 30 finite bounds, 31
 * series per histogram. Coarse on purpose (every label combination multiplies it); the full-resolution histogram is
 * in the JSON API and the HdrHistogram export.
 *
 * A histogram bucket (width ≤ 1/128 of its value) is counted under the smallest `le` at or above its midpoint, the
 * value percentiles report. So a value within 0.4 % of an `le` bound may be counted on the other side of it;
 * everything else is exact, and values beyond 1 h (the overflow bucket) count only in `+Inf`. `_count` is the exact
 * count; `_sum` is the exact sum in seconds, printed as a decimal (no float rounding) for integer nanoseconds.
 */
import { type Histogram, HistogramError } from './histogram.ts';
import { bucketValue } from './layout.ts';

/** The default `le` ladder, in seconds (`+Inf` is implied after the last). */
export const PROMETHEUS_LE_SECONDS: readonly number[] = Object.freeze([
  0.000001, 0.000002, 0.000005, 0.00001, 0.00002, 0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02,
  0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 3600,
]);

export interface PrometheusHistogram {
  /** Upper bounds in seconds, ascending; the last is `Infinity` (`+Inf`). */
  le: number[];
  /** Cumulative count of values ≤ each bound (monotone; the last equals `count`). */
  cumulative: number[];
  count: number;
  /** Exact sum in seconds as a decimal string (e.g. `"54.759492482"`). */
  sum: string;
}

function checkLadder(ladder: readonly number[]): number[] {
  if (!Array.isArray(ladder) || ladder.length === 0) throw new HistogramError('le ladder must be a non-empty array');
  const ns: number[] = [];
  let prev = 0;
  for (const le of ladder) {
    if (typeof le !== 'number' || !Number.isFinite(le) || !(le > prev)) {
      throw new HistogramError(`le ladder must be finite, positive and strictly increasing seconds, got ${le}`);
    }
    ns.push(Math.round(le * 1e9));
    prev = le;
  }
  return ns;
}

const DEFAULT_LE_NS = checkLadder(PROMETHEUS_LE_SECONDS);

/** Nanoseconds (an integer as bigint) as exact decimal seconds: 1500n → "0.0000015". */
export function nsToSecondsString(ns: bigint): string {
  const s = ns / 1_000_000_000n;
  const frac = ns % 1_000_000_000n;
  if (frac === 0n) return s.toString();
  return `${s}.${frac.toString().padStart(9, '0').replace(/0+$/, '')}`;
}

/** The histogram's cumulative buckets on `ladder` (seconds; default `PROMETHEUS_LE_SECONDS`). */
export function prometheusBuckets(
  h: Histogram,
  ladder: readonly number[] = PROMETHEUS_LE_SECONDS,
): PrometheusHistogram {
  const leNs = ladder === PROMETHEUS_LE_SECONDS ? DEFAULT_LE_NS : checkLadder(ladder);
  const per = new Array<number>(leNs.length + 1).fill(0);
  let k = 0;
  h.forEachBucket((i, c) => {
    const v = bucketValue(i);
    while (k < leNs.length && leNs[k] < v) k++;
    per[k] += c;
  });
  const cumulative: number[] = [];
  let cum = 0;
  for (const c of per) cumulative.push((cum += c));
  const [, lo] = h.sumParts();
  return {
    le: [...ladder, Number.POSITIVE_INFINITY],
    cumulative,
    count: h.count,
    sum: Number.isInteger(lo) ? nsToSecondsString(h.sumBigInt()) : String(h.sum / 1e9),
  };
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** An `le` bound as Prometheus clients print it: plain decimal seconds (`0.000001`, `3600`), or `+Inf`. */
export function formatLe(le: number): string {
  if (le === Number.POSITIVE_INFINITY) return '+Inf';
  const s = le.toFixed(9);
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/**
 * The sample lines of one histogram series in the Prometheus text format: `name_bucket{labels,le="..."}` for every
 * bound, then `name_sum` and `name_count`, one per line with a final newline. Throws `HistogramError` for a bad
 * metric or label name (a programming error, not data).
 */
export function formatPrometheusHistogram(
  name: string,
  labels: Readonly<Record<string, string>>,
  p: PrometheusHistogram,
): string {
  if (!METRIC_NAME.test(name)) throw new HistogramError(`bad Prometheus metric name ${JSON.stringify(name)}`);
  let base = '';
  for (const [k, v] of Object.entries(labels)) {
    if (!LABEL_NAME.test(k) || k === 'le') throw new HistogramError(`bad Prometheus label name ${JSON.stringify(k)}`);
    base += `${k}="${escapeLabel(String(v))}",`;
  }
  const lines: string[] = [];
  for (let i = 0; i < p.le.length; i++) {
    lines.push(`${name}_bucket{${base}le="${formatLe(p.le[i])}"} ${p.cumulative[i]}`);
  }
  const plain = base === '' ? '' : `{${base.slice(0, -1)}}`;
  lines.push(`${name}_sum${plain} ${p.sum}`);
  lines.push(`${name}_count${plain} ${p.count}`);
  return `${lines.join('\n')}\n`;
}
