import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createTracker, type LatencyEvent, TrackerConfigError } from '../index.ts';
import { joinKey, splitKey } from './key.ts';

function collect<D = unknown>() {
  const got: LatencyEvent<D>[] = [];
  return { got, onLatency: (e: LatencyEvent<D>) => got.push(e) };
}

describe('construction', () => {
  test('bad configuration throws a typed error', () => {
    assert.throws(() => createTracker({ capacity: 0 }), TrackerConfigError);
    assert.throws(() => createTracker({ capacity: -5 }), TrackerConfigError);
    assert.throws(() => createTracker({ capacity: 1.5 }), TrackerConfigError);
    assert.throws(() => createTracker({ capacity: 10, threshold: -1 }), TrackerConfigError);
    assert.throws(() => createTracker({ capacity: 10, timeout: Number.NaN }), TrackerConfigError);
    assert.throws(() => createTracker({ capacity: 10, threshold: Number.POSITIVE_INFINITY }), /threshold/);
    assert.throws(() => createTracker({ capacity: 10, onLatency: 5 as never }), TrackerConfigError);
    const t = createTracker({ capacity: 10 });
    assert.throws(() => t.setThreshold(-3), TrackerConfigError);
    assert.throws(() => t.setTimeout(Number.NaN), TrackerConfigError);
  });
});

describe('pairs', () => {
  test('eventOut returns the latency and reports over threshold only', () => {
    const c = collect<string>();
    const t = createTracker<string>({ name: 'x', capacity: 16, threshold: 100, ...c });
    assert.equal(t.eventIn(1, 1000, { data: 'a' }), 'ok');
    assert.equal(t.eventIn(2, 1000, { data: 'b' }), 'ok');
    assert.equal(t.eventOut(1, 1100), 100); // equal to threshold: not reported
    assert.equal(t.eventOut(2, 1101), 101);
    assert.equal(c.got.length, 1);
    assert.deepEqual(c.got[0], {
      tracker: 'x',
      key: 2,
      start: 1000,
      end: 1101,
      latency: 101,
      reason: 'threshold',
      data: 'b',
    });
    const s = t.stats;
    assert.equal(s.tracked, 2);
    assert.equal(s.completed, 2);
    assert.equal(s.overThreshold, 1);
    assert.equal(s.inFlight, 0);
  });

  test('out without in returns -1 and is counted', () => {
    const t = createTracker({ capacity: 4 });
    assert.equal(t.eventOut(42, 10), -1);
    t.eventIn(1, 5);
    assert.equal(t.eventOut(1, 6), 1);
    assert.equal(t.eventOut(1, 7), -1); // already ended
    assert.equal(t.stats.unmatchedOut, 2);
  });

  test('negative delta is dropped, counted, and the event removed', () => {
    const c = collect();
    const t = createTracker({ capacity: 4, threshold: 0, ...c });
    t.eventIn(9, 500);
    assert.equal(t.eventOut(9, 400), -1);
    assert.equal(t.stats.negative, 1);
    assert.equal(t.stats.inFlight, 0);
    assert.equal(c.got.length, 0);
    assert.equal(t.eventOut(9, 600), -1); // gone
  });

  test('duplicate keys: first kept without unique, replaced with unique', () => {
    const c = collect<number>();
    const t = createTracker<number>({ capacity: 4, threshold: 0, ...c });
    assert.equal(t.eventIn(7, 100, { data: 1 }), 'ok');
    assert.equal(t.eventIn(7, 200, { data: 2 }), 'exists');
    assert.equal(t.eventOut(7, 300), 200);
    assert.equal(c.got[0].data, 1);
    assert.equal(t.eventIn(8, 100, { data: 1 }), 'ok');
    assert.equal(t.eventIn(8, 250, { data: 2, unique: true }), 'replaced');
    assert.equal(t.eventOut(8, 300), 50);
    assert.equal(c.got[1].data, 2);
    const s = t.stats;
    assert.equal(s.exists, 1);
    assert.equal(s.replaced, 1);
    assert.equal(s.inFlight, 0);
  });

  test('per-event threshold overrides the default', () => {
    const c = collect();
    const t = createTracker({ capacity: 4, threshold: 1000, ...c });
    t.eventIn(1, 0, { threshold: 10 });
    t.eventIn(2, 0);
    t.eventOut(1, 50);
    t.eventOut(2, 50);
    assert.deepEqual(
      c.got.map((e) => e.key),
      [1],
    );
  });

  test('threshold changed at run time applies to events already in flight', () => {
    const c = collect();
    const t = createTracker({ capacity: 8, threshold: 1_000_000, ...c });
    t.eventIn(1, 0);
    t.eventIn(2, 0);
    t.eventOut(1, 500);
    assert.equal(c.got.length, 0);
    t.setThreshold(100);
    assert.equal(t.threshold, 100);
    t.eventOut(2, 500);
    assert.equal(c.got.length, 1);
    assert.equal(c.got[0].key, 2);
  });
});

