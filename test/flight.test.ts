// test-timeout: 300s
/**
 * The flight recorder on the live kernel (issue 16): a 300 ms sleep caught live gets a trace.dat whose `analyze`
 * reproduces the outlier exactly and whose pages cover [start − before, end + after]; the rate limit; in the daemon,
 * the directory cap and the memory bound as /metrics shows them, the download of a file and nothing else. CI runs as
 * root.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
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
import { request } from 'node:http';
import { basename, join } from 'node:path';
import { after, afterEach, describe, test } from 'node:test';
import { forEachPage, openTraceDat } from '../src/sources/tracedat/index.ts';
import { BIN, isRoot, type Json, killLiveRuns, LiveRun, parseJsonLine, runChild } from './live.ts';
import { ServeRun, waitFor } from './serve-helpers.ts';

const skip = !isRoot && 'needs root (CI runs as root)';
const scratch = mkdtempSync(join(process.cwd(), '.lt-flight-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Syscalls on every CPU (pages keep coming), until killed. */
function workload(): ChildProcess[] {
  return [0, 1].map(() =>
    spawn('sh', ['-c', 'while :; do dd if=/dev/zero of=/dev/null bs=4k count=200 2>/dev/null; sleep 0.01; done'], {
      stdio: 'ignore',
    }),
  );
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  assert.ok(m, `no ${name} in /metrics`);
  return Number(m[1]);
}

