/**
 * The flight recorder on real pages (test/fixtures/ftrace/basic-4k, captured live): files cover their windows and
 * read back with our reader, the rate limit and file sharing, the directory cap (only our own files removed, the
 * oldest first), names validated for serving.
 */
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FIXTURES, loadCapture } from '../../../test/helpers/ftrace-fixture.ts';
import type { OutlierRecord } from '../../analyses/engine.ts';
import { forEachPage, openTraceDat } from '../../sources/tracedat/index.ts';
import { encodeMeta } from '../../sources/tracedat/writer.ts';
import { FlightRecorder, type FlightSettings, TRACE_FILE_RE } from './recorder.ts';

const tmp = mkdtempSync(join(tmpdir(), 'lt-flight-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const cap = loadCapture('basic-4k');
const PS = cap.layout.pageSize;
/** Every page with its CPU and time stamp, in time order (the order a live source reads them, roughly). */
const pages = cap.cpus
  .flatMap((b, cpu) => {
    const out: { cpu: number; ts: bigint; bytes: Uint8Array }[] = [];
    for (let o = 0; o + PS <= b.length; o += PS) {
      const bytes = b.subarray(o, o + PS);
      out.push({ cpu, ts: new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true), bytes });
    }
    return out;
  })
  .sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
const T0 = pages[0].ts;
const T1 = pages[pages.length - 1].ts;
const SPAN = T1 - T0;

function recorder(dir: string, over: Partial<FlightSettings> = {}): FlightRecorder {
  mkdirSync(dir, { recursive: true });
  const fdir = join(FIXTURES, 'formats');
  const formats = readdirSync(fdir)
    .filter((n) => n.includes('__'))
    .map((n) => ({ system: n.split('__')[0], text: readFileSync(join(fdir, n), 'utf8') }));
  return new FlightRecorder(
    {
      dir,
      beforeNs: Number(SPAN / 10n),
      afterNs: Number(SPAN / 20n),
      memoryBytes: 64 << 20,
      maxAgeNs: 3600e9,
      rate: { files: 1, perNs: 10e9 },
      dirMaxBytes: 1 << 30,
      version: 6,
      compression: 'none',
      ...over,
    },
    {
      layout: cap.layout,
      cpus: cap.cpus.length,
      clock: 'mono',
      traceClock: '[mono]',
      uname: 'Linux test 6.18 x86_64',
      tool: 'test',
      meta: encodeMeta({
        headerPage: readFileSync(join(FIXTURES, 'basic-4k', 'header_page'), 'utf8'),
        headerEvent: readFileSync(join(fdir, 'header_event'), 'utf8'),
        formats,
        kallsyms: '',
        printk: '',
        cmdlines: '',
      }),
      cmdlines: () => '1 init\n',
      cpuStats: () => [],
    },
  );
}

function outlier(start: bigint, end: bigint, tid = 42): OutlierRecord {
  return {
    type: 'latency',
    analysis: 'syscall',
    reason: 'threshold',
    start_ns: start,
    end_ns: end,
    latency_ns: Number(end - start),
    cpu: 0,
    tid,
    pid: null,
    comm: 'x',
    detail: {},
    cgroup: null,
    container: null,
  };
}

function feed(f: FlightRecorder): void {
  for (const p of pages) f.page(p.cpu, p.bytes, 0, PS);
}

describe('flight recorder', () => {
  it('writes the window of an outlier, shares it with outliers inside it, rate-limits the others', async () => {
    const dir = join(tmp, 'a');
    // The capture's CPUs cover different moments (cpu1 first): a window from cpu1's 5th page to cpu0's 3rd.
    const f = recorder(dir, { beforeNs: 1000, afterNs: 1000 });
    const cpuPages = (c: number) => pages.filter((p) => p.cpu === c);
    const start = cpuPages(1)[4].ts + 1000n;
    const end = cpuPages(0)[2].ts - 1000n;
    const first = outlier(start, end);
    f.annotate(first);
    assert.equal(
      first.trace_file,
      join(dir, `syscall-${start / 10n ** 9n}.${String(start % 10n ** 9n).padStart(9, '0')}-42.dat`),
    );
    const inside = outlier(start + 1000n, end - 1000n, 43);
    f.annotate(inside);
    assert.equal(inside.trace_file, first.trace_file, 'an outlier inside a pending window shares its file');
    const later = outlier(end + 10000n, end + 20000n, 44);
    f.annotate(later);
    assert.equal(later.trace_file, undefined, 'one file per 10 s');
    assert.deepEqual([f.stats.shared, f.stats.skipped], [1, 1]);
    // Not written before the source has read past end + after.
    feed(f);
    f.cycle(end, false);
    assert.equal(f.queued, 1);
    f.cycle(T1 + 1_000_000_000n, false);
    await f.flush();
    assert.equal(f.lastError, undefined);
    assert.equal(f.stats.written, 1);
    assert.ok(existsSync(first.trace_file as string));
    assert.deepEqual(
      readdirSync(dir).filter((n) => n.startsWith('.')),
      [],
      'no temporary file left',
    );
    // Its pages: per CPU, one page starting before the window's start, none starting after its end.
    const from = start - BigInt(f.settings.beforeNs);
    const to = end + BigInt(f.settings.afterNs);
    const src = await openTraceDat(first.trace_file as string);
    for (const cpu of [0, 1]) {
      const ts: bigint[] = [];
      await forEachPage(src, cpu, (b, o) => ts.push(new DataView(b.buffer, b.byteOffset + o).getBigUint64(0, true)));
      assert.ok(ts.length >= 3, `cpu${cpu}: ${ts.length} pages`);
      const earlier = pages.filter((p) => p.cpu === cpu && p.ts < from).length;
      assert.equal(ts.filter((t) => t < from).length, Math.min(1, earlier), `cpu${cpu}: the page before the window`);
      assert.ok(
        ts.every((t) => t <= to),
        `cpu${cpu}: no page after the window`,
      );
      // Every page of the capture inside the window is there.
      const want = pages.filter((p) => p.cpu === cpu && p.ts >= from && p.ts <= to).length;
      assert.equal(ts.filter((t) => t >= from).length, want);
    }
    let n = 0;
    const stats = await src.run({ record: () => n++ });
    assert.ok(n > 100);
    assert.deepEqual(stats.errors, {});
    assert.equal(src.comm(1), 'init');
    assert.equal(f.has((first.trace_file as string).slice(dir.length + 1)), true);
  });

  it('keeps the directory under its cap: our oldest files go first, nothing else is touched', async () => {
    const dir = join(tmp, 'b');
    mkdirSync(dir, { recursive: true });
    const old = ['offcpu-100.000000001-7.dat', 'offcpu-100.000000002-7.dat', 'wakeup-100.000000003-none.dat'];
    for (const [i, name] of old.entries()) {
      writeFileSync(join(dir, name), new Uint8Array(1 << 20), { flag: 'w' });
      utimesSync(join(dir, name), 1000 + i, 1000 + i);
    }
    writeFileSync(join(dir, 'notes.txt'), 'not ours');
    writeFileSync(join(dir, 'syscall-1.000000000-1.dat.bak'), new Uint8Array(2 << 20));
    const f = recorder(dir, { dirMaxBytes: 2 * (1 << 20) + 1, rate: { files: 100, perNs: 1e9 } });
    // At start: 3 MiB of our files over a 2 MiB cap: the oldest one is removed.
    assert.equal(existsSync(join(dir, old[0])), false);
    assert.deepEqual([f.stats.removed, f.stats.dirFiles], [1, 2]);
    const o = outlier(T0 + SPAN / 2n, T0 + SPAN / 2n + 1000n);
    f.annotate(o);
    feed(f);
    f.cycle(T1 + 10n ** 9n, false);
    await f.flush();
    const size = f.stats.writtenBytes;
    assert.ok(size > 0);
    // After the new file: our files must fit again.
    assert.ok(f.stats.dirBytes <= f.settings.dirMaxBytes, `${f.stats.dirBytes} bytes`);
    assert.ok(existsSync(o.trace_file as string), 'the newest file stays');
    assert.equal(existsSync(join(dir, 'notes.txt')), true);
    assert.equal(existsSync(join(dir, 'syscall-1.000000000-1.dat.bak')), true);
    assert.equal(f.stats.removed, 2);
    assert.equal(existsSync(join(dir, old[1])), false, 'the next oldest went for the new file');
    assert.equal(existsSync(join(dir, old[2])), true);
  });

  it('serves only names of its own pattern that it wrote', () => {
    const f = recorder(join(tmp, 'c'));
    for (const bad of ['../etc/passwd', 'syscall-1.000000000-1.dat/../../x', '.syscall-1.000000000-1.dat.tmp', ''])
      assert.equal(f.pathOf(bad), undefined, bad);
    assert.equal(TRACE_FILE_RE.test('softirq-delay-12.345678901-none.dat'), true);
    assert.equal(f.pathOf('syscall-1.000000000-1.dat'), undefined, 'well formed but not written here');
  });
});