describe('capacity', () => {
  test('a full table refuses eventIn, counts it, and never grows', () => {
    const t = createTracker({ capacity: 3 });
    assert.equal(t.eventIn(1, 0), 'ok');
    assert.equal(t.eventIn(2, 0), 'ok');
    assert.equal(t.eventIn(3, 0), 'ok');
    assert.equal(t.eventIn(4, 0), 'full');
    assert.equal(t.eventIn(5, 0), 'full');
    assert.equal(t.stats.full, 2);
    assert.equal(t.eventOut(4, 1), -1);
    assert.equal(t.eventOut(2, 1), 1);
    assert.equal(t.eventIn(4, 1), 'ok'); // the freed slot is reused
    assert.equal(t.stats.inFlight, 3);
  });

  test('many keys through a small table: index stays consistent (backward-shift deletion)', () => {
    const t = createTracker({ capacity: 64 });
    // pseudo-random interleaving, checked against a Map model
    const model = new Map<number, number>();
    let x = 12345;
    for (let i = 0; i < 200_000; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const key = x % 97;
      if (x & 0x10000) {
        const r = t.eventIn(key, i);
        if (model.has(key)) assert.equal(r, 'exists');
        else if (model.size >= 64) assert.equal(r, 'full');
        else {
          assert.equal(r, 'ok');
          model.set(key, i);
        }
      } else {
        const r = t.eventOut(key, i);
        if (model.has(key)) {
          assert.equal(r, i - (model.get(key) as number));
          model.delete(key);
        } else assert.equal(r, -1);
      }
    }
    assert.equal(t.stats.inFlight, model.size);
  });
});

