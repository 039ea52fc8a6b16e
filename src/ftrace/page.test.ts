import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Capture, fixtureSchema, loadCapture, rng } from '../../test/helpers/ftrace-fixture.ts';
import { maxRecordsPerPage, PageResult, PageStatus, RecordBatch, walkPage } from './page.ts';
import type { PageLayout } from './types.ts';

interface Rec {
  cpu: number;
  ts: number;
  id: number;
  pid: number;
  len: number;
  off: number;
}

/** Walks every page of every CPU of a capture; returns records (merged by ts, then cpu) and page results. */
function walkCapture(cap: Capture) {
  const { layout } = cap;
  const recs: Rec[] = [];
  const pages: { cpu: number; missed: boolean; lost: number; status: number }[] = [];
  const batch = new RecordBatch(maxRecordsPerPage(layout));
  const res = new PageResult();
  cap.cpus.forEach((bytes, cpu) => {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let p = 0; p < bytes.length; p += layout.pageSize) {
      const st = walkPage(view, p, layout.pageSize, layout, 0, 0, batch, 0, res);
      pages.push({ cpu, missed: res.missed, lost: res.lost, status: st });
      for (let i = 0; i < res.records; i++) {
        recs.push({ cpu, ts: batch.ts[i], id: batch.id[i], pid: batch.pid[i], len: batch.len[i], off: batch.off[i] });
      }
    }
  });
  recs.sort((a, b) => a.ts - b.ts || a.cpu - b.cpu);
  return { recs, pages };
}

const schema = fixtureSchema();

function compareWithText(cap: Capture) {
  const { recs, pages } = walkCapture(cap);
  assert.ok(recs.length > 100, `${cap.name}: only ${recs.length} records`);
  assert.deepEqual(
    pages.filter((p) => p.status !== PageStatus.OK),
    [],
    `${cap.name}: every captured page walks cleanly`,
  );
  assert.equal(recs.length, cap.text.length, `${cap.name}: record count vs the kernel's text`);
  const mismatches: string[] = [];
  for (let i = 0; i < recs.length; i++) {
    const r = recs[i];
    const t = cap.text[i];
    const name = schema.byId(r.id)?.name ?? `#${r.id}`;
    const usec = (BigInt(r.ts) + 500n) / 1000n;
    if (r.cpu !== t.cpu || r.pid !== t.pid || name !== t.event || usec !== t.usec) {
      mismatches.push(`#${i}: ours ${r.cpu} ${r.pid} ${name} ${usec} / kernel ${t.cpu} ${t.pid} ${t.event} ${t.usec}`);
    }
  }
  assert.deepEqual(mismatches.slice(0, 5), [], `${cap.name}: ${mismatches.length} mismatches`);
  return { recs, pages };
}

