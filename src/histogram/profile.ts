/**
 * A latency profile: where it comes from (host, source, window, time range) and, per analysis, the histogram of all
 * its pairs plus optionally one histogram per group value. What `compare` takes, and what
 * `latency-tracker compare BASELINE.json CURRENT.json` reads from files.
 *
 * File format (JSON, one object):
 * ```json
 * {"format":"latency-tracker-profile","version":1,
 *  "host":"db1","source":"live","window":"5m","start_ns":1055839758240,"end_ns":1056139758240,
 *  "analyses":{"syscall":{"histogram":{...},"group_by":"syscall","group_limit":256,
 *    "groups":[{"key":"read","histogram":{...}}],
 *    "overflow":{"distinct":0,"distinct_exact":true,"histogram":{...}}}}}
 * ```
 * Histograms use the JSON form of `json.ts`. Times are ns on the source's time line: JSON integers when safe, decimal
 * strings beyond 2^53 (never a rounded float). `group_by`, `group_limit`, `groups` and `overflow` are present
 * together or not at all. The reader validates everything and throws `ProfileFormatError` naming the bad field.
 */
import { type GroupKey, HistogramGroups } from './groups.ts';
import { type Histogram, HistogramFormatError } from './histogram.ts';
import { type HistogramJSON, histogramFromJSON, histogramToJSON } from './json.ts';

export const PROFILE_FORMAT = 'latency-tracker-profile';
export const PROFILE_VERSION = 1;

/** A profile file or object that cannot be read; the message names the field. */
export class ProfileFormatError extends HistogramFormatError {
  override name = 'ProfileFormatError';
}

export interface ProfileMeta {
  /** Host name the profile was taken on. */
  host: string | null;
  /** 'live' or the trace file analysed. */
  source: string | null;
  /** '1m', '5m', '1h', 'all', ... */
  window: string | null;
  /** Time range covered, ns on the source's time line. */
  startNs: bigint | null;
  endNs: bigint | null;
}

export interface AnalysisProfile {
  /** Every pair of the analysis. */
  histogram: Histogram;
  /** The grouping field ('syscall', 'comm', 'tid', 'irq', 'dev'), or null when not grouped. */
  groupBy: string | null;
  /** Per-group histograms, present when `groupBy` is. */
  groups: HistogramGroups | null;
}

export interface Profile {
  meta: ProfileMeta;
  /** By analysis name, in insertion order. */
  analyses: Map<string, AnalysisProfile>;
}

/** An empty profile with the given metadata (missing fields null). */
export function createProfile(meta: Partial<ProfileMeta> = {}): Profile {
  return {
    meta: {
      host: meta.host ?? null,
      source: meta.source ?? null,
      window: meta.window ?? null,
      startNs: meta.startNs ?? null,
      endNs: meta.endNs ?? null,
    },
    analyses: new Map(),
  };
}

export interface ProfileJSON {
  format: typeof PROFILE_FORMAT;
  version: number;
  host: string | null;
  source: string | null;
  window: string | null;
  start_ns: number | string | null;
  end_ns: number | string | null;
  analyses: Record<string, AnalysisJSON>;
}

export interface AnalysisJSON {
  histogram: HistogramJSON;
  group_by?: string;
  group_limit?: number;
  groups?: { key: GroupKey; histogram: HistogramJSON }[];
  overflow?: { distinct: number; distinct_exact: boolean; histogram: HistogramJSON };
}

function timeToJSON(t: bigint | null): number | string | null {
  if (t === null) return null;
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : t.toString();
}

/** The profile as a plain JSON-ready object (for embedding in API responses). */
export function profileToObject(p: Profile): ProfileJSON {
  const analyses: Record<string, AnalysisJSON> = {};
  for (const [name, a] of p.analyses) {
    const o: AnalysisJSON = { histogram: histogramToJSON(a.histogram) };
    if (a.groupBy !== null && a.groups !== null) {
      const st = a.groups.stats;
      o.group_by = a.groupBy;
      o.group_limit = a.groups.limit;
      o.groups = [...a.groups.entries()].map(([key, h]) => ({ key, histogram: histogramToJSON(h) }));
      o.overflow = {
        distinct: st.overflowDistinct,
        distinct_exact: st.overflowDistinctExact,
        histogram: histogramToJSON(a.groups.overflow),
      };
    }
    analyses[name] = o;
  }
  return {
    format: PROFILE_FORMAT,
    version: PROFILE_VERSION,
    host: p.meta.host,
    source: p.meta.source,
    window: p.meta.window,
    start_ns: timeToJSON(p.meta.startNs),
    end_ns: timeToJSON(p.meta.endNs),
    analyses,
  };
}

