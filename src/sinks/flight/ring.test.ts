import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PageRing } from './ring.ts';

const PS = 4096;
const layout = { pageSize: PS, timestampOffset: 0, commitOffset: 8, commitSize: 8, littleEndian: true };
const BASE = 5_000_000_000_000n;

/** A sub-buffer whose header says time `BASE + t` and `size` bytes of data; its byte 16 tags it. */
function page(t: number, tag: number, size = 64): Uint8Array {
  const b = new Uint8Array(PS);
  const dv = new DataView(b.buffer);
  dv.setBigUint64(0, BASE + BigInt(t), true);
  dv.setBigUint64(8, BigInt(size), true);
  b[16] = tag;
  return b;
}

function tags(pages: Iterable<Uint8Array>): number[] {
  return [...pages].map((p) => p[16]);
}

describe('flight recorder page ring', () => {
  it('keeps at most maxBytes of pages: the oldest chunk is reused, evictions counted', () => {
    const ring = new PageRing({ layout, cpus: 2, maxBytes: 3 * 8 * PS, chunkBytes: 8 * PS });
    for (let i = 0; i < 100; i++) ring.add(i % 2, page(i * 1000, i % 256), 0, PS);
    assert.equal(ring.maxChunks, 3);
    assert.ok(ring.bytes <= 3 * 8 * PS);
    assert.equal(ring.stats.pages, 100);
    assert.equal(ring.pages + ring.stats.evicted, 100);
    assert.ok(ring.pages > 16 && ring.pages <= 24, `${ring.pages} held`);
    // The newest pages are the ones held.
    const s = ring.snapshot(BASE, BASE + 10n ** 12n);
    assert.deepEqual(tags(s.pages(0)).slice(-3), [94, 96, 98]);
    s.release();
  });

  it('a window: the last page before its start and every page up to its end, per CPU', () => {
    const ring = new PageRing({ layout, cpus: 2, maxBytes: 64 * PS, chunkBytes: 4 * PS });
    // cpu0 pages at 0,10,20,...; cpu1 at 5,15,25,...
    for (let i = 0; i < 20; i++) {
      ring.add(0, page(i * 10, i), 0, PS);
      ring.add(1, page(i * 10 + 5, 100 + i), 0, PS);
    }
    const s = ring.snapshot(BASE + 42n, BASE + 80n);
    assert.deepEqual(tags(s.pages(0)), [4, 5, 6, 7, 8]);
    assert.deepEqual(tags(s.pages(1)), [103, 104, 105, 106, 107]);
    assert.equal(s.truncated, false);
    s.release();
    const early = ring.snapshot(BASE - 1000n, BASE + 3n);
    assert.equal(early.truncated, true, 'the ring does not reach back that far');
    assert.deepEqual(tags(early.pages(0)), [0]);
    early.release();
  });

  it('pages without data are not kept; expire frees chunks older than a time', () => {
    const ring = new PageRing({ layout, cpus: 1, maxBytes: 64 * PS, chunkBytes: 4 * PS });
    ring.add(0, page(0, 1, 0), 0, PS);
    assert.equal(ring.pages, 0);
    for (let i = 0; i < 16; i++) ring.add(0, page(i * 1000, i), 0, PS);
    assert.equal(ring.bytes, 4 * 4 * PS);
    ring.expire(BASE + 9000n);
    // Chunks [0..3] and [4..7] are older than 9000; [8..11] holds 8000..11000 and stays.
    assert.equal(ring.pages, 8);
    assert.equal(ring.stats.expired, 8);
    assert.ok(ring.bytes <= 3 * 4 * PS, 'memory given back (one chunk kept for reuse)');
  });

  it('a pinned chunk is never reused: new pages are dropped and the next kept one is flagged as after a loss', () => {
    const ring = new PageRing({ layout, cpus: 1, maxBytes: 2 * 2 * PS, chunkBytes: 2 * PS });
    for (let i = 0; i < 4; i++) ring.add(0, page(i, i), 0, PS);
    const s = ring.snapshot(BASE, BASE + 1n);
    ring.add(0, page(4, 4), 0, PS);
    ring.add(0, page(5, 5), 0, PS);
    assert.equal(ring.stats.dropped, 2);
    assert.deepEqual(tags(s.pages(0)), [0, 1]);
    s.release();
    ring.add(0, page(6, 6), 0, PS);
    const all = ring.snapshot(BASE, BASE + 100n);
    const pages = [...all.pages(0)];
    const last = pages[pages.length - 1];
    assert.equal(last[16], 6);
    const commit = new DataView(last.buffer, last.byteOffset).getUint32(8, true);
    assert.equal(commit >>> 31, 1, 'RB_MISSED_EVENTS set on the page after the gap');
    assert.equal(commit & 0x7ffffff, 64, 'data size unchanged');
    all.release();
  });

  it('refuses a bound below two chunks', () => {
    assert.throws(() => new PageRing({ layout, cpus: 1, maxBytes: PS, chunkBytes: PS }), RangeError);
  });
});
