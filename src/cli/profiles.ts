/**
 * Profiles on the command line: `--profile-out FILE` (write the run's profile), `compare BASELINE CURRENT` (profiles
 * or traces), and the windowed table `live --interval` prints.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Engine } from '../analyses/engine.ts';
import { ANALYSES } from '../analyses/index.ts';
import { compareProfiles, type GroupMismatch } from '../histogram/compare.ts';
import type { Histogram } from '../histogram/histogram.ts';
import { type Profile, profileFromJSON, profileToJSON } from '../histogram/profile.ts';
import { compareRowToJSON, renderCompareTable } from '../histogram/render.ts';
import { jsonLine } from '../sinks/json.ts';
import { shortNs } from '../sinks/summary.ts';
import { SetupError, systemErrorText } from '../sources/errors.ts';
import type { Output } from './run.ts';

/**
 * The profile of a finished run (whole run, with groups when `--group-by` was given). The host is ours for a live
 * run; a trace file's host is not known here (null).
 */
export function runProfile(engine: Engine, source: string): Profile {
  const end = engine.lastTs;
  return engine.profiles.toProfile({
    host: engine.source.kind === 'tracefs' ? hostname() : null,
    source,
    window: 'all',
    startNs: engine.source.originNs,
    endNs: Number.isFinite(end) ? engine.absolute(end) : null,
  });
}

/** Writes a profile file; a failure is one clear sentence. */
export function writeProfile(path: string, p: Profile): void {
  try {
    writeFileSync(path, `${profileToJSON(p)}\n`);
  } catch (e) {
    throw new SetupError(`cannot write profile ${path}: ${systemErrorText(e)}`);
  }
}

/** A profile file's contents, or undefined when `path` is not a profile (a trace file or directory). */
function readProfileFile(path: string): Profile | undefined {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch (e) {
    throw new SetupError(`cannot open ${path}: ${systemErrorText(e)}`);
  }
  if (st.isDirectory()) return undefined;
  const fd = readFileSync(path);
  // trace.dat starts with the bytes 17 08 44 'tracing'; a profile is JSON.
  if (fd.length > 0 && fd[0] !== 0x7b && fd[0] !== 0x20 && fd[0] !== 0x0a) return undefined;
  try {
    return profileFromJSON(fd.toString('utf8'));
  } catch (e) {
    throw new SetupError(`${path} is not a latency-tracker profile: ${(e as Error).message}`);
  }
}

/**
 * `compare BASELINE CURRENT`: each side a profile file (from `--profile-out`) or a trace (analyzed here, all
 * analyses, every pair). Prints the per-analysis table with a verdict per percentile, or JSON Lines. Exits like
 * `diff`: 1 when a percentile of some row regressed significantly, 0 otherwise (always 0 with `--no-fail`).
 */
export async function runCompare(
  baseline: string,
  current: string,
  raw: { json?: boolean; groupBy?: string; analysis?: string[]; fail?: boolean },
  io: Output,
  analyzeTrace: (path: string, groupBy: string | undefined) => Promise<Profile>,
): Promise<number> {
  const load = async (path: string) => readProfileFile(path) ?? (await analyzeTrace(path, raw.groupBy));
  const a = await load(baseline);
  const b = await load(current);
  if (raw.analysis !== undefined && raw.analysis.length > 0) {
    for (const n of raw.analysis) {
      if (!ANALYSES.some((x) => x.name === n)) throw new SetupError(`unknown analysis '${n}'`);
    }
    for (const p of [a, b]) for (const k of [...p.analyses.keys()]) if (!raw.analysis.includes(k)) p.analyses.delete(k);
  }
  const mismatched: GroupMismatch[] = [];
  const rows = compareProfiles(a, b, undefined, mismatched);
  if (rows.length === 0) throw new SetupError('the two sides have no analysis in common');
  if (mismatched.length > 0) {
    const by = (g: string | null) => (g === null ? 'no groups' : `groups by ${g}`);
    const m = mismatched[0];
    io.err(
      `latency-tracker: the baseline has ${by(m.a)} and the current has ${by(m.b)} ` +
        `(${mismatched.map((x) => x.analysis).join(', ')}): only the totals are compared\n`,
    );
  }
  if (raw.json) for (const r of rows) io.out(`${jsonLine(compareRowToJSON(r))}\n`);
  else {
    io.out(`baseline: ${describe(baseline, a)}\ncurrent:  ${describe(current, b)}\n\n`);
    io.out(renderCompareTable(rows));
  }
  const regressed = rows.some((r) => r.percentiles.some((p) => p.verdict === 'regressed'));
  return regressed && raw.fail !== false ? 1 : 0;
}

function describe(path: string, p: Profile): string {
  const m = p.meta;
  const span = m.startNs !== null && m.endNs !== null ? `, ${(Number(m.endNs - m.startNs) / 1e9).toFixed(1)} s` : '';
  // A trace analyzed here is its own source: say it once.
  const what = m.source === null ? 'profile' : m.source === path ? 'trace' : m.source;
  return `${path} (${what}${m.host ? ` on ${m.host}` : ''}${span})`;
}

function cells(h: Histogram): string {
  if (h.count === 0) return `${'0'.padStart(8)}${'-'.padStart(8).repeat(5)}`;
  const [p50, p90, p99, p999] = h.percentiles([50, 90, 99, 99.9]);
  return [String(h.count), shortNs(p50), shortNs(p90), shortNs(p99), shortNs(p999), shortNs(h.max)]
    .map((c) => c.padStart(8))
    .join('');
}

/**
 * The `live --interval` table: per analysis, the pairs that ended during the last interval (`spanNs` long): count
 * and percentiles, like `runqlat 2` prints each interval's own histogram.
 */
export function formatInterval(engine: Engine, clock: string, spanNs: number): string {
  let text = `\n${clock}  (last ${(spanNs / 1e9).toFixed(1)}s)\n`;
  text += `${'analysis'.padEnd(16)}${['count', 'p50', 'p90', 'p99', 'p99.9', 'max'].map((c) => c.padStart(8)).join('')}\n`;
  for (const st of engine.states) {
    const name = st.analysis.name;
    text += `${name.padEnd(16)}${cells(engine.profiles.takeInterval(name))}\n`;
  }
  return text;
}

/**
 * The `live --interval` lines as JSON: one `interval` record per analysis, the pairs that ended in the last
 * `interval_ns` before `ts_ns` (the kernel's mono clock), with `unix` (wall clock, seconds) of `ts_ns`.
 */
export function intervalRecords(engine: Engine, tsNs: bigint, spanNs: number): object[] {
  const out: object[] = [];
  const off = engine.source.unixOffsetNs;
  for (const st of engine.states) {
    const name = st.analysis.name;
    const h = engine.profiles.takeInterval(name);
    const ps = h.count > 0 ? h.percentiles([50, 90, 99, 99.9]) : [null, null, null, null];
    out.push({
      type: 'interval',
      analysis: name,
      ts_ns: tsNs,
      unix: off === undefined ? null : Number((tsNs + off) / 1000n) / 1e6,
      interval_ns: spanNs,
      count: h.count,
      p50_ns: ps[0],
      p90_ns: ps[1],
      p99_ns: ps[2],
      p999_ns: ps[3],
      max_ns: h.count > 0 ? h.max : null,
    });
  }
  return out;
}
