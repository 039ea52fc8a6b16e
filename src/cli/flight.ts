/**
 * `--flight-recorder DIR` for `live` and `serve` (issue 16): option parsing and validation, and the recorder built
 * over the live source (its ring fed by the source's page observer, its metadata read from the instance).
 */
import { mkdirSync } from 'node:fs';
import type { Command } from 'commander';
import type { Paths } from '../paths.ts';
import { FlightRecorder, type FlightSettings } from '../sinks/flight/recorder.ts';
import { SetupError } from '../sources/errors.ts';
import { encodeMeta } from '../sources/tracedat/writer.ts';
import { liveCmdlines, liveCpuStats, liveMetadata, livePageLayout } from '../sources/tracefs/metadata.ts';
import type { LiveSource, PageObserver } from '../sources/tracefs/source.ts';
import { parseDuration } from './duration.ts';
import { UsageError } from './options.ts';
import { parseSize } from './store-options.ts';

export interface RawFlightOptions {
  flightRecorder?: string;
  flightBefore?: string;
  flightAfter?: string;
  flightMemory?: string;
  flightMaxAge?: string;
  flightRate?: string;
  flightDirMax?: string;
  flightCompress?: string;
}

export const FLIGHT_DEFAULTS = {
  before: '2s',
  after: '500ms',
  memory: '256MiB',
  maxAge: '60s',
  rate: '1/10s',
  dirMax: '1GiB',
} as const;

/** Registers the `--flight-*` options on a command. */
export function flightOptions(c: Command): Command {
  const d = FLIGHT_DEFAULTS;
  return c
    .option('--flight-recorder <DIR>', 'keep the raw trace in memory; write a trace.dat around each outlier into DIR')
    .option('--flight-before <DURATION>', `flight recorder: trace kept before an outlier's start (default ${d.before})`)
    .option('--flight-after <DURATION>', `flight recorder: trace kept after an outlier's end (default ${d.after})`)
    .option('--flight-memory <SIZE>', `flight recorder: memory for the raw trace (default ${d.memory})`)
    .option('--flight-max-age <DURATION>', `flight recorder: forget trace older than this (default ${d.maxAge})`)
    .option('--flight-rate <N/DURATION>', `flight recorder: at most N files per DURATION (default ${d.rate})`)
    .option('--flight-dir-max <SIZE>', `flight recorder: DIR size cap, oldest files removed (default ${d.dirMax})`)
    .option('--flight-compress <none|zlib>', 'flight recorder: none = trace.dat v6 (default), zlib = v7 zlib');
}

function duration(flag: string, text: string, maxNs: number): number {
  const d = parseDuration(text);
  if (typeof d === 'string') throw new UsageError(`--${flag}: ${d}`);
  if (d > maxNs) throw new UsageError(`--${flag}: '${text}' is more than ${maxNs / 1e9}s`);
  return d;
}

function size(flag: string, text: string, min: number): number {
  const b = parseSize(text);
  if (typeof b === 'string') throw new UsageError(`--${flag}: ${b}`);
  if (b < min) throw new UsageError(`--${flag}: '${text}' is below ${min / 1048576} MiB`);
  return b;
}

/** Validated settings, or undefined without `--flight-recorder` (then no other `--flight-*` option may be given). */
export function parseFlightOptions(raw: RawFlightOptions): FlightSettings | undefined {
  const d = FLIGHT_DEFAULTS;
  if (raw.flightRecorder === undefined) {
    const stray = Object.entries(raw).find(([k, v]) => k.startsWith('flight') && v !== undefined);
    if (stray !== undefined) {
      const flag = stray[0].replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
      throw new UsageError(`--${flag} needs --flight-recorder DIR`);
    }
    return undefined;
  }
  if (raw.flightRecorder.trim() === '') throw new UsageError('--flight-recorder: give a directory');
  const beforeNs = duration('flight-before', raw.flightBefore ?? d.before, 60e9);
  const afterNs = duration('flight-after', raw.flightAfter ?? d.after, 60e9);
  const maxAgeNs = duration('flight-max-age', raw.flightMaxAge ?? d.maxAge, 3600e9);
  if (maxAgeNs < beforeNs + afterNs) {
    throw new UsageError('--flight-max-age must be at least --flight-before plus --flight-after');
  }
  const rateText = raw.flightRate ?? d.rate;
  const m = /^\s*(\d{1,4})\s*\/\s*(\S+)\s*$/.exec(rateText);
  if (m === null) throw new UsageError(`--flight-rate: '${rateText}' is not N/DURATION (e.g. 1/10s)`);
  const files = Number(m[1]);
  const perNs = duration('flight-rate', m[2], 24 * 3600e9);
  if (files < 1 || perNs < 1e6) throw new UsageError(`--flight-rate: '${rateText}' needs N >= 1 per at least 1ms`);
  const compress = raw.flightCompress ?? 'none';
  if (compress !== 'none' && compress !== 'zlib') {
    throw new UsageError(`--flight-compress: '${compress}' is not none or zlib`);
  }
  return {
    dir: raw.flightRecorder,
    beforeNs,
    afterNs,
    memoryBytes: size('flight-memory', raw.flightMemory ?? d.memory, 4 * 1048576),
    maxAgeNs,
    rate: { files, perNs },
    dirMaxBytes: size('flight-dir-max', raw.flightDirMax ?? d.dirMax, 1048576),
    version: compress === 'zlib' ? 7 : 6,
    compression: compress,
  };
}

/** Creates DIR (or fails with one sentence). Call before tracing starts. */
export function prepareFlightDir(s: FlightSettings): void {
  try {
    mkdirSync(s.dir, { recursive: true, mode: 0o750 });
  } catch (e) {
    throw new SetupError(`--flight-recorder: cannot create ${s.dir} (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
}

/** A page observer whose target is set once the recorder exists (the source must be opened first). */
export class ForwardingObserver implements PageObserver {
  target: PageObserver | undefined;
  page(cpu: number, bytes: Uint8Array, offset: number, length: number): void {
    this.target?.page(cpu, bytes, offset, length);
  }
  cycle(upTo: bigint, final: boolean): void {
    this.target?.cycle?.(upTo, final);
  }
}

/** The recorder over an opened live source. */
export function openFlightRecorder(s: FlightSettings, source: LiveSource, paths: Paths, tool: string): FlightRecorder {
  const m = liveMetadata(source, paths);
  return new FlightRecorder(s, {
    layout: livePageLayout(source),
    cpus: source.cpus,
    clock: source.clock,
    traceClock: m.traceClock,
    uname: m.uname,
    tool,
    meta: encodeMeta(m.meta),
    cmdlines: () => liveCmdlines(paths),
    cpuStats: () => liveCpuStats(source.instance),
  });
}

/** One line about what the recorder did (end of a run). */
export function flightSummary(f: FlightRecorder): string {
  const s = f.stats;
  const r = f.ring.stats;
  let text = `latency-tracker: flight recorder: ${s.written} files written to ${f.settings.dir}`;
  text += ` (${s.dirFiles} there now, ${(s.dirBytes / 1048576).toFixed(1)} MiB)`;
  text += `, ${s.shared} outliers shared a file, ${s.skipped} got none (rate limit)`;
  if (s.removed > 0) text += `, ${s.removed} old files removed (--flight-dir-max)`;
  if (s.truncated > 0) text += `, ${s.truncated} windows reached past the memory`;
  if (r.dropped > 0) text += `, ${r.dropped} pages not kept (memory pinned by writes)`;
  if (s.failed > 0) text += `, ${s.failed} failed (${f.lastError})`;
  return `${text}\n`;
}
