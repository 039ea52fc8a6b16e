/**
 * End-of-run statistics (`--summary`): per analysis a table (count, min, mean, percentiles, max) and a log2
 * histogram in the bcc style, or JSON Lines `summary` records (DESIGN §6). count/min/max/sum are exact; percentiles
 * come from the log-linear histograms (relative error <= 1 %).
 */
import type { Engine } from '../analyses/engine.ts';
import { OVERFLOW_GROUP } from '../histogram/groups.ts';
import type { Histogram } from '../histogram/histogram.ts';
import { bucketValue } from '../histogram/layout.ts';
import type { SourceStats } from '../sources/types.ts';
import { durationText } from './durations.ts';

const QS = [50, 90, 99, 99.9] as const;

/** Compact duration for tables: `170ns`, `12.3us`, `4.56ms`, `3.010s`. */
export function shortNs(ns: number): string {
  if (!Number.isFinite(ns)) return '-';
  if (ns < 1e3) return `${Math.round(ns)}ns`;
  if (ns < 1e4) return `${(ns / 1e3).toFixed(2)}us`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(1)}us`;
  if (ns < 1e7) return `${(ns / 1e6).toFixed(2)}ms`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(1)}ms`;
  return `${(ns / 1e9).toFixed(3)}s`;
}

/** bcc-style log2 histogram of a latency histogram, in microseconds (or ms, `-m`, or ns). */
export function log2Histogram(h: Histogram, unit: 'usecs' | 'msecs' | 'nsecs' = 'usecs'): string {
  const div = unit === 'msecs' ? 1e6 : unit === 'usecs' ? 1000 : 1;
  const bins: number[] = [];
  h.forEachBucket((i, count) => {
    const v = Math.floor(bucketValue(i) / div);
    const bin = v <= 1 ? 0 : Math.floor(Math.log2(v));
    while (bins.length <= bin) bins.push(0);
    bins[bin] += count;
  });
  if (bins.length === 0) return '';
  let first = 0;
  while (first < bins.length - 1 && bins[first] === 0) first++;
  const max = Math.max(...bins);
  const lines = [`${' '.repeat(5)}${unit.padEnd(19)} : count     distribution`];
  for (let b = first; b < bins.length; b++) {
    const lo = b === 0 ? 0 : 2 ** b;
    const hi = 2 ** (b + 1) - 1;
    const stars = max > 0 ? Math.round((bins[b] / max) * 40) : 0;
    const range = `${String(lo).padStart(10)} -> ${String(hi).padEnd(10)}`;
    lines.push(`${range}: ${String(bins[b]).padEnd(8)} |${'*'.repeat(stars).padEnd(40)}|`);
  }
  return `${lines.join('\n')}\n`;
}

/** `text` in at most `width` columns: cut with an ellipsis when longer, so a cut name never reads as a whole one. */
export function cut(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

function statsRow(label: string, h: Histogram, width: number): string {
  const ps = h.count > 0 ? h.percentiles(QS as unknown as number[]) : [Number.NaN, Number.NaN, Number.NaN, Number.NaN];
  const cells = [
    String(h.count),
    h.count > 0 ? shortNs(h.min) : '-',
    h.count > 0 ? shortNs(h.mean) : '-',
    ...ps.map((p) => (h.count > 0 ? shortNs(p) : '-')),
    h.count > 0 ? shortNs(h.max) : '-',
  ];
  return `${cut(label, width).padEnd(width)}${cells.map((c) => c.padStart(8)).join('')}\n`;
}

const HEADER = ['count', 'min', 'mean', 'p50', 'p90', 'p99', 'p99.9', 'max'];

/** The human summary of every analysis that ran; the histograms in `unit` (`-m`: msecs). */
export function formatSummary(engine: Engine, stats: SourceStats, unit: 'usecs' | 'msecs' = 'usecs'): string {
  let text = '';
  const lost = stats.lostPerCpu.reduce((a, b) => a + b, 0);
  for (const st of engine.states) {
    const name = st.analysis.name;
    const h = engine.profiles.total(name);
    const t = st.tracker.stats;
    text += `\n${name}: ${h.count} pairs, threshold ${durationText(st.tracker.threshold)}: ${t.overThreshold} over`;
    text += `, ${t.timeouts} timeouts, ${t.unmatchedOut} unmatched, ${t.replaced} replaced`;
    text += lost > 0 ? `, ${lost} events lost\n` : '\n';
    text += `${''.padEnd(14)}${HEADER.map((c) => c.padStart(8)).join('')}\n`;
    text += statsRow('', h, 14);
    const groups = engine.profiles.groups(name);
    if (groups !== undefined && groups.size > 0) {
      const rows = [...groups.entries()].sort((a, b) => b[1].count - a[1].count);
      text += `  by ${engine.profiles.groupBy}:\n`;
      for (const [k, gh] of rows.slice(0, 25)) text += statsRow(`  ${String(k)}`, gh, 14);
      if (rows.length > 25) text += `  ... ${rows.length - 25} more groups\n`;
      const gs = groups.stats;
      if (gs.overflowRecords > 0) {
        text += `  (more than ${gs.limit} distinct values: ${gs.overflowDistinct}${gs.overflowDistinctExact ? '' : '+'} more`;
        text += ` in ${OVERFLOW_GROUP}, ${gs.overflowRecords} pairs; raise --group-limit)\n`;
      }
    }
    if (h.count > 0) text += log2Histogram(h, unit);
  }
  return text;
}

/** JSON Lines `summary` records: one per analysis (`group: null`), then one per group value. */
export function summaryRecords(engine: Engine, stats: SourceStats): object[] {
  const out: object[] = [];
  const lost = stats.lostPerCpu.reduce((a, b) => a + b, 0);
  const fields = (h: Histogram) => {
    const ps = h.count > 0 ? h.percentiles([50, 90, 99, 99.9]) : [null, null, null, null];
    return {
      count: h.count,
      min_ns: h.count > 0 ? h.min : null,
      max_ns: h.count > 0 ? h.max : null,
      sum_ns: h.sumBigInt(),
      mean_ns: h.count > 0 ? Math.round(h.mean * 10) / 10 : null,
      p50_ns: ps[0],
      p90_ns: ps[1],
      p99_ns: ps[2],
      p999_ns: ps[3],
    };
  };
  for (const st of engine.states) {
    const name = st.analysis.name;
    const t = st.tracker.stats;
    out.push({
      type: 'summary',
      analysis: name,
      group: null,
      ...fields(engine.profiles.total(name)),
      over_threshold: t.overThreshold,
      timeouts: t.timeouts,
      unmatched: t.unmatchedOut,
      lost_events: lost,
    });
    const groups = engine.profiles.groups(name);
    if (groups === undefined) continue;
    for (const [k, gh] of [...groups.entries()].sort((a, b) => b[1].count - a[1].count)) {
      out.push({ type: 'summary', analysis: name, group: String(k), ...fields(gh) });
    }
  }
  return out;
}