describe('keys', () => {
  test('64-bit keys differing only in low bits are distinct and exact', () => {
    const c = collect();
    const t = createTracker({ capacity: 8, threshold: 0, ...c });
    const a = 0xffff88814dc332e0n;
    const b = 0xffff88814dc332e1n;
    t.eventIn(a, 10);
    t.eventIn(b, 20);
    assert.equal(t.stats.inFlight, 2);
    assert.equal(t.eventOut(b, 100), 80);
    assert.equal(t.eventOut(a, 100), 90);
    assert.equal(c.got[0].key, b);
    assert.equal(c.got[1].key, a);
    // Numbers that float rounding would merge are kept apart too.
    assert.equal(Number(a), Number(b));
  });

  test('keys above 2^53 as parts, allocation-free path', () => {
    const t = createTracker({ capacity: 8 });
    t.eventInParts(0, 0xffff8881, 0x4dc332e0, 1);
    t.eventInParts(0, 0xffff8881, 0x4dc332e8, 2);
    assert.equal(t.eventOutParts(0, 0xffff8881, 0x4dc332e8, 10), 8);
    assert.equal(t.eventOut(0xffff88814dc332e0n, 10), 9);
  });

  test('composite keys (device, sector) are exact, including 64-bit sectors', () => {
    const c = collect();
    const t = createTracker({ capacity: 8, threshold: 0, ...c });
    const dev = (254 << 20) | 0;
    t.eventIn([dev, 2048], 1);
    t.eventIn([dev, 2049], 2);
    t.eventIn([dev + 1, 2048], 3);
    t.eventIn([dev, 0xffffffffffffffffn], 4); // flush requests carry sector = ~0
    assert.equal(t.stats.inFlight, 4);
    assert.equal(t.eventOut([dev + 1, 2048], 10), 7);
    assert.equal(t.eventOut([dev, 0xffffffffffffffffn], 10), 6);
    assert.equal(t.eventOut([dev, 2049], 10), 8);
    assert.equal(t.eventOut([dev, 2048], 10), 9);
    assert.deepEqual(c.got[0].key, [dev + 1, 2048]);
    assert.deepEqual(c.got[1].key, [dev, 0xffffffffffffffffn]);
  });

  test('equivalent spellings are one key: 5, 5n, [0, 5]', () => {
    const t = createTracker({ capacity: 8 });
    t.eventIn(5, 0);
    assert.equal(t.eventIn(5n, 1), 'exists');
    assert.equal(t.eventIn([0, 5], 1), 'exists');
    assert.equal(t.eventOut([0, 5n], 3), 3);
  });

  test('negative numbers are two-complement 64-bit keys', () => {
    const t = createTracker({ capacity: 8 });
    t.eventIn(-1, 0);
    assert.equal(t.eventIn(0xffffffffffffffffn, 1), 'exists');
    assert.equal(t.eventOut(-1, 2), 2);
  });

  test('invalid keys and times are counted, never thrown', () => {
    const t = createTracker({ capacity: 8 });
    assert.equal(t.eventIn(1.5, 0), 'invalid');
    assert.equal(t.eventIn(2 ** 60, 0), 'invalid');
    assert.equal(t.eventIn(1n << 64n, 0), 'invalid');
    assert.equal(t.eventIn([1, 2, 3] as never, 0), 'invalid');
    assert.equal(t.eventIn('x' as never, 0), 'invalid');
    assert.equal(t.eventIn(1, Number.NaN), 'invalid');
    assert.equal(t.eventOut(Number.NaN, 0), -1);
    assert.equal(t.getEvent(0.5), undefined);
    assert.equal(t.stats.invalid, 8);
    assert.equal(t.stats.inFlight, 0);
  });

  test('splitKey/joinKey round trip', () => {
    const p = { k0: 0, hi: 0, lo: 0 };
    for (const k of [0, 1, 2 ** 32, 2 ** 53 - 1, 0xffff88814dc332e0n, 123n]) {
      assert.ok(splitKey(k, p));
      const back = joinKey(p.k0, p.hi, p.lo);
      assert.equal(BigInt(back as number | bigint), BigInt(k));
    }
  });
});

