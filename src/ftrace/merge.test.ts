import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Capture, fixtureSchema, loadCapture } from '../../test/helpers/ftrace-fixture.ts';
import { parseEventFormat } from './format.ts';
import { CpuMerger, commonFieldsProblem } from './merge.ts';
import { PageStatus } from './page.ts';
import { EventSchema } from './schema.ts';
import type { RecordSink } from './types.ts';

const schema = fixtureSchema();

interface Got {
  kind: 'rec' | 'lost';
  cpu: number;
  ts: number;
  id: number;
  pid: number;
  count?: number;
}

function collector(out: Got[]): RecordSink {
  return {
    record: (r) => out.push({ kind: 'rec', cpu: r.cpu, ts: r.ts, id: r.id, pid: r.pid }),
    lost: (cpu, count, ts) => out.push({ kind: 'lost', cpu, ts, id: -1, pid: -1, count }),
  };
}

function pagesOf(cap: Capture, cpu: number): Uint8Array[] {
  const b = cap.cpus[cpu];
  const out: Uint8Array[] = [];
  for (let p = 0; p < b.length; p += cap.layout.pageSize) out.push(b.subarray(p, p + cap.layout.pageSize));
  return out;
}

/** Feeds all pages of every CPU (the pool is large enough), then drains everything. */
function mergeAll(cap: Capture, origin = 0n): Got[] {
  const m = new CpuMerger({ cpus: cap.cpus.length, layout: cap.layout, schema, origin, maxPagesPerCpu: 64 });
  for (let c = 0; c < cap.cpus.length; c++)
    for (const p of pagesOf(cap, c)) assert.equal(m.addPage(c, p), PageStatus.OK);
  const out: Got[] = [];
  m.drain(collector(out));
  assert.equal(m.queued, 0);
  return out;
}

