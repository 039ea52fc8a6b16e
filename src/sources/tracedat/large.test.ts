/**
 * Streaming: a ~300 MB trace.dat (the fixture's real pages repeated 30 times, each copy shifted later in time) is
 * decoded with memory bounded far below its size.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { forEachPage, openTraceDat } from './index.ts';
import { writeTraceDat } from './writer.ts';

const DIR = new URL('../../../../shared/traces/tracecmd-x86-vm/', import.meta.url).pathname;
const have = existsSync(`${DIR}trace-v6.dat`);
const tmp = mkdtempSync(join(tmpdir(), 'lt-large-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const COPIES = 30;
const SPAN = 4_000_000_000n; // the fixture covers ~3 s

/** Moves a little-endian 64-bit page later in time: its time stamp and any absolute-time (type 31) record. */
function shiftPage(dv: DataView, by: bigint) {
  dv.setBigUint64(0, dv.getBigUint64(0, true) + by, true);
  const end = 16 + (dv.getUint32(8, true) & 0x7ffffff);
  for (let pos = 16; pos + 4 <= end; ) {
    const w = dv.getUint32(pos, true);
    const type = w & 31;
    if (type === 31) {
      const v = BigInt(dv.getUint32(pos + 4, true)) * 2n ** 27n + BigInt(w >>> 5) + by;
      dv.setUint32(pos, Number((v & 0x7ffffffn) << 5n) | 31, true);
      dv.setUint32(pos + 4, Number(v >> 27n), true);
    }
    pos +=
      type === 0
        ? 4 + dv.getUint32(pos + 4, true)
        : type <= 28
          ? 4 + 4 * type
          : type === 29
            ? 4 + dv.getUint32(pos + 4, true)
            : 8;
  }
}

describe('large files are streamed', { skip: have ? false : 'no shared trace fixtures' }, () => {
  it(`decodes a ${COPIES}x fixture file (~300 MB) with bounded memory`, async () => {
    const src0 = await openTraceDat(`${DIR}trace-v6.dat`);
    const pages: Uint8Array[][] = [[], []];
    for (const cpu of [0, 1]) await forEachPage(src0, cpu, (b, o, n) => pages[cpu].push(b.slice(o, o + n)));
    const big = join(tmp, 'big.dat');
    function* shifted(cpu: number): Iterable<Uint8Array> {
      const out = new Uint8Array(4096);
      const dv = new DataView(out.buffer);
      for (let k = 0n; k < BigInt(COPIES); k++) {
        for (const p of pages[cpu]) {
          out.set(p);
          shiftPage(dv, k * SPAN);
          yield out;
        }
      }
    }
    await writeTraceDat(big, {
      version: 6,
      compression: 'none',
      meta: src0.info,
      cpus: 2,
      buffers: [
        { name: '', clock: 'local', pageSize: 4096, cpus: [0, 1].map((cpu) => ({ cpu, pages: () => shifted(cpu) })) },
      ],
    });
    const size = statSync(big).size;
    assert.ok(size > 290e6, `file is ${size} bytes`);

    const src = await openTraceDat(big);
    global.gc?.();
    const rss0 = process.memoryUsage.rss();
    const heap0 = process.memoryUsage().heapUsed;
    let peakRss = rss0;
    let peakHeap = heap0;
    let n = 0;
    let last = Number.NEGATIVE_INFINITY;
    let backwards = 0;
    const t0 = performance.now();
    const stats = await src.run({
      record(r) {
        if (r.ts < last) backwards++;
        last = r.ts;
        if ((++n & 0x3ffff) === 0) {
          const m = process.memoryUsage();
          peakRss = Math.max(peakRss, m.rss);
          peakHeap = Math.max(peakHeap, m.heapUsed);
        }
      },
    });
    const ms = performance.now() - t0;
    console.log(
      `# ${n} records from ${(size / 1e6).toFixed(0)} MB in ${ms.toFixed(0)} ms; RSS +${((peakRss - rss0) / 2 ** 20).toFixed(1)} MiB, heap +${((peakHeap - heap0) / 2 ** 20).toFixed(1)} MiB`,
    );
    assert.equal(n, COPIES * 204585);
    assert.equal(stats.records, n);
    assert.deepEqual(stats.errors, {});
    assert.equal(backwards, 0);
    assert.ok(peakRss - rss0 < 64 * 2 ** 20, `RSS grew ${peakRss - rss0} bytes`);
    // Peak heap includes young-generation garbage (a few objects per page read); what stays must be small.
    assert.ok(peakHeap - heap0 < 64 * 2 ** 20, `heap peaked ${peakHeap - heap0} bytes above the start`);
    global.gc?.();
    const kept = process.memoryUsage().heapUsed - heap0;
    assert.ok(kept < 8 * 2 ** 20, `heap kept ${kept} bytes`);
  });
});
