/**
 * Durations for people, in two forms, each used everywhere it applies (CLI text, summaries, `list`, the dashboard):
 * - `formatDuration`: a measured latency, `200.096ms` (three decimals, no space: one `key=value` token);
 * - `durationText`: a setting (threshold, timeout, interval), `10ms`, `1.5ms`, `1h`: exactly what `--threshold`
 *   accepts, so a value printed can be typed back.
 * Pure (no imports): the dashboard bundles this file too.
 */

/** A measured duration with three decimals and its unit, no space: `999ns`, `1.500us`, `30.000ms`, `2.500s`. */
export function formatDuration(ns: number): string {
  if (!Number.isFinite(ns)) return '-';
  const a = Math.abs(ns);
  if (a < 1e3) return `${Math.round(ns)}ns`;
  if (a < 1e6) return `${(ns / 1e3).toFixed(3)}us`;
  if (a < 1e9) return `${(ns / 1e6).toFixed(3)}ms`;
  return `${(ns / 1e9).toFixed(3)}s`;
}

const SETTING_UNITS: [number, string][] = [
  [3600e9, 'h'],
  [60e9, 'm'],
  [1e9, 's'],
  [1e6, 'ms'],
  [1e3, 'us'],
];

/**
 * A setting in the form the command line takes, exact: `0`, `250us`, `1.5ms`, `10ms`, `2s`, `1m`, `1h`,
 * `1234.567us`. The largest unit that shows the value exactly (whole minutes and hours only; up to three decimals
 * for the others).
 */
export function durationText(ns: number): string {
  if (!Number.isFinite(ns) || ns < 0) return '-';
  if (ns === 0) return '0';
  for (const [u, name] of SETTING_UNITS) {
    if (ns < u) continue;
    if (u >= 60e9) {
      if (ns % u === 0) return `${ns / u}${name}`;
      continue;
    }
    if (ns % (u / 1000) === 0) return `${Number((ns / u).toFixed(3))}${name}`;
  }
  return `${Math.round(ns)}ns`;
}
