import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDuration } from './duration.ts';

test('durations with units, bare numbers are microseconds', () => {
  assert.equal(parseDuration('250us'), 250_000);
  assert.equal(parseDuration('250µs'), 250_000);
  assert.equal(parseDuration('5ms'), 5_000_000);
  assert.equal(parseDuration('2s'), 2_000_000_000);
  assert.equal(parseDuration('1.5ms'), 1_500_000);
  assert.equal(parseDuration('100ns'), 100);
  assert.equal(parseDuration('1m'), 60_000_000_000);
  assert.equal(parseDuration('1h'), 3_600_000_000_000);
  assert.equal(parseDuration('1000'), 1_000_000);
  assert.equal(parseDuration('0'), 0);
  assert.equal(parseDuration(' 7MS '), 7_000_000);
});

test('bad durations are explained', () => {
  for (const bad of ['', 'abc', '-5ms', '5 fortnights', '1e3', 'ms', '5ms5', '31d', '1000h']) {
    const r = parseDuration(bad);
    assert.equal(typeof r, 'string', bad);
  }
  assert.match(parseDuration('5xs') as string, /unknown unit 'xs'/);
  assert.match(parseDuration('1000h') as string, /too long/);
});
