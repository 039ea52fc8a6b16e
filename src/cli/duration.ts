/**
 * Durations on the command line: `250us`, `5ms`, `2s`, `1.5ms`, `100ns`, `1m`, `1h`; a bare number means
 * microseconds, as the original module's `usec_threshold` did (DESIGN §6).
 */

const UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  ms: 1e6,
  s: 1e9,
  sec: 1e9,
  m: 60e9,
  min: 60e9,
  h: 3600e9,
};

/** Longest accepted duration: 30 days (anything longer is a typo). */
export const MAX_DURATION_NS = 30 * 24 * 3600e9;

/** Parses a duration to integer nanoseconds; returns an error string for a bad value. */
export function parseDuration(text: string): number | string {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-zµ]*)\s*$/i.exec(text);
  if (m === null) return `'${text}' is not a duration (use e.g. 250us, 5ms, 2s; a bare number is microseconds)`;
  const unit = m[2].toLowerCase();
  const mult = unit === '' ? 1e3 : UNITS[unit];
  if (mult === undefined) return `'${text}' has an unknown unit '${m[2]}' (use ns, us, ms, s, m, h)`;
  const ns = Math.round(Number(m[1]) * mult);
  if (!Number.isFinite(ns) || ns > MAX_DURATION_NS) return `'${text}' is too long (at most 30 days)`;
  return ns;
}
