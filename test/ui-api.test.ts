/** The dashboard's pure helpers (ui/src/api.ts), under Node: the histogram's steps on a log axis, durations. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { durationText, histogramSteps, parseDuration } from '../ui/src/api.ts';

test('histogram steps: every bin at its place on the log axis, zero where no pair fell', () => {
  const b = (k: number, c: number): [number, number, number] => [2 ** (k / 4), 2 ** ((k + 1) / 4), c];
  // Two clusters, around 861 ns and 2.05 us, with nothing between: the empty range stays as zero-height steps.
  const [xs, ys] = histogramSteps([b(39, 5), b(40, 7), b(44, 3)]);
  assert.deepEqual(
    xs.map((x) => Math.round(Math.log2(x) * 4)),
    [39, 40, 41, 42, 43, 44, 45],
  );
  assert.deepEqual(ys, [5, 7, 0, 0, 0, 3, 0]);
  assert.deepEqual(histogramSteps([]), [[], []]);
});

test('the threshold field reads and shows settings as the command line does', () => {
  assert.equal(parseDuration('1h'), 3_600_000_000_000);
  assert.equal(parseDuration('250'), 250_000);
  assert.equal(durationText(3_600_000_000_000), '1h');
  assert.equal(durationText(1_500_000), '1.5ms');
});