/** The profile as JSON text (one line, newline-terminated). */
export function profileToJSON(p: Profile): string {
  return `${JSON.stringify(profileToObject(p))}\n`;
}

function fail(path: string, what: string): never {
  throw new ProfileFormatError(`${path}: ${what}`);
}

function optString(o: Record<string, unknown>, key: string): string | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') fail(key, `expected a string or null, got ${typeof v}`);
  return v;
}

function optTime(o: Record<string, unknown>, key: string): bigint | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^-?[0-9]{1,30}$/.test(v)) return BigInt(v);
  return fail(key, `expected integer nanoseconds (a JSON integer or a decimal string), got ${JSON.stringify(v)}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function readHistogram(v: unknown, path: string): Histogram {
  try {
    return histogramFromJSON(v, path);
  } catch (e) {
    if (e instanceof HistogramFormatError) throw new ProfileFormatError(e.message);
    throw e;
  }
}

function readAnalysis(v: unknown, path: string): AnalysisProfile {
  if (!isObject(v)) fail(path, 'expected an object');
  const histogram = readHistogram(v.histogram, `${path}.histogram`);
  const grouped = ['group_by', 'group_limit', 'groups', 'overflow'].filter((k) => v[k] !== undefined);
  if (grouped.length === 0) return { histogram, groupBy: null, groups: null };
  if (grouped.length !== 4) fail(path, 'group_by, group_limit, groups and overflow go together');
  if (typeof v.group_by !== 'string' || v.group_by === '') fail(`${path}.group_by`, 'expected a field name');
  const limit = v.group_limit;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 65536) {
    fail(`${path}.group_limit`, `expected an integer in 1..65536, got ${JSON.stringify(limit)}`);
  }
  if (!Array.isArray(v.groups)) fail(`${path}.groups`, 'expected an array');
  if (v.groups.length > limit) fail(`${path}.groups`, `${v.groups.length} groups exceed group_limit ${limit}`);
  const groups = new HistogramGroups({ limit });
  v.groups.forEach((g: unknown, i: number) => {
    const gp = `${path}.groups[${i}]`;
    if (!isObject(g)) fail(gp, 'expected {key, histogram}');
    const key = g.key;
    if (typeof key !== 'string' && !(typeof key === 'number' && Number.isFinite(key))) {
      fail(`${gp}.key`, 'expected a string or a number');
    }
    if (groups.get(key) !== undefined) fail(`${gp}.key`, `duplicate group ${JSON.stringify(key)}`);
    groups.histogram(key).merge(readHistogram(g.histogram, `${gp}.histogram`));
  });
  const o = v.overflow;
  if (!isObject(o)) fail(`${path}.overflow`, 'expected {distinct, distinct_exact, histogram}');
  const distinct = o.distinct;
  if (typeof distinct !== 'number' || !Number.isSafeInteger(distinct) || distinct < 0) {
    fail(`${path}.overflow.distinct`, 'expected a non-negative integer');
  }
  if (typeof o.distinct_exact !== 'boolean') fail(`${path}.overflow.distinct_exact`, 'expected true or false');
  groups.overflow.merge(readHistogram(o.histogram, `${path}.overflow.histogram`));
  groups.restoreOverflow(distinct, o.distinct_exact);
  return { histogram, groupBy: v.group_by, groups };
}

/**
 * Reads a profile from JSON text (or an already parsed object). Throws `ProfileFormatError` with one sentence that
 * says what is wrong and where: not JSON, not a profile, an unsupported version, or the first bad field.
 */
export function profileFromJSON(input: string | unknown): Profile {
  let o: unknown = input;
  if (typeof input === 'string') {
    try {
      o = JSON.parse(input);
    } catch (e) {
      throw new ProfileFormatError(`not a JSON document (${(e as Error).message})`);
    }
  }
  if (!isObject(o) || o.format !== PROFILE_FORMAT) {
    throw new ProfileFormatError(`not a latency-tracker profile (expected "format": "${PROFILE_FORMAT}")`);
  }
  if (o.version !== PROFILE_VERSION) {
    throw new ProfileFormatError(
      `profile version ${JSON.stringify(o.version)} is not supported (this build reads version ${PROFILE_VERSION})`,
    );
  }
  const p = createProfile({
    host: optString(o, 'host'),
    source: optString(o, 'source'),
    window: optString(o, 'window'),
    startNs: optTime(o, 'start_ns'),
    endNs: optTime(o, 'end_ns'),
  });
  if (!isObject(o.analyses)) fail('analyses', 'expected an object of analyses by name');
  for (const [name, a] of Object.entries(o.analyses)) {
    p.analyses.set(name, readAnalysis(a, `analyses.${name}`));
  }
  return p;
}
