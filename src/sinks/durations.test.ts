import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDuration } from '../cli/duration.ts';
import { durationText, formatDuration } from './durations.ts';

test('formatDuration: three decimals, no space (one key=value token)', () => {
  assert.equal(formatDuration(999), '999ns');
  assert.equal(formatDuration(30_000_000), '30.000ms');
  assert.equal(formatDuration(2_500_000_000), '2.500s');
  assert.equal(formatDuration(1500), '1.500us');
  assert.equal(formatDuration(200_096_000), '200.096ms');
});

test('durationText: the form --threshold takes, exact, and it parses back', () => {
  const cases: [number, string][] = [
    [0, '0'],
    [1, '1ns'],
    [250_000, '250us'],
    [1_500_000, '1.5ms'],
    [10_000_000, '10ms'],
    [1e9, '1s'],
    [90e9, '90s'],
    [60e9, '1m'],
    [3600e9, '1h'],
    [1_234_567, '1234.567us'],
    [1_234_567_891, '1234567.891us'],
  ];
  for (const [ns, text] of cases) {
    assert.equal(durationText(ns), text, String(ns));
    assert.equal(parseDuration(text), ns, text);
  }
});
