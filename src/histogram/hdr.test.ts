import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as hdr from 'hdr-histogram-js';
import { exactPercentile, logNormal, mixture, pareto, sample } from '../../test/synthetic.ts';
import { fromHdrBase64, fromHdrBytes, toHdrBase64, toHdrBytes } from './hdr.ts';
import { Histogram, HistogramFormatError } from './histogram.ts';
import { BUCKETS, bucketIndex, HIGHEST_NS, RELATIVE_ERROR } from './layout.ts';

const QS = [1, 10, 50, 90, 99, 99.9, 99.99];

function values(): Float64Array {
  const a = sample(mixture(0.8, logNormal(4_000, 0.8), pareto(200_000, 1.3)), 100_000, 21);
  const b = new Float64Array([0, 1, 255, 256, 2 ** 32, HIGHEST_NS - 1]);
  const out = new Float64Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function countAt(h: hdr.Histogram, i: number): number {
  return (h as unknown as { getCountAtIndex(i: number): number }).getCountAtIndex(i);
}

describe('HdrHistogram V2 compressed base64', () => {
  test('hdr-histogram-js decodes our export: same buckets, same count, percentiles within 1 %', () => {
    const v = values();
    const h = new Histogram();
    for (const x of v) h.record(x);
    const decoded = hdr.decodeFromCompressedBase64(toHdrBase64(h), 64);
    assert.equal(decoded.totalCount, h.count);
    assert.equal(decoded.numberOfSignificantValueDigits, 2);
    for (let i = 0; i < BUCKETS; i++) assert.equal(countAt(decoded, i), h.counts[i], `bucket ${i}`);
    const sorted = Float64Array.from(v).sort();
    for (const q of QS) {
      const exact = exactPercentile(sorted, q);
      const theirs = decoded.getValueAtPercentile(q);
      const ours = h.percentile(q);
      assert.ok(Math.abs(theirs - exact) <= 0.01 * exact, `p${q}: hdr ${theirs} vs exact ${exact}`);
      assert.ok(Math.abs(theirs - ours) <= 0.01 * ours, `p${q}: hdr ${theirs} vs ours ${ours}`);
    }
    assert.ok(Math.abs(decoded.maxValue - h.max) <= 0.01 * h.max);
  });

  test('we decode hdr-histogram-js output: bucket-for-bucket equal to recording the same values', () => {
    const v = values();
    const theirs = hdr.build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: HIGHEST_NS,
      numberOfSignificantValueDigits: 2,
      bitBucketSize: 64,
      autoResize: false,
    });
    const ours = new Histogram();
    for (const x of v) {
      theirs.recordValue(x);
      ours.record(x);
    }
    const back = fromHdrBase64(hdr.encodeIntoCompressedBase64(theirs));
    for (let i = 0; i < BUCKETS; i++) assert.equal(back.counts[i], ours.counts[i], `bucket ${i}`);
    assert.equal(back.count, ours.count);
    // min/max/sum are not in the encoding: rebuilt from bucket values, so within the resolution.
    assert.ok(Math.abs(back.max - ours.max) <= RELATIVE_ERROR * ours.max);
    assert.equal(bucketIndex(back.min), bucketIndex(ours.min));
  });

  test('our own round trip keeps every bucket; a foreign 3-digit layout is re-bucketed within 1 %', () => {
    const v = values();
    const h = new Histogram();
    for (const x of v) h.record(x);
    const back = fromHdrBase64(toHdrBase64(h));
    for (let i = 0; i < BUCKETS; i++) assert.equal(back.counts[i], h.counts[i]);

    const fine = hdr.build({ numberOfSignificantValueDigits: 3, highestTrackableValue: HIGHEST_NS, bitBucketSize: 64 });
    for (const x of v) fine.recordValue(x);
    const re = fromHdrBase64(hdr.encodeIntoCompressedBase64(fine));
    assert.equal(re.count, v.length);
    const sorted = Float64Array.from(v).sort();
    for (const q of QS) {
      const exact = exactPercentile(sorted, q);
      assert.ok(Math.abs(re.percentile(q) - exact) <= 0.01 * exact, `p${q}: ${re.percentile(q)} vs ${exact}`);
    }
  });

  test('an empty histogram exports and decodes', () => {
    const s = toHdrBase64(new Histogram());
    assert.equal(hdr.decodeFromCompressedBase64(s).totalCount, 0);
    assert.equal(fromHdrBase64(s).count, 0);
  });

  test('bad input throws HistogramFormatError', () => {
    const h = new Histogram();
    h.record(5);
    const good = Buffer.from(toHdrBase64(h), 'base64');
    const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
    assert.throws(() => fromHdrBase64('not base64!'), HistogramFormatError);
    assert.throws(() => fromHdrBase64(''), /not base64/);
    const wrongCookie = Buffer.from(good);
    wrongCookie.writeInt32BE(0x12345678, 0);
    assert.throws(() => fromHdrBase64(b64(wrongCookie)), /not a V2 compressed histogram/);
    assert.throws(() => fromHdrBase64(b64(good.subarray(0, good.length - 4))), /truncated/);
    const garbage = Buffer.from(good);
    garbage.fill(0x55, 8);
    assert.throws(() => fromHdrBase64(b64(garbage)), /bad zlib data/);
    // A bucket beyond the declared range (counts array of 4608 for 1 ns..1 h, 2 digits): refused, not mis-read.
    const raw = Buffer.from(toHdrBytes(new Histogram()));
    const payload = Buffer.from([0x8f, 0x4e, 0x02]); // ZigZag LEB128: -5000 (5000 empty buckets), then 1
    const beyond = Buffer.concat([raw, payload]);
    beyond.writeInt32BE(payload.length, 4);
    assert.throws(() => fromHdrBytes(beyond), /beyond its range/);
    assert.equal(fromHdrBytes(raw).count, 0);
  });
});
