/**
 * Presenting comparison rows: a plain-text table under 80 columns (like the bcc tools' output) and JSON objects
 * with the field names of the JSON Lines contract (snake_case, nanoseconds as numbers).
 */
import type { CompareRow, PercentileComparison, ValueChange } from './compare.ts';

/** A duration in ns with 3 significant digits and a unit: 850ns, 1.20us, 410us, 29.0ms, 3.01s, 3600s. */
export function formatNs(ns: number | null): string {
  if (ns === null || Number.isNaN(ns)) return '-';
  const sign = ns < 0 ? '-' : '';
  const a = Math.abs(ns);
  if (a < 1000) return `${sign}${Number.isInteger(a) ? a : a.toFixed(1)}ns`;
  const units: [number, string][] = [
    [1e3, 'us'],
    [1e6, 'ms'],
    [1e9, 's'],
  ];
  for (let i = 0; i < units.length; i++) {
    const [div, unit] = units[i];
    const v = a / div;
    const s = v.toPrecision(3);
    if (Number(s) < 1000 || i === units.length - 1) {
      return `${sign}${Number(s) >= 1000 ? Math.round(v).toString() : s}${unit}`;
    }
  }
  return `${sign}${a}ns`;
}

function formatSigned(v: number | null, fmt: (x: number) => string): string {
  if (v === null || Number.isNaN(v)) return '-';
  if (v === 0) return fmt(0);
  return v > 0 ? `+${fmt(v)}` : `-${fmt(-v)}`;
}

/** A relative change as a percentage with one decimal: +26.8%. */
export function formatRelative(r: number | null): string {
  if (r === null || !Number.isFinite(r)) return '-';
  const p = r * 100;
  return `${p > 0 ? '+' : p < 0 ? '-' : ''}${Math.abs(p) >= 1000 ? Math.round(Math.abs(p)) : Math.abs(p).toFixed(1)}%`;
}

function verdictText(p: PercentileComparison): string {
  if (p.verdict === 'regressed') return 'REGRESSED';
  if (p.verdict === 'improved') return 'improved';
  return p.insufficient ? 'too few samples' : 'not significant';
}

function line(label: string, a: string, b: string, change: string, rel: string, verdict: string): string {
  return `  ${label.padEnd(6)} ${a.padStart(10)} ${b.padStart(10)} ${change.padStart(10)} ${rel.padStart(7)}  ${verdict}`.trimEnd();
}

function countText(v: number | null): string {
  return v === null ? '-' : String(v);
}

/** Title of a row: `syscall`, `syscall [syscall=read]`, `syscall [syscall=__overflow__]`. */
export function rowTitle(r: CompareRow): string {
  return r.group === null ? r.analysis : `${r.analysis} [${r.groupBy ?? 'group'}=${r.group}]`;
}

/**
 * The rows as a text table: per row a title, then count, each percentile and max, with baseline, current, change,
 * relative change and verdict, then the whole-distribution KS line. `labels` name the two sides.
 */
export function renderCompareTable(
  rows: readonly CompareRow[],
  labels: [string, string] = ['baseline', 'current'],
): string {
  const out: string[] = [];
  for (const r of rows) {
    if (out.length > 0) out.push('');
    out.push(rowTitle(r));
    out.push(line('', labels[0].slice(0, 10), labels[1].slice(0, 10), 'change', '', 'verdict'));
    const c = r.count;
    out.push(
      line('count', countText(c.a), countText(c.b), formatSigned(c.change, String), formatRelative(c.relative), ''),
    );
    for (const p of r.percentiles) {
      out.push(
        line(
          p.label,
          formatNs(p.a),
          formatNs(p.b),
          formatSigned(p.change, formatNs),
          formatRelative(p.relative),
          verdictText(p),
        ),
      );
    }
    const m = r.max;
    out.push(
      line('max', formatNs(m.a), formatNs(m.b), formatSigned(m.change, formatNs), formatRelative(m.relative), ''),
    );
    if (r.ks !== null) {
      out.push(
        `  whole distribution: KS D=${r.ks.d.toFixed(4)} p=${r.ks.pValue < 1e-4 ? '<0.0001' : r.ks.pValue.toFixed(4)}`,
      );
    }
  }
  return `${out.join('\n')}\n`;
}

function changeJSON(v: ValueChange): Record<string, number | null> {
  return { a: v.a, b: v.b, change: v.change, relative: v.relative };
}

/** One row as a JSON object (`type: "compare"` first, for JSON Lines). Values in ns, relative changes as ratios. */
export function compareRowToJSON(r: CompareRow): Record<string, unknown> {
  const o: Record<string, unknown> = {
    type: 'compare',
    analysis: r.analysis,
    group_by: r.groupBy,
    group: r.group,
    count: changeJSON(r.count),
  };
  for (const p of r.percentiles) {
    o[`${p.label.replace('.', '')}_ns`] = {
      ...changeJSON(p),
      a_interval: p.aInterval,
      b_interval: p.bInterval,
      verdict: p.verdict,
      insufficient: p.insufficient,
    };
  }
  o.max_ns = changeJSON(r.max);
  o.ks = r.ks === null ? null : { d: r.ks.d, p_value: r.ks.pValue };
  return o;
}