describe('CpuMerger', () => {
  it('merges live-captured CPUs into the order of the kernel text (16 KiB sub-buffers)', () => {
    const cap = loadCapture('subbuf-16k');
    const got = mergeAll(cap).filter((g) => g.kind === 'rec');
    assert.equal(got.length, cap.text.length);
    const bad = got.findIndex(
      (g, i) =>
        g.cpu !== cap.text[i].cpu ||
        g.pid !== cap.text[i].pid ||
        schema.byId(g.id)?.name !== cap.text[i].event ||
        (BigInt(g.ts) + 500n) / 1000n !== cap.text[i].usec,
    );
    assert.equal(bad, -1, `first mismatch at ${bad}`);
  });

  it('times are offsets from the origin, exactly', () => {
    const cap = loadCapture('basic-4k');
    const abs = mergeAll(cap, 0n);
    const origin = BigInt(abs[0].ts) - 7n;
    const rel = mergeAll(cap, origin);
    assert.deepEqual(
      rel.map((g) => origin + BigInt(g.ts)),
      abs.map((g) => BigInt(g.ts)),
    );
    assert.equal(rel[0].ts, 7);
  });

  it('reports kernel losses at the position of the flagged page, before its records', () => {
    const cap = loadCapture('overrun');
    const got = mergeAll(cap);
    const losses = got.filter((g) => g.kind === 'lost');
    assert.deepEqual(
      losses.map((l) => [l.cpu, l.count]),
      cap.overrun.map((n, cpu) => [cpu, n]),
    );
    for (const l of losses) {
      const i = got.indexOf(l);
      const next = got.slice(i + 1).find((g) => g.cpu === l.cpu);
      const firstOfCpu = got.find((g) => g.cpu === l.cpu && g.kind === 'rec');
      assert.equal(next, firstOfCpu, 'the marker precedes the CPU records of that page');
      assert.equal(l.ts, next?.ts);
    }
    const m = new CpuMerger({ cpus: 2, layout: cap.layout, schema, origin: 0n });
    for (let c = 0; c < 2; c++) for (const p of pagesOf(cap, c)) m.addPage(c, p);
    m.drain({ record() {} });
    assert.deepEqual(m.stats.lostPerCpu, cap.overrun);
    assert.equal(m.stats.lossReports, 2);
  });

  it('breaks timestamp ties by lower CPU first', () => {
    const cap = loadCapture('basic-4k');
    const page = pagesOf(cap, 1)[2];
    const m = new CpuMerger({ cpus: 3, layout: cap.layout, schema, origin: 0n });
    m.addPage(2, page);
    m.addPage(0, page);
    m.addPage(1, page);
    const out: Got[] = [];
    m.drain(collector(out));
    assert.ok(out.length > 30);
    assert.equal(out.length % 3, 0);
    for (let i = 0; i + 1 < out.length; i++) {
      const [a, b] = [out[i], out[i + 1]];
      assert.ok(
        a.ts < b.ts || (a.ts === b.ts && a.cpu <= b.cpu),
        `order at ${i}: ${a.ts}/${a.cpu} then ${b.ts}/${b.cpu}`,
      );
    }
    const perCpu = [0, 1, 2].map((c) => out.filter((g) => g.cpu === c).map((g) => [g.ts, g.id, g.pid]));
    assert.deepEqual(perCpu[1], perCpu[0]);
    assert.deepEqual(perCpu[2], perCpu[0]);
  });

  it('drains up to a limit and keeps the rest queued', () => {
    const cap = loadCapture('basic-4k');
    const all = mergeAll(cap);
    const m = new CpuMerger({ cpus: 2, layout: cap.layout, schema, origin: 0n });
    for (let c = 0; c < 2; c++) for (const p of pagesOf(cap, c)) m.addPage(c, p);
    const limit = all[Math.floor(all.length / 2)].ts;
    const first: Got[] = [];
    m.drain(collector(first), limit);
    assert.ok(first.every((g) => g.ts <= limit));
    assert.ok(m.queued > 0);
    assert.ok(m.headTs(0) > limit || m.headTs(0) === Number.POSITIVE_INFINITY);
    const rest: Got[] = [];
    m.drain(collector(rest));
    assert.deepEqual([...first, ...rest], all);
  });

  it('bounds its pool, copies pages in, and counts bad input', () => {
    const cap = loadCapture('basic-4k');
    const pages = pagesOf(cap, 0);
    const m = new CpuMerger({ cpus: 2, layout: cap.layout, schema, origin: 0n, maxPagesPerCpu: 2 });
    const buf = new Uint8Array(cap.layout.pageSize);
    buf.set(pages[1]);
    assert.equal(m.addPage(0, buf), PageStatus.OK);
    buf.set(pages[2]);
    assert.equal(m.addPage(0, buf), PageStatus.OK);
    buf.set(pages[3]);
    assert.equal(m.addPage(0, buf), PageStatus.POOL_FULL);
    assert.equal(m.freePages(0), 0);
    buf.fill(0xff); // the merger owns copies: reusing the read buffer changes nothing
    const out: Got[] = [];
    m.drain(collector(out));
    const ref: Got[] = [];
    const r = new CpuMerger({ cpus: 2, layout: cap.layout, schema, origin: 0n });
    r.addPage(0, pages[1]);
    r.addPage(0, pages[2]);
    r.drain(collector(ref));
    assert.deepEqual(out, ref);
    assert.equal(m.freePages(0), 2);
    assert.equal(m.addPage(5, pages[3]), PageStatus.BAD_CPU);
    const garbage = new Uint8Array(cap.layout.pageSize).fill(0x41);
    assert.notEqual(m.addPage(1, garbage), PageStatus.OK);
    assert.ok(Object.keys(m.stats.errors).length >= 2, JSON.stringify(m.stats.errors));
  });

  it('allocates nothing per record while merging (heap flat over 2 M records)', { skip: !global.gc }, () => {
    const cap = loadCapture('subbuf-16k');
    const m = new CpuMerger({ cpus: 2, layout: cap.layout, schema, origin: 0n });
    const pages = [pagesOf(cap, 0), pagesOf(cap, 1)];
    let n = 0;
    let sum = 0;
    const sink: RecordSink = {
      record(r) {
        n++;
        sum += r.pid;
      },
    };
    const round = () => {
      for (let i = 0; i < pages[0].length; i++) {
        m.addPage(0, pages[0][i]);
        if (i < pages[1].length) m.addPage(1, pages[1][i]);
        m.drain(sink);
      }
    };
    for (let k = 0; k < 20; k++) round();
    global.gc?.();
    const before = process.memoryUsage().heapUsed;
    const n0 = n;
    while (n - n0 < 2_000_000) round();
    global.gc?.();
    const growth = process.memoryUsage().heapUsed - before;
    assert.ok(sum !== 0);
    assert.ok(growth < 256 * 1024, `heap grew ${growth} bytes over ${n - n0} records`);
  });
});

describe('common field layout', () => {
  const format = (pidOffset: number) =>
    parseEventFormat(
      `name: odd
ID: 7
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:${pidOffset};\tsize:4;\tsigned:1;
\tfield:int x;\toffset:12;\tsize:4;\tsigned:1;

print fmt: "x=%d", REC->x
`,
      'test',
    );
  it('the kernel layout passes; any other is named, and the merger refuses it', () => {
    assert.equal(commonFieldsProblem(format(4)), undefined);
    assert.equal(commonFieldsProblem(format(8)), 'common_pid at 8/4, expected 4/4');
    const odd = new EventSchema([format(8)], 8, true);
    assert.throws(
      () => new CpuMerger({ cpus: 1, layout: loadCapture('basic-4k').layout, schema: odd, origin: 0n }),
      /test:odd: common_pid at 8\/4/,
    );
  });
});