/** GET as bytes. */
function getBytes(port: number, path: string): Promise<{ status: number; headers: Json; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, path, headers: { Host: `127.0.0.1:${port}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers as Json, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end();
  });
}

describe('flight recorder', { skip }, () => {
  afterEach(killLiveRuns);

  test('a 300 ms sleep: its file reproduces the outlier and covers [start - before, end + after]', async () => {
    const dir = join(scratch, 'sleep');
    const before = 1_000_000_000n;
    const afterNs = 500_000_000n;
    const load = workload();
    try {
      const run = new LiveRun([
        'syscall',
        '--json',
        '-t',
        'syscall=200ms',
        '--flight-recorder',
        dir,
        '--flight-before',
        '1s',
        '--flight-after',
        '500ms',
        '--flight-rate',
        '100/1s',
      ]);
      await run.ready();
      // The trace clock is CLOCK_MONOTONIC, as process.hrtime: the recorder holds nothing older than this.
      const tracingSince = process.hrtime.bigint();
      // The recorder needs a second of history before the outlier's start: let that much time pass.
      const t0 = Date.now();
      while (Date.now() - t0 < 1300) await new Promise((r) => setTimeout(r, 100));
      const child = await runChild('sleep', ['0.3']);
      await run.until(
        () => run.latencies('syscall').some((r) => r.tid === child.pid && r.trace_file !== undefined),
        15_000,
        'the sleep outlier with its trace file',
      );
      const o = run.latencies('syscall').find((r) => r.tid === child.pid && r.trace_file !== undefined) as Json;
      const file = o.trace_file as string;
      assert.equal(join(dir, basename(file)), file);
      // The file is the sleep's own, or that of an earlier outlier whose window holds the whole sleep (shared).
      const owner = run.records.find(
        (r) =>
          r.trace_file === file &&
          basename(file) ===
            `${r.analysis}-${BigInt(r.start_ns as number) / 10n ** 9n}.${String(BigInt(r.start_ns as number) % 10n ** 9n).padStart(9, '0')}-${r.tid}.dat`,
      ) as Json;
      assert.ok(owner, `the outlier ${basename(file)} was written for`);
      await waitFor(async () => (existsSync(file) ? true : undefined), 15_000, `${file} written`);
      const { code } = await run.stop();
      assert.equal(code, 0);
      assert.match(run.stderr, /flight recorder: \d+ files written/);

      // analyze reproduces it: same tid, start, latency.
      const out = execFileSync(process.execPath, [BIN, 'analyze', file, 'syscall', '--json', '-t', 'syscall=200ms'], {
        encoding: 'utf8',
      });
      const again = out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map(parseJsonLine)
        .filter((r) => r.type === 'latency' && r.tid === child.pid);
      assert.ok(
        again.some((r) => r.start_ns === o.start_ns && r.latency_ns === o.latency_ns && r.end_ns === o.end_ns),
        `${JSON.stringify(o)} not in ${JSON.stringify(again)}`,
      );

      // The window of the file's outlier: per CPU at most one page starts before start - before (it holds records
      // from there on), no page starts after end + after, and the pages reach both bounds.
      const from = BigInt(owner.start_ns as number) - before;
      const to = BigInt(owner.end_ns as number) + afterNs;
      assert.ok(from <= BigInt(o.start_ns as number) && BigInt(o.end_ns as number) <= to);
      const src = await openTraceDat(file);
      let min = to;
      let max = from;
      for (const cpu of src.buffers[0].cpus) {
        const ts: bigint[] = [];
        await forEachPage(src, cpu, (b, off) =>
          ts.push(new DataView(b.buffer, b.byteOffset + off).getBigUint64(0, true)),
        );
        assert.ok(
          ts.filter((t) => t < from).length <= 1,
          `cpu${cpu}: ${ts.filter((t) => t < from).length} pages before`,
        );
        assert.ok(
          ts.every((t) => t <= to),
          `cpu${cpu}: a page after the window`,
        );
        for (const t of ts) {
          if (t < min) min = t;
          if (t > max) max = t;
        }
      }
      // A shared file's window may start before the recorder did (a long earlier outlier): it then starts at the
      // recorder's first pages.
      if (from > tracingSince) assert.ok(min < from, `the file reaches back to the window's start (${min} vs ${from})`);
      else assert.ok(min < tracingSince + 1_000_000_000n, `the file starts with the recorder (${min})`);
      assert.ok(max > to - 300_000_000n, `the file reaches the window's end (${max} vs ${to})`);
    } finally {
      for (const c of load) c.kill('SIGKILL');
    }
  });

  test('rate limit: 2 files per hour, 4 sleeps: two get a file, two are counted without one', async () => {
    const dir = join(scratch, 'rate');
    const run = new LiveRun([
      'syscall',
      '--json',
      '-t',
      'syscall=150ms',
      '-c',
      'sleep',
      '--flight-recorder',
      dir,
      '--flight-before',
      '100ms',
      '--flight-after',
      '100ms',
      '--flight-rate',
      '2/1h',
    ]);
    await run.ready();
    const pids: number[] = [];
    for (let i = 0; i < 4; i++) pids.push((await runChild('sleep', ['0.2'])).pid);
    await run.until(
      () => pids.every((p) => run.latencies('syscall').some((r) => r.tid === p)),
      15_000,
      'four sleep outliers',
    );
    const { code } = await run.stop();
    assert.equal(code, 0);
    const mine = pids.map((p) => run.latencies('syscall').find((r) => r.tid === p) as Json);
    assert.deepEqual(
      mine.map((r) => r.trace_file !== undefined),
      [true, true, false, false],
    );
    assert.match(run.stderr, /flight recorder: 2 files written .* 2 got none \(rate limit\)/);
    assert.deepEqual(
      readdirSync(dir).sort(),
      mine
        .slice(0, 2)
        .map((r) => basename(r.trace_file as string))
        .sort(),
    );
  });

  test('serve: trace_file in /api/events, download, directory cap and memory bound in /metrics', async () => {
    const dir = join(scratch, 'serve');
    mkdirSync(dir, { recursive: true });
    const old = ['offcpu-1.000000001-7.dat', 'offcpu-1.000000002-7.dat'];
    for (const [i, name] of old.entries()) {
      writeFileSync(join(dir, name), new Uint8Array(3 << 20));
      utimesSync(join(dir, name), 1000 + i, 1000 + i);
    }
    const load = workload();
    const d = new ServeRun([
      'syscall',
      '--no-stacks',
      '-t',
      'syscall=150ms',
      '--listen',
      '127.0.0.1:0',
      '--flight-recorder',
      dir,
      '--flight-before',
      '200ms',
      '--flight-after',
      '100ms',
      '--flight-rate',
      '1/1h',
      '--flight-memory',
      '8MiB',
      '--flight-dir-max',
      '8MiB',
    ]);
    try {
      await d.ready();
      // An outlier (this sleep, or whichever came first: one file per hour) gets the file.
      await runChild('sleep', ['0.3']);
      const ev = await waitFor(
        async () => {
          const r = await d.getJson('/api/events?analysis=syscall&limit=1000');
          return (r.events as Json[]).find((e) => e.trace_file !== undefined);
        },
        15_000,
        'an outlier with its trace file in /api/events',
      );
      const name = basename(ev.trace_file as string);
      await waitFor(async () => (existsSync(join(dir, name)) ? true : undefined), 15_000, 'the file written');
      // Download: the very bytes, as an attachment.
      const got = await getBytes(d.port, `/api/trace-files/${encodeURIComponent(name)}`);
      assert.equal(got.status, 200);
      assert.equal(got.headers['content-type'], 'application/octet-stream');
      assert.equal(got.headers['content-disposition'], `attachment; filename="${name}"`);
      assert.ok(got.body.equals(readFileSync(join(dir, name))), 'downloaded bytes are the file');
      // Nothing else: traversal, other files in the directory, removed files, odd paths.
      writeFileSync(join(dir, 'secret.txt'), 'no');
      for (const bad of [
        '..%2F..%2F..%2Fetc%2Fpasswd',
        '%2e%2e',
        'secret.txt',
        `..%2F${encodeURIComponent(basename(dir))}%2F${name}`,
        old[0],
        '%E0%A4%A',
      ]) {
        const r = await getBytes(d.port, `/api/trace-files/${bad}`);
        assert.ok(r.status === 404 || r.status === 400, `${bad}: ${r.status}`);
        assert.ok(!r.body.includes('root:'), bad);
      }
      // The cap: the old files plus the new one over 8 MiB: the old ones go, oldest first, until it fits.
      const size = got.body.length;
      let total = 6 * (1 << 20) + size;
      let removed = 0;
      while (total > 8 << 20 && removed < 2) {
        total -= 3 << 20;
        removed++;
      }
      const metrics = (await d.req('GET', '/metrics')).text;
      assert.equal(metric(metrics, 'latency_tracker_flight_files_written_total'), 1);
      assert.equal(metric(metrics, 'latency_tracker_flight_files_removed_total'), removed);
      assert.equal(metric(metrics, 'latency_tracker_flight_dir_bytes'), total);
      assert.deepEqual(
        old.map((n) => existsSync(join(dir, n))),
        old.map((_, i) => i >= removed),
      );
      assert.ok(removed > 0 || size < 2 << 20, `a ${size}-byte file removed ${removed} old ones`);
      // Memory: bounded by --flight-memory, and the ring has wrapped under the workload.
      await waitFor(
        async () => {
          const m = (await d.req('GET', '/metrics')).text;
          return metric(m, 'latency_tracker_flight_pages_evicted_total') > 0 ? m : undefined;
        },
        30_000,
        'the ring to wrap',
      );
      const m = (await d.req('GET', '/metrics')).text;
      assert.equal(metric(m, 'latency_tracker_flight_memory_limit_bytes'), 8 << 20);
      assert.ok(metric(m, 'latency_tracker_flight_memory_bytes') <= 8 << 20);
      assert.ok(metric(m, 'latency_tracker_flight_pages') > 0);
    } finally {
      for (const c of load) c.kill('SIGKILL');
      const { code } = await d.stop();
      assert.equal(code, 0, d.stderr);
    }
  });
});
