/**
 * The store options of `live` (and later `serve`): `--store`, retention, flush and profile intervals, and the
 * ClickHouse fleet sink. Every bad value is a `UsageError` (one line, exit code 2).
 */
import { durationText } from '../sinks/durations.ts';
import { isIdentifier } from '../sinks/store/chsql.ts';
import { DEFAULT_STORE_PATH, type StoreOptions } from '../sinks/store/store.ts';
import { parseDuration } from './duration.ts';
import { UsageError } from './options.ts';

export interface RawStoreOptions {
  store?: string;
  retentionDays?: string;
  retentionSize?: string;
  flushInterval?: string;
  profileInterval?: string;
  clickhouse?: string;
  clickhouseUser?: string;
  clickhousePassword?: string;
  clickhouseDatabase?: string;
}

export interface StoreRunOptions {
  store: StoreOptions;
  /** Profile snapshot interval, ms. */
  profileIntervalMs: number;
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

/** `500M`, `2G`, `1.5GiB`, `0` (no limit) → bytes; an error string for anything else. */
export function parseSize(text: string): number | string {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const mult = m === null ? undefined : SIZE_UNITS[m[2].toLowerCase()];
  if (m === null || mult === undefined) return `'${text}' is not a size (use e.g. 500M, 2G; 0 = no limit)`;
  return Math.round(Number(m[1]) * mult);
}

/** Validates the store options; undefined when neither `--store` nor `--clickhouse` was given. */
export function parseStoreOptions(
  raw: RawStoreOptions,
  env: NodeJS.ProcessEnv = process.env,
): StoreRunOptions | undefined {
  const wanted = raw.store !== undefined || raw.clickhouse !== undefined;
  if (!wanted) {
    const stray = (
      [
        ['retention-days', raw.retentionDays],
        ['retention-size', raw.retentionSize],
        ['flush-interval', raw.flushInterval],
        ['profile-interval', raw.profileInterval],
        ['clickhouse-user', raw.clickhouseUser],
        ['clickhouse-password', raw.clickhousePassword],
        ['clickhouse-database', raw.clickhouseDatabase],
      ] as const
    ).find(([, v]) => v !== undefined);
    if (stray !== undefined) throw new UsageError(`--${stray[0]} needs --store PATH or --clickhouse URL`);
    return undefined;
  }
  if (raw.store !== undefined && raw.store.trim() === '') throw new UsageError('--store: empty path');
  let retentionDays = 30;
  if (raw.retentionDays !== undefined) {
    if (!/^\d+(\.\d+)?$/.test(raw.retentionDays.trim())) {
      throw new UsageError(`--retention-days: '${raw.retentionDays}' is not a number of days (0 = keep forever)`);
    }
    retentionDays = Number(raw.retentionDays);
  }
  let retentionBytes = 1024 ** 3;
  if (raw.retentionSize !== undefined) {
    const b = parseSize(raw.retentionSize);
    if (typeof b === 'string') throw new UsageError(`--retention-size: ${b}`);
    if (b > 0 && b < 1024 ** 2) throw new UsageError(`--retention-size: '${raw.retentionSize}' is below 1M`);
    retentionBytes = b;
  }
  const ms = (name: string, text: string | undefined, dflt: number, min: number, max: number): number => {
    if (text === undefined) return dflt;
    const ns = parseDuration(text);
    if (typeof ns === 'string') throw new UsageError(`--${name}: ${ns}`);
    const v = ns / 1e6;
    if (v < min || v > max)
      throw new UsageError(
        `--${name}: '${text}' is out of range (${durationText(min * 1e6)} .. ${durationText(max * 1e6)})`,
      );
    return v;
  };
  const flushIntervalMs = ms('flush-interval', raw.flushInterval, 1000, 10, 60_000);
  const profileIntervalMs = ms('profile-interval', raw.profileInterval, 60_000, 1000, 3_600_000);
  const store: StoreOptions = {
    path: raw.store ?? DEFAULT_STORE_PATH,
    retentionDays,
    retentionBytes,
    flushIntervalMs,
  };
  if (raw.clickhouse !== undefined) {
    let u: URL;
    try {
      u = new URL(raw.clickhouse);
    } catch {
      throw new UsageError(`--clickhouse: '${raw.clickhouse}' is not a URL (e.g. http://clickhouse:8123)`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new UsageError(`--clickhouse: '${raw.clickhouse}' is not an http:// or https:// URL`);
    }
    if (u.username !== '' || u.password !== '') {
      throw new UsageError(
        '--clickhouse: give credentials with --clickhouse-user / --clickhouse-password, not in the URL',
      );
    }
    const database = raw.clickhouseDatabase ?? 'latency_tracker';
    if (!isIdentifier(database)) {
      throw new UsageError(`--clickhouse-database: '${database}' is not a plain name (letters, digits, _)`);
    }
    store.clickhouse = {
      url: raw.clickhouse,
      user: raw.clickhouseUser ?? 'default',
      password: raw.clickhousePassword ?? env.LATENCY_TRACKER_CLICKHOUSE_PASSWORD ?? '',
      database,
    };
  }
  return { store, profileIntervalMs };
}