describe('walkPage on sub-buffers captured live', () => {
  it('4 KiB sub-buffers: every record matches the kernel text (cpu, pid, event, time)', () => {
    const { recs } = compareWithText(loadCapture('basic-4k'));
    assert.ok(
      recs.some((r) => schema.byId(r.id)?.name === 'kernel_stack'),
      'kernel stacks',
    );
  });

  it('16 KiB sub-buffers', () => {
    const cap = loadCapture('subbuf-16k');
    assert.equal(cap.layout.pageSize, 16384);
    const { recs } = compareWithText(cap);
    assert.ok(
      recs.some((r) => schema.byId(r.id)?.name === 'kernel_stack' && r.len > 112),
      'long-form (type_len 0) stacks',
    );
  });

  it('overrun: the first page read carries the missed flag and the stored lost count equals the stats overrun', () => {
    const cap = loadCapture('overrun');
    const { pages } = compareWithText(cap);
    for (let cpu = 0; cpu < cap.cpus.length; cpu++) {
      const mine = pages.filter((p) => p.cpu === cpu);
      assert.equal(mine[0].missed, true, `cpu${cpu} first page flagged`);
      assert.equal(mine[0].lost, cap.overrun[cpu], `cpu${cpu} stored count`);
      assert.ok(cap.overrun[cpu] > 0);
      assert.deepEqual(
        mine.slice(1).map((p) => p.missed),
        mine.slice(1).map(() => false),
      );
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Layout transforms of a real page: big-endian and 32-bit kernels were not available live, so a real 64-bit LE page
// is rewritten into those layouts (the same records, other byte order / header size) and must walk to the same.

const LE64: PageLayout = {
  pageSize: 4096,
  timestampOffset: 0,
  commitOffset: 8,
  commitSize: 8,
  dataOffset: 16,
  littleEndian: true,
};

/** Rewrites a LE 64-bit page as big-endian (header, record words, common_type/common_pid) and/or 12-byte header. */
function transformPage(src: Uint8Array, toBE: boolean, to32: boolean): { page: Uint8Array; layout: PageLayout } {
  const sv = new DataView(src.buffer, src.byteOffset, 4096);
  const layout: PageLayout = {
    pageSize: 4096,
    timestampOffset: 0,
    commitOffset: 8,
    commitSize: to32 ? 4 : 8,
    dataOffset: to32 ? 12 : 16,
    littleEndian: !toBE,
  };
  const page = new Uint8Array(4096);
  const dv = new DataView(page.buffer);
  const le = !toBE;
  dv.setBigUint64(0, sv.getBigUint64(0, true), le);
  const commit = sv.getUint32(8, true);
  const size = commit & 0x7ffffff;
  if (to32) dv.setUint32(8, commit, le);
  else dv.setBigUint64(8, sv.getBigUint64(8, true), le);
  const shift = to32 ? -4 : 0;
  page.set(src.subarray(16, 16 + size), 16 + shift);
  let pos = 16;
  while (pos < 16 + size) {
    const w = sv.getUint32(pos, true);
    const type = w & 31;
    const delta = w >>> 5;
    const o = pos + shift;
    dv.setUint32(o, toBE ? ((type << 27) | delta) >>> 0 : w, le);
    if (type === 0) {
      const a0 = sv.getUint32(pos + 4, true);
      dv.setUint32(o + 4, a0, le);
      dv.setUint16(o + 8, sv.getUint16(pos + 8, true), le);
      dv.setInt32(o + 12, sv.getInt32(pos + 12, true), le);
      pos += 4 + a0;
    } else if (type <= 28) {
      dv.setUint16(o + 4, sv.getUint16(pos + 4, true), le);
      dv.setInt32(o + 8, sv.getInt32(pos + 8, true), le);
      pos += 4 + type * 4;
    } else {
      dv.setUint32(o + 4, sv.getUint32(pos + 4, true), le);
      pos += 8;
    }
  }
  return { page, layout };
}

function walkOne(page: Uint8Array, layout: PageLayout) {
  const batch = new RecordBatch(maxRecordsPerPage(layout));
  const res = new PageResult();
  const st = walkPage(
    new DataView(page.buffer, page.byteOffset, page.byteLength),
    0,
    page.length,
    layout,
    0,
    0,
    batch,
    0,
    res,
  );
  const recs = [];
  for (let i = 0; i < res.records; i++) recs.push([batch.ts[i], batch.id[i], batch.pid[i], batch.len[i]]);
  return { st, recs, res };
}

describe('walkPage layouts', () => {
  const cap = loadCapture('basic-4k');
  const real = cap.cpus[0].subarray(4096, 8192);
  const base = walkOne(real, LE64);

  it('decodes the real page', () => {
    assert.equal(base.st, PageStatus.OK);
    assert.ok(base.recs.length > 20);
  });
  for (const [name, be, b32] of [
    ['big-endian 64-bit', true, false],
    ['little-endian 32-bit (12-byte header)', false, true],
    ['big-endian 32-bit', true, true],
  ] as const) {
    it(`${name} gives the same records`, () => {
      const t = transformPage(real, be, b32);
      const got = walkOne(t.page, t.layout);
      assert.equal(got.st, PageStatus.OK);
      assert.deepEqual(got.recs, base.recs);
    });
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Record types never seen live (padding, absolute time stamps) and ABI violations, on hand-built pages
// (layout per kernel/trace/ring_buffer.c; shared/notes/ftrace-ring-buffer.md §3).

type Item =
  | { data: number; delta: number; id: number; pid: number; long?: boolean }
  | { extend: number }
  | { pad: number; delta: number }
  | { nullPad: true }
  | { abs: bigint }
  | { raw: number[] };

function buildPage(
  ts: bigint,
  items: Item[],
  opts: { commit?: number; flags?: number; lost?: bigint } = {},
): Uint8Array {
  const page = new Uint8Array(4096);
  const dv = new DataView(page.buffer);
  dv.setBigUint64(0, ts, true);
  let pos = 16;
  const hdr = (type: number, delta: number) => {
    dv.setUint32(pos, ((delta << 5) | type) >>> 0, true);
    pos += 4;
  };
  for (const it of items) {
    if ('data' in it) {
      const len = it.data;
      if (it.long || len > 112) {
        hdr(0, it.delta);
        dv.setUint32(pos, len + 4, true);
        pos += 4;
      } else hdr(len / 4, it.delta);
      dv.setUint16(pos, it.id, true);
      dv.setInt32(pos + 4, it.pid, true);
      pos += len;
    } else if ('extend' in it) {
      hdr(30, it.extend % 2 ** 27);
      dv.setUint32(pos, Math.floor(it.extend / 2 ** 27), true);
      pos += 4;
    } else if ('pad' in it) {
      hdr(29, it.delta);
      dv.setUint32(pos, it.pad, true);
      pos += it.pad;
    } else if ('nullPad' in it) {
      hdr(29, 0);
    } else if ('abs' in it) {
      const v = it.abs & ((1n << 59n) - 1n);
      hdr(31, Number(v & 0x7ffffffn));
      dv.setUint32(pos, Number(v >> 27n), true);
      pos += 4;
    } else {
      for (const w of it.raw) {
        dv.setUint32(pos, w >>> 0, true);
        pos += 4;
      }
    }
  }
  const size = opts.commit ?? pos - 16;
  dv.setUint32(8, (size | (opts.flags ?? 0)) >>> 0, true);
  dv.setUint32(12, opts.flags && opts.flags & 0x80000000 ? 0xffffffff : 0, true);
  if (opts.lost !== undefined) dv.setBigUint64(16 + size, opts.lost, true);
  return page;
}

describe('walkPage record types and statuses (hand-built pages)', () => {
  const T0 = 5_000_000_000n;
  const walk = (page: Uint8Array, originHi = 0, originLo = 0) => {
    const batch = new RecordBatch(400);
    const res = new PageResult();
    const st = walkPage(new DataView(page.buffer), 0, 4096, LE64, originHi, originLo, batch, 0, res);
    return {
      st,
      res,
      ts: Array.from(batch.ts.subarray(0, res.records)),
      len: Array.from(batch.len.subarray(0, res.records)),
    };
  };

  it('time extend, sized padding (its delta counts) and null padding', () => {
    const p = buildPage(T0, [
      { data: 16, delta: 0, id: 7, pid: 1 },
      { extend: 300_000_000 },
      { data: 16, delta: 0, id: 7, pid: 1 },
      { pad: 20, delta: 50 },
      { data: 16, delta: 10, id: 7, pid: 1 },
      { nullPad: true },
      { data: 16, delta: 10, id: 7, pid: 1 },
    ]);
    const { st, ts } = walk(p);
    assert.equal(st, PageStatus.OK);
    const t0 = Number(T0);
    assert.deepEqual(ts, [t0, t0 + 300_000_000, t0 + 300_000_060]);
  });

  it('type_len 0 records: payload = array[0] - 4', () => {
    const { st, len } = walk(
      buildPage(T0, [
        { data: 136, delta: 0, id: 4, pid: 9 },
        { data: 24, delta: 1, id: 4, pid: 9, long: true },
      ]),
    );
    assert.equal(st, PageStatus.OK);
    assert.deepEqual(len, [136, 24]);
  });

  it('absolute time stamps replace the time and take the top 5 bits from the current time', () => {
    const hiBits = 0x08n << 56n; // a clock value with a top bit set (x86-tsc on a long uptime, `counter`)
    const base = hiBits | 1000n;
    const originHi = Number(base >> 32n);
    const originLo = Number(base & 0xffffffffn);
    const p = buildPage(base, [
      { data: 16, delta: 0, id: 1, pid: 1 },
      { abs: base + 123_456_789n },
      { data: 16, delta: 0, id: 1, pid: 1 },
      { abs: 5000n }, // below the current time after the fix-up: + 2^59 (rb_fix_abs_ts)
      { data: 16, delta: 0, id: 1, pid: 1 },
    ]);
    const { st, ts } = walk(p, originHi, originLo);
    assert.equal(st, PageStatus.OK);
    assert.deepEqual(ts, [0, 123_456_789, Number((hiBits | 5000n) + (1n << 59n) - base)]);
  });

  it('missed events with and without a stored count', () => {
    const items: Item[] = [{ data: 16, delta: 0, id: 1, pid: 1 }];
    let r = walk(buildPage(T0, items, { flags: 0xc0000000, lost: 78045n })).res;
    assert.deepEqual([r.missed, r.lost, r.records], [true, 78045, 1]);
    r = walk(buildPage(T0, items, { flags: 0x80000000 })).res;
    assert.deepEqual([r.missed, r.lost], [true, -1]);
  });

  it('names every ABI violation and keeps the records before it', () => {
    const ok: Item = { data: 16, delta: 0, id: 1, pid: 1 };
    assert.equal(walk(buildPage(T0, [ok], { commit: 5000 })).st, PageStatus.COMMIT_TOO_LARGE);
    const over = walk(buildPage(T0, [ok, { data: 16, delta: 0, id: 1, pid: 1 }], { commit: 30 }));
    assert.deepEqual([over.st, over.res.records], [PageStatus.RECORD_OVERRUNS_PAGE, 1]);
    const bad0 = walk(buildPage(T0, [ok, { raw: [0, 2] }]));
    assert.deepEqual([bad0.st, bad0.res.records], [PageStatus.BAD_TYPE0_LENGTH, 1]);
    // Lengths near 2^32 (type 0 data, type 29 padding) overrun; rounding them up must not wrap to a small step.
    for (const raw of [
      [0, 0xfffffffe, 1, 1, 1, 1],
      [29 | (5 << 5), 0xfffffffd, 1, 1],
    ]) {
      const huge = walk(buildPage(T0, [ok, { raw }, ok]));
      assert.deepEqual([huge.st, huge.res.records], [PageStatus.RECORD_OVERRUNS_PAGE, 1], `raw ${raw}`);
    }
    const short = walk(buildPage(T0, [{ raw: [1, 0] }, ok]));
    assert.deepEqual([short.st, short.res.shortRecords, short.res.records], [PageStatus.OK, 1, 1]);
    const tiny = walkPage(
      new DataView(new ArrayBuffer(10)),
      0,
      10,
      LE64,
      0,
      0,
      new RecordBatch(1),
      0,
      new PageResult(),
    );
    assert.equal(tiny, PageStatus.PAGE_TOO_SHORT);
    const full = walkPage(
      new DataView(buildPage(T0, [ok, ok, ok]).buffer),
      0,
      4096,
      LE64,
      0,
      0,
      new RecordBatch(2),
      0,
      new PageResult(),
    );
    assert.equal(full, PageStatus.BATCH_FULL);
  });

  it('never throws on random bytes and flipped real pages (10 000 pages)', () => {
    const rand = rng(42);
    const batch = new RecordBatch(maxRecordsPerPage(LE64));
    const res = new PageResult();
    const real = loadCapture('basic-4k').cpus[1];
    const page = new Uint8Array(4096);
    const view = new DataView(page.buffer);
    const seen = new Set<number>();
    for (let n = 0; n < 10000; n++) {
      if (n % 2 === 0) for (let i = 0; i < 4096; i++) page[i] = (rand() * 256) | 0;
      else {
        page.set(real.subarray(0, 4096));
        for (let k = 0; k < 8; k++) page[(rand() * 4096) | 0] ^= 1 << ((rand() * 8) | 0);
      }
      const avail = n % 7 === 0 ? (rand() * 4096) | 0 : 4096;
      seen.add(walkPage(view, 0, avail, LE64, 0, 0, batch, 0, res));
      // Whatever the damage, every record handed out lies inside the readable part of the page.
      const extent = Math.min(avail, 4096);
      for (let i = 0; i < res.records; i++) {
        const off = batch.off[i];
        const len = batch.len[i];
        if (!(off >= LE64.dataOffset && len >= 8 && off + len <= extent)) {
          assert.fail(`page ${n}: record ${i} at ${off}+${len} outside 16..${extent}`);
        }
      }
    }
    assert.ok(seen.size >= 3, `statuses seen: ${[...seen]}`);
  });
});
