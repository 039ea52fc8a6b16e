/**
 * Profiles on the command line: `--profile-out FILE` (write the run's profile), `compare BASELINE CURRENT` (profiles
 * or traces), and the windowed table `live --interval` prints.
 */
import { closeSync, openSync, readSync, statSync, writeFileSync } from 'node:fs';
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

/** A profile is a few MB at most (every analysis, 256 groups each); anything larger is refused, not read. */
export const MAX_PROFILE_BYTES = 64 << 20;
/** trace.dat starts with these bytes (trace-cmd's `tracecmd_output`: 23 8 68 "tracing"). */
const TRACE_DAT_MAGIC = Buffer.from([0x17, 0x08, 0x44, 0x74, 0x72, 0x61, 0x63, 0x69, 0x6e, 0x67]);

/** What the first bytes of a file say it is. */
export function sniffInput(head: Uint8Array): 'profile' | 'trace.dat' | undefined {
  if (head.length >= TRACE_DAT_MAGIC.length && TRACE_DAT_MAGIC.equals(head.subarray(0, TRACE_DAT_MAGIC.length))) {
    return 'trace.dat';
  }
  for (const b of head) {
    if (b === 0x7b) return 'profile'; // '{' after optional white space
    if (b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09) return undefined;
  }
  return undefined;
}

/**
 * A profile file's contents, or undefined when `path` is a trace (a trace.dat file or a CTF directory, which the
 * caller analyzes by streaming it). Only the first bytes are read to tell them apart; a profile is read up to
 * `MAX_PROFILE_BYTES` (a device or a pipe included): no input is ever read whole before it is known.
 */
function readProfileFile(path: string): Profile | undefined {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch (e) {
    throw new SetupError(`cannot open ${path}: ${systemErrorText(e)}`);
  }
  if (st.isDirectory()) return undefined;
  const fd = openSync(path, 'r');
  let text: string;
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(total === 0 ? 64 : 1 << 20);
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n <= 0) break;
      if (total === 0) {
        const kind = sniffInput(chunk.subarray(0, n));
        if (kind === 'trace.dat') return undefined;
        if (kind === undefined) {
          throw new SetupError(
            `${path} is neither a latency-tracker profile (JSON), a trace.dat file nor an LTTng CTF trace directory`,
          );
        }
      }
      total += n;
      if (total > MAX_PROFILE_BYTES) {
        throw new SetupError(`${path} is not a latency-tracker profile: over ${MAX_PROFILE_BYTES >> 20} MiB of JSON`);
      }
      chunks.push(chunk.subarray(0, n));
    }
    if (total === 0) throw new SetupError(`${path} is empty: neither a profile nor a trace`);
    text = Buffer.concat(chunks, total).toString('utf8');
  } finally {
    closeSync(fd);
  }
  try {
    return profileFromJSON(text);
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
  // Both inputs are told apart first (a few bytes each): a bad second input is refused before the first is analyzed.
  const profileA = readProfileFile(baseline);
  const profileB = readProfileFile(current);
  const a = profileA ?? (await analyzeTrace(baseline, raw.groupBy));
  const b = profileB ?? (await analyzeTrace(current, raw.groupBy));
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