describe('timeouts', () => {
  test('timeout fires once, event stays in flight, later out reports normally', () => {
    const c = collect<string>();
    const t = createTracker<string>({ capacity: 8, threshold: 50, timeout: 1000, ...c });
    t.eventIn(1, 0, { data: 'blocked' });
    t.eventIn(2, 500);
    assert.equal(t.advance(999), 0);
    assert.equal(t.advance(1000), 1);
    assert.equal(c.got.length, 1);
    assert.equal(c.got[0].reason, 'timeout');
    assert.equal(c.got[0].key, 1);
    assert.equal(c.got[0].latency, 1000);
    assert.equal(c.got[0].data, 'blocked');
    assert.equal(t.advance(1400), 0); // fires once
    assert.equal(t.stats.inFlight, 2);
    assert.equal(t.eventOut(1, 3000), 3000);
    assert.equal(c.got[1].reason, 'threshold');
    assert.equal(c.got[1].latency, 3000);
    assert.equal(t.advance(1500), 1); // key 2
    assert.equal(t.stats.timeouts, 2);
  });

  test('per-event timeout overrides; 0 disables for that event', () => {
    const c = collect();
    const t = createTracker({ capacity: 8, threshold: 1e12, timeout: 1000, ...c });
    t.eventIn(1, 0, { timeout: 100 });
    t.eventIn(2, 0, { timeout: 0 });
    t.eventIn(3, 0);
    t.eventIn(4, 0, { timeout: 5000 });
    t.advance(100);
    assert.deepEqual(
      c.got.map((e) => e.key),
      [1],
    );
    t.advance(10_000);
    assert.deepEqual(
      c.got.map((e) => e.key),
      [1, 3, 4],
    );
  });

  test('setTimeout applies to events already in flight; out before timeout cancels it', () => {
    const c = collect();
    const t = createTracker({ capacity: 8, threshold: 1e12, ...c });
    t.eventIn(1, 0);
    t.eventIn(2, 10);
    t.eventIn(3, 20);
    assert.equal(t.advance(1e9), 0); // no timeout configured
    t.setTimeout(100);
    t.eventOut(2, 50);
    assert.equal(t.advance(115), 1); // key 1 only (key 3 due at 120)
    assert.equal(t.advance(120), 1);
    assert.deepEqual(
      c.got.map((e) => e.key),
      [1, 3],
    );
  });

  test('out-of-order starts still time out in start order', () => {
    const c = collect();
    const t = createTracker({ capacity: 8, timeout: 100, threshold: 1e12, ...c });
    t.eventIn(1, 50);
    t.eventIn(2, 10);
    t.eventIn(3, 30);
    t.advance(135);
    assert.deepEqual(
      c.got.map((e) => e.key),
      [2, 3],
    );
  });

  test('advance() without a time uses the injected clock', () => {
    let now = 0;
    const c = collect();
    const t = createTracker({ capacity: 8, timeout: 10, now: () => now, ...c });
    t.eventIn(1, 0);
    now = 5;
    assert.equal(t.advance(), 0);
    now = 10;
    assert.equal(t.advance(), 1);
    const t2 = createTracker({ capacity: 8, timeout: 10 });
    t2.eventIn(1, 0);
    assert.equal(t2.advance(), 0); // no clock: nothing to do
  });
});

describe('getEvent/putEvent', () => {
  test('a handle keeps its slot alive across eventOut until putEvent', () => {
    const t = createTracker<{ stack?: string }>({ capacity: 1 });
    t.eventIn(10, 0, { data: {} });
    const h = t.getEvent(10);
    assert.ok(h);
    assert.equal(h.key, 10);
    assert.equal(h.start, 0);
    assert.equal(h.inFlight, true);
    h.data = { stack: 'do_select' };
    assert.equal(t.eventOut(10, 5), 5);
    // The slot is held: the only slot is not reused for another key.
    assert.equal(t.eventIn(11, 6), 'full');
    assert.equal(h.inFlight, false);
    assert.equal(h.key, 10);
    assert.deepEqual(h.data, { stack: 'do_select' });
    t.putEvent(h);
    assert.equal(t.eventIn(11, 7), 'ok');
  });

  test('getEvent of unknown key is undefined; double put is counted', () => {
    const t = createTracker({ capacity: 4 });
    assert.equal(t.getEvent(1), undefined);
    t.eventIn(1, 0);
    const h = t.getEvent(1);
    t.putEvent(h);
    t.putEvent(h);
    assert.equal(t.stats.badPut, 1);
    t.putEvent(undefined);
    assert.equal(t.eventOut(1, 3), 3);
  });

  test('two references: the slot is freed only after both puts', () => {
    const t = createTracker({ capacity: 1 });
    t.eventIn(1, 0);
    const a = t.getEvent(1);
    const b = t.getEvent(1);
    assert.equal(a, b);
    t.eventOut(1, 1);
    t.putEvent(a);
    assert.equal(t.eventIn(2, 2), 'full');
    t.putEvent(b);
    assert.equal(t.eventIn(2, 2), 'ok');
  });

  test('unique replacement while referenced detaches the old event', () => {
    const t = createTracker<string>({ capacity: 2 });
    t.eventIn(1, 0, { data: 'old' });
    const h = t.getEvent(1);
    assert.equal(t.eventIn(1, 5, { data: 'new', unique: true }), 'replaced');
    assert.equal(h?.data, 'old');
    assert.equal(h?.inFlight, false);
    const h2 = t.getEvent(1);
    assert.equal(h2?.data, 'new');
    assert.notEqual(h, h2);
    t.putEvent(h2);
    t.putEvent(h);
    assert.equal(t.eventOut(1, 8), 3);
  });

  test('unique replacement while referenced, with no free slot: full, counted once as full only', () => {
    const t = createTracker<string>({ capacity: 1 });
    t.eventIn(1, 0, { data: 'old' });
    const h = t.getEvent(1);
    const before = t.stats;
    assert.equal(t.eventIn(1, 5, { data: 'new', unique: true }), 'full');
    const after = t.stats;
    assert.equal(after.full, before.full + 1);
    assert.equal(after.replaced, before.replaced);
    assert.equal(after.tracked, before.tracked);
    assert.equal(after.inFlight, 0);
    assert.equal(h?.data, 'old');
    t.putEvent(h);
    assert.equal(t.eventIn(1, 6), 'ok');
  });

  test('data set through a handle reaches onLatency', () => {
    const c = collect<string[]>();
    const t = createTracker<string[]>({ capacity: 4, threshold: 0, ...c });
    t.eventIn(3, 0, { data: [] });
    const h = t.getEvent(3);
    h?.data?.push('schedule');
    t.putEvent(h);
    t.eventOut(3, 9);
    assert.deepEqual(c.got[0].data, ['schedule']);
  });
});

