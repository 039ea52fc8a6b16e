import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_STORE_PATH } from '../sinks/store/store.ts';
import { UsageError } from './options.ts';
import { parseSize, parseStoreOptions } from './store-options.ts';

test('sizes', () => {
  assert.equal(parseSize('0'), 0);
  assert.equal(parseSize('500M'), 500 * 1024 ** 2);
  assert.equal(parseSize('1.5GiB'), 1.5 * 1024 ** 3);
  assert.equal(parseSize('2g'), 2 * 1024 ** 3);
  assert.equal(typeof parseSize('12Q'), 'string');
  assert.equal(typeof parseSize('-1G'), 'string');
});

test('store options: defaults, ClickHouse, the password from the environment', () => {
  assert.equal(parseStoreOptions({}), undefined);
  const d = parseStoreOptions({ store: '/x.duckdb' });
  assert.deepEqual(d, {
    store: { path: '/x.duckdb', retentionDays: 30, retentionBytes: 1024 ** 3, flushIntervalMs: 1000 },
    profileIntervalMs: 60_000,
  });
  const c = parseStoreOptions(
    { clickhouse: 'http://ch:8123', clickhouseUser: 'tracker', flushInterval: '250ms', retentionSize: '0' },
    { LATENCY_TRACKER_CLICKHOUSE_PASSWORD: 'pw' },
  );
  assert.equal(c?.store.path, DEFAULT_STORE_PATH, '--clickhouse alone spools to the default store');
  assert.equal(c?.store.flushIntervalMs, 250);
  assert.equal(c?.store.retentionBytes, 0);
  assert.deepEqual(c?.store.clickhouse, {
    url: 'http://ch:8123',
    user: 'tracker',
    password: 'pw',
    database: 'latency_tracker',
  });
});

test('store options: every bad value is a one-line usage error', () => {
  for (const [raw, msg] of [
    [{ retentionDays: '3' }, '--retention-days needs --store PATH or --clickhouse URL'],
    [{ store: '' }, '--store: empty path'],
    [{ store: 's', retentionDays: '-1' }, "--retention-days: '-1' is not a number of days (0 = keep forever)"],
    [{ store: 's', retentionSize: '10k' }, "--retention-size: '10k' is below 1M"],
    [{ store: 's', profileInterval: '10ms' }, "--profile-interval: '10ms' is out of range (1s .. 1h)"],
    [{ clickhouse: 'ch:8123' }, "--clickhouse: 'ch:8123' is not an http:// or https:// URL"],
    [{ clickhouse: 'not a url' }, "--clickhouse: 'not a url' is not a URL (e.g. http://clickhouse:8123)"],
    [
      { clickhouse: 'http://u:p@ch' },
      '--clickhouse: give credentials with --clickhouse-user / --clickhouse-password, not in the URL',
    ],
    [
      { clickhouse: 'http://ch', clickhouseDatabase: 'db.x' },
      "--clickhouse-database: 'db.x' is not a plain name (letters, digits, _)",
    ],
  ] as [Record<string, string>, string][]) {
    assert.throws(
      () => parseStoreOptions(raw, {}),
      (e: Error) => e instanceof UsageError && e.message === msg,
      JSON.stringify(raw),
    );
  }
});
