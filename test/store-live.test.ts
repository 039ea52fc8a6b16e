/**
 * `live --store` end to end (issue 7): a provoked latency lands in DuckDB with every field of its JSON Lines record;
 * a second run on the same store keeps the first run's rows; SIGTERM flushes what is queued; SIGKILL loses at most
 * the flush interval and the file opens cleanly afterwards; bad stores are one-line errors with nothing left
 * behind. CI runs as root.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isRoot, type Json, LiveRun, orphanInstances, parseJsonLine, runChild } from './live.ts';

const BIN = fileURLToPath(new URL('../bin/latency-tracker.js', import.meta.url));
const skip = !isRoot && 'needs root (CI runs as root)';
const scratch = mkdtempSync(join(process.cwd(), '.lt-store-live-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function query(store: string, ...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, 'query', '--store', store, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every stored outlier as its JSON Lines record (read back through `query --sql`). */
function stored(store: string): Json[] {
  const r = query(
    store,
    '--json',
    '--sql',
    'SELECT analysis, reason, start_ns, end_ns, latency_ns, cpu, tid, pid, comm, detail, stack, host, subject FROM outliers ORDER BY seq',
  );
  assert.equal(r.code, 0, r.stderr);
  return r.stdout
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map(parseJsonLine);
}

const sameOutlier = (a: Json, b: Json) => a.start_ns === b.start_ns && a.end_ns === b.end_ns && a.tid === b.tid;