describe('discard and lastData', () => {
  test('discard drops one in-flight event without measuring it', () => {
    const c = collect();
    const t = createTracker({ capacity: 4, threshold: 0, timeout: 10, ...c });
    t.eventIn(1, 0);
    t.eventIn(2, 0);
    assert.equal(t.discard(1), true);
    assert.equal(t.discard(1), false);
    assert.equal(t.eventOut(1, 5), -1);
    assert.equal(t.stats.discarded, 1);
    t.advance(100);
    assert.deepEqual(
      c.got.map((e) => e.key),
      [2],
      'a discarded event never times out',
    );
    assert.equal(t.discard(0xffff88814dc332e0n), false);
  });

  test('lastData is the data of the event the latest eventOut ended', () => {
    const t = createTracker<number>({ capacity: 4, threshold: 1e9 });
    t.eventIn(1, 0, { data: 11 });
    t.eventIn(2, 0, { data: 22 });
    t.eventOut(2, 1);
    assert.equal(t.lastData, 22);
    t.eventOut(1, 1);
    assert.equal(t.lastData, 11);
    t.eventOut(3, 1); // unmatched: unchanged
    assert.equal(t.lastData, 11);
  });
});

describe('discardBefore', () => {
  test('drops only events begun before the time, counted', () => {
    const c = collect();
    const t = createTracker({ capacity: 8, threshold: 0, ...c });
    t.eventIn(1, 10);
    t.eventIn(2, 20);
    t.eventIn(3, 30);
    assert.equal(t.discardBefore(25), 2);
    assert.equal(t.stats.discarded, 2);
    assert.equal(t.eventOut(1, 40), -1);
    assert.equal(t.eventOut(3, 40), 10);
    const keys: unknown[] = [];
    t.eventIn(4, 50);
    t.forEachInFlight((k) => keys.push(k));
    assert.deepEqual(keys, [4]);
  });
});

describe('no per-event allocation with integer keys', () => {
  test('heap stays flat over 2 M pairs', { skip: typeof globalThis.gc !== 'function' && 'needs --expose-gc' }, () => {
    const t = createTracker({ capacity: 4096, threshold: 1e12 });
    const run = (n: number) => {
      for (let i = 0; i < n; i++) {
        const k = i & 1023;
        t.eventIn(k, i);
        t.eventOut(k, i + 5);
      }
    };
    run(200_000);
    (globalThis as { gc?: () => void }).gc?.();
    const before = process.memoryUsage().heapUsed;
    run(2_000_000);
    (globalThis as { gc?: () => void }).gc?.();
    const growth = process.memoryUsage().heapUsed - before;
    assert.ok(growth < 256 * 1024, `heap grew by ${growth} bytes`);
  });
});