describe('live --store', { skip }, () => {
  const store = join(scratch, 'live.duckdb');

  test('a provoked latency lands with every field; SIGTERM flushes; a second run keeps the first', async () => {
    // A long flush interval: only the flush at SIGTERM can have written the rows.
    const run = new LiveRun([
      'syscall',
      '--json',
      '-t',
      'syscall=50ms',
      '--stacks',
      '-c',
      'sleep',
      '--store',
      store,
      '--flush-interval',
      '60s',
    ]);
    await run.ready();
    const child = await runChild('sleep', ['0.2']);
    await run.until(() => run.latencies('syscall').some((r) => r.tid === child.pid), 10_000, 'the sleep outlier');
    run.child.kill('SIGTERM');
    const { code } = await run.exited;
    assert.equal(code, 0, run.stderr);
    assert.match(run.stderr, /store .*live\.duckdb: \d+ outliers and \d+ profile snapshots written/);
    const printed = run.latencies('syscall');
    const rows = stored(store);
    assert.equal(rows.length, printed.length);
    for (const p of printed) {
      const r = rows.find((x) => sameOutlier(x, p));
      assert.ok(r, `outlier ${p.start_ns} stored`);
      // Every field of the JSON Lines record, detail and stack included, plus host and subject.
      for (const k of ['analysis', 'reason', 'start_ns', 'end_ns', 'latency_ns', 'cpu', 'tid', 'pid', 'comm']) {
        assert.equal(r[k], p[k], k);
      }
      assert.deepEqual(parseJsonLine(String(r.detail)), p.detail);
      assert.deepEqual(r.stack, p.stack ?? null);
      assert.equal(r.subject, (p.detail as Json).syscall);
      assert.equal(typeof r.host, 'string');
    }
    const mine = rows.find((r) => r.tid === child.pid) as Json;
    assert.ok((mine.stack as string[]).length > 2, 'stack stored');
    const lat = Number(mine.latency_ns);
    assert.ok(lat >= 200e6 && lat < 2e9, `latency ${lat}`);
    // A profile snapshot of the run (taken at exit) counts the pairs.
    const prof = query(store, '--json', '--sql', "SELECT sum(count) AS pairs FROM profiles WHERE analysis = 'syscall'");
    assert.ok(Number(JSON.parse(prof.stdout).pairs) >= printed.length, prof.stdout);

    // Restart: a second run appends to the same store; the first run's rows are still there.
    const again = new LiveRun(['syscall', '--json', '-t', 'syscall=50ms', '-c', 'sleep', '--store', store]);
    await again.ready();
    const second = await runChild('sleep', ['0.1']);
    await again.until(() => again.latencies('syscall').some((r) => r.tid === second.pid), 10_000, 'the 2nd outlier');
    assert.equal((await again.stop()).code, 0, again.stderr);
    const all = stored(store);
    assert.equal(all.length, printed.length + again.latencies('syscall').length);
    assert.ok(all.some((r) => r.tid === child.pid) && all.some((r) => r.tid === second.pid));

    // The canned reports read it.
    const top = query(store, 'top', '--limit', '1', '--json');
    assert.equal(top.code, 0, top.stderr);
    const slowest = parseJsonLine(top.stdout.trim());
    const max = all.reduce((m, r) => Math.max(m, Number(r.latency_ns)), 0);
    assert.equal(slowest.type, 'top');
    assert.equal(slowest.latency_ns, max);
    assert.equal(slowest.comm, 'sleep');
  });

  test('SIGKILL loses at most the flush interval; the file opens cleanly afterwards', async () => {
    const killed = join(scratch, 'killed.duckdb');
    const run = new LiveRun(['syscall', '--json', '-t', 'syscall=50ms', '-c', 'sleep', '--store', killed]);
    await run.ready();
    const first = await runChild('sleep', ['0.1']);
    await run.until(() => run.latencies('syscall').some((r) => r.tid === first.pid), 10_000, 'the first outlier');
    // The guarantee under test is about time: outliers older than the flush interval (1 s) are committed.
    await new Promise((r) => setTimeout(r, 1500));
    const last = await runChild('sleep', ['0.1']);
    await run.until(() => run.latencies('syscall').some((r) => r.tid === last.pid), 10_000, 'the last outlier');
    run.child.kill('SIGKILL');
    assert.equal((await run.exited).signal, 'SIGKILL');
    const rows = stored(killed);
    assert.ok(
      rows.some((r) => r.tid === first.pid),
      'the outlier printed more than one flush interval before the kill is in the store',
    );
    for (const r of rows)
      assert.ok(
        run.latencies('syscall').some((p) => sameOutlier(r, p)),
        'nothing invented',
      );
    // The killed run left its tracefs instance; the next run sweeps it. The store takes new rows.
    const next = new LiveRun(['syscall', '--json', '-t', 'syscall=50ms', '-c', 'sleep', '--store', killed, '-d', '2s']);
    await next.ready();
    const third = await runChild('sleep', ['0.1']);
    assert.equal((await next.exited).code, 0, next.stderr);
    assert.ok(stored(killed).some((r) => r.tid === third.pid));
    assert.deepEqual(orphanInstances(), []);
  });

  test('bad stores: read-only directory, not a database, locked — one line, exit 2, nothing left behind', async () => {
    const ro = join(scratch, 'ro');
    mkdirSync(ro);
    assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro]).status, 0);
    try {
      const r = new LiveRun(['syscall', '-d', '1s', '--store', join(ro, 'x.duckdb')]);
      assert.equal((await r.exited).code, 2);
      assert.equal(
        r.stderr,
        `latency-tracker: cannot write store ${join(ro, 'x.duckdb')}: ${ro} is not writable (read-only file system)\n`,
      );
    } finally {
      spawnSync('umount', [ro]);
    }
    const junk = join(scratch, 'junk.duckdb');
    writeFileSync(junk, 'not a database at all\n'.repeat(500));
    const j = new LiveRun(['syscall', '-d', '1s', '--store', junk]);
    assert.equal((await j.exited).code, 2);
    assert.equal(
      j.stderr,
      `latency-tracker: store ${junk} is not a readable DuckDB database (corrupt, or another kind of file): move it away or choose another path\n`,
    );
    const holder = new LiveRun(['syscall', '--json', '--store', store]);
    try {
      await holder.ready();
      const l = new LiveRun(['syscall', '-d', '1s', '--store', store]);
      assert.equal((await l.exited).code, 2);
      assert.match(
        l.stderr,
        new RegExp(
          `^latency-tracker: store .* is in use by another process \\(pid ${holder.child.pid}, .*\\): one process at a time can open it\\n$`,
        ),
      );
    } finally {
      await holder.stop();
    }
    assert.deepEqual(orphanInstances(), []);
  });

  test('store options: bad values are one-line usage errors', async () => {
    for (const [args, msg] of [
      [['--store', store, '--retention-days', 'x'], "--retention-days: 'x' is not a number of days (0 = keep forever)"],
      [
        ['--store', store, '--retention-size', '12Q'],
        "--retention-size: '12Q' is not a size (use e.g. 500M, 2G; 0 = no limit)",
      ],
      [['--store', store, '--flush-interval', '5ms'], "--flush-interval: '5ms' is out of range (10ms .. 1m)"],
      [['--retention-days', '3'], '--retention-days needs --store PATH or --clickhouse URL'],
      [
        ['--store', store, '--clickhouse', 'http://x', '--clickhouse-database', 'a;b'],
        "--clickhouse-database: 'a;b' is not a plain name (letters, digits, _)",
      ],
    ] as [string[], string][]) {
      const r = new LiveRun(['syscall', ...args]);
      assert.equal((await r.exited).code, 2, args.join(' '));
      assert.equal(r.stderr, `latency-tracker: ${msg}\n`);
    }
  });
});
