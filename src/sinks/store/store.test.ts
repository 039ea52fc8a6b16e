/**
 * The embedded store on real DuckDB files: the queue, restart, retention, open errors (corrupt, locked, read-only
 * directory), and the `query` command (canned reports, --sql, refused writes, --json, Parquet export read back).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { parseContainer } from '../../analyses/container.ts';
import type { OutlierRecord } from '../../analyses/engine.ts';
import { DuckStore, StoreError } from './duck.ts';
import { DUCK_OUTLIER_COLUMNS, DUCK_PROFILE_COLUMNS, type OutlierRow, toRow } from './schema.ts';
import { OutlierStore, type StoreStats } from './store.ts';

const BIN = fileURLToPath(new URL('../../../bin/latency-tracker.js', import.meta.url));
const scratch = mkdtempSync(join(process.cwd(), '.lt-store-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
/**
 * Every store a test opens, closed after the test whatever it asserted: a store left open (its flush timer, its
 * worker) keeps this file from ever exiting, and a failed assertion must fail the test, not hang the suite.
 */
const opened = new Set<{ close(): Promise<unknown> }>();
afterEach(async () => {
  const all = [...opened];
  opened.clear();
  await Promise.allSettled(all.map((s) => s.close()));
});
function keep<S extends { close(): Promise<unknown> }>(s: S): S {
  opened.add(s);
  return s;
}
const openOutlierStore = async (o: Parameters<typeof OutlierStore.open>[0]) => keep(await OutlierStore.open(o));
const openDuckStore = async (o: Parameters<typeof DuckStore.open>[0]) => keep(await DuckStore.open(o));
/** The error opening a store must give; a store that wrongly opens is kept for `afterEach` to close. */
async function openError(o: Parameters<typeof OutlierStore.open>[0]): Promise<Error> {
  const outcome = await OutlierStore.open(o).then(
    (s) => keep(s) && undefined,
    (e: Error) => e,
  );
  assert.ok(outcome instanceof Error, `opening ${o.path} must fail`);
  return outcome;
}
let n = 0;
const fresh = () => join(scratch, `s${++n}.duckdb`);

function outlier(i: number, over: Partial<OutlierRecord> = {}): OutlierRecord {
  return {
    type: 'latency',
    analysis: 'syscall',
    reason: 'threshold',
    start_ns: 1_000_000_000n + BigInt(i) * 1000n,
    end_ns: 1_000_000_000n + BigInt(i) * 1000n + 500n + BigInt(i),
    latency_ns: 500 + i,
    cpu: i % 2,
    tid: 100 + (i % 3),
    pid: 100,
    comm: i % 3 === 0 ? 'mysqld' : 'nginx',
    detail: { syscall: i % 2 === 0 ? 'read' : 'write', id: i % 2 },
    stack: ['schedule+0x1', `do_thing+0x${i.toString(16)}`],
    cgroup: null,
    container: null,
    ...over,
  };
}

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A store with known rows at known wall times: 3 minutes, two analyses, three processes. */
async function reportStore(): Promise<{ path: string; rows: OutlierRow[] }> {
  const path = fresh();
  const s = await openDuckStore({ path });
  const t0 = Date.UTC(2026, 0, 1, 12, 0, 0);
  const rows: OutlierRow[] = [];
  for (let i = 0; i < 90; i++) {
    const o = outlier(
      i,
      i >= 80 ? { analysis: 'wakeup', detail: { waker_tid: 1, waker_comm: 'k' }, stack: undefined } : {},
    );
    rows.push(toRow(o, 'h1', t0 + Math.floor(i / 30) * 60_000 + (i % 30) * 1000));
  }
  s.appendOutliers(rows);
  s.appendProfiles([
    {
      seq: 0n,
      timeMs: t0 + 60_000,
      startMs: t0,
      host: 'h1',
      analysis: 'syscall',
      count: 100,
      min_ns: 100,
      max_ns: 5000,
      sum_ns: 50_000n,
      p50_ns: 100,
      p90_ns: 100,
      p99_ns: 5000,
      p999_ns: 5000,
      outliers: 30,
      over_threshold: 30,
      timeouts: 0,
      bucket_ns: [100, 5000],
      bucket_counts: [98, 2],
      hdr: 'x',
    },
  ]);
  await s.close();
  return { path, rows };
}

describe('OutlierStore', () => {
  test('every field lands; restart keeps the rows; history pages by end_ns', async () => {
    const path = fresh();
    const s = await openOutlierStore({ path, clock: 'now' });
    for (let i = 0; i < 10; i++) s.add(outlier(i), 'host-a');
    const early = await s.query({ limit: 100 });
    assert.equal(early.length, 10, 'query sees what was queued before it');
    const st = await s.close();
    assert.equal(st.written, 10);
    assert.equal(st.dropped, 0);

    const again = await openOutlierStore({ path, clock: 'now' });
    again.add(outlier(10, { analysis: 'wakeup', detail: { waker_tid: 7, waker_comm: 'kworker/0:1' } }), 'host-a');
    // The OutlierHistory contract (the same as RingHistory's): the newest `limit` that match, newest first.
    const all = await again.query({ limit: 100 });
    assert.equal(all.length, 11);
    assert.deepEqual(all[10 - 3], outlier(3));
    const newest = await again.query({ limit: 2 });
    assert.deepEqual(
      newest.map((r) => r.latency_ns),
      [510, 509],
    );
    const after5 = await again.query({ limit: 3, since: outlier(5).end_ns });
    assert.deepEqual(
      after5.map((r) => r.latency_ns),
      [510, 509, 508],
    );
    const after8 = await again.query({ limit: 10, since: outlier(8).end_ns });
    assert.deepEqual(
      after8.map((r) => r.latency_ns),
      [510, 509],
    );
    const wake = await again.query({ limit: 10, analysis: 'wakeup' });
    assert.equal(wake.length, 1);
    assert.deepEqual(wake[0].detail, { waker_tid: 7, waker_comm: 'kworker/0:1' });
    await again.close();
  });

  test('bounded: beyond maxQueued outliers are dropped and counted, never buffered', async () => {
    const s = await openOutlierStore({ path: fresh(), maxQueued: 100, clock: 'now' });
    for (let i = 0; i < 1000; i++) s.add(outlier(i), 'h');
    const st = await s.close();
    assert.equal(st.written + st.dropped, 1000);
    assert.equal(st.written, 100);
    assert.equal(st.dropped, 900);
  });

  test('an unflushed queue is written by close (what SIGTERM does)', async () => {
    const path = fresh();
    const s = await openOutlierStore({ path, flushIntervalMs: 60_000, clock: 'now' });
    for (let i = 0; i < 50; i++) s.add(outlier(i), 'h');
    assert.equal((await s.stats()).written, 0, 'nothing committed before the interval');
    assert.equal((await s.close()).written, 50);
    const r = await openDuckStore({ path, readOnly: true });
    assert.equal((await r.history({ limit: 1000 })).length, 50);
    r.closeNow();
  });

  test('a damaged block that fails the final checkpoint: the true counts and the reason, not "0 written"', async () => {
    // A store of 1711 rows, then each 256 KiB block in turn damaged (8 bytes flipped) until one lets the store open
    // and take rows but fails the checkpoint at close (which block holds what is DuckDB's business).
    const base = fresh();
    const b = await openDuckStore({ path: base });
    b.appendOutliers(Array.from({ length: 1711 }, (_, i) => toRow(outlier(i), 'h', Date.now())));
    await b.close();
    const size = statSync(base).size;
    let failed: StoreStats | undefined;
    for (let at = 12288 + 8; at < size && failed === undefined; at += 262_144) {
      const path = fresh();
      const bytes = readFileSync(base);
      for (let i = at; i < at + 8; i++) bytes[i] ^= 0xff;
      writeFileSync(path, bytes);
      const s = await OutlierStore.open({ path, clock: 'now' }).catch(() => undefined);
      if (s === undefined) continue;
      keep(s);
      for (let i = 0; i < 50; i++) s.add(outlier(i), 'h');
      const st = await s.close();
      if (st.closeFailed !== null) failed = st;
    }
    assert.ok(failed, 'one of the damaged blocks fails the checkpoint at close');
    assert.equal(failed.written, 50, 'the rows committed before the failed close');
    assert.equal(failed.failed, null, 'every append went through');
    assert.match(String(failed.closeFailed), /^checkpoint failed: .*checksum/);
  });

  test('retention by age deletes old rows (outliers and snapshots)', async () => {
    const path = fresh();
    const s = await openDuckStore({ path, retentionDays: 1 });
    const now = Date.now();
    s.appendOutliers([toRow(outlier(1), 'h', now - 3 * 86_400_000), toRow(outlier(2), 'h', now - 1000)]);
    const r = await s.retention(now);
    assert.equal(r.outliers, 1);
    assert.deepEqual(
      (await s.history({ limit: 10 })).map((o) => o.latency_ns),
      [502],
    );
    await s.close();
  });

  test('retention by size keeps the data under the limit, oldest first, and never reuses a seq', async () => {
    const path = fresh();
    // DuckDB frees space per row group (8192 rows, here ~0.3 MiB): the limit is well above one.
    const limit = 2 * 1024 * 1024;
    const s = await openDuckStore({ path, retentionBytes: limit });
    const now = Date.now();
    // Random stacks do not compress: ~35 bytes per row.
    const rows: OutlierRow[] = [];
    for (let i = 0; i < 120_000; i++) {
      const o = outlier(i, { stack: [Math.random().toString(36), Math.random().toString(36)] });
      rows.push(toRow(o, 'h', now));
    }
    const last = s.appendOutliers(rows);
    const before = await s.dataBytes();
    assert.ok(before > limit, `data ${before} above the limit`);
    const r = await s.retention(now);
    assert.ok(r.outliers > 0);
    assert.ok(r.bytes <= limit, `after retention ${r.bytes} <= ${limit}`);
    const kept = await s.rows<{ lo: bigint; hi: bigint; n: bigint }>(
      'SELECT min(seq) AS lo, max(seq) AS hi, count(*) AS n FROM outliers',
    );
    assert.equal(kept[0].hi, last, 'the newest rows are kept');
    assert.equal(Number(kept[0].n), 120_000 - r.outliers);
    await s.close();
    // Emptied by age retention (three days later), the store still never reuses a seq.
    const again = await openDuckStore({ path, retentionDays: 1 });
    await again.retention(now + 3 * 86_400_000);
    assert.equal((await again.history({ limit: 10 })).length, 0);
    await again.close();
    const third = await openDuckStore({ path });
    const next = third.appendOutliers([toRow(outlier(0), 'h', now)]);
    assert.equal(next, last + 1n);
    await third.close();
  });

  test('a file that is not a DuckDB database: one clear sentence', async () => {
    const path = fresh();
    writeFileSync(path, 'this is not a database'.repeat(1000));
    const e = await openError({ path });
    assert.ok(e instanceof StoreError);
    assert.equal(
      e.message,
      `store ${path} is not a readable DuckDB database (corrupt, or another kind of file): move it away or choose another path`,
    );
    const q = cli(['query', '--store', path]);
    assert.equal(q.code, 2);
    assert.equal(q.stderr.split('\n').length, 2, q.stderr);
    assert.match(q.stderr, /^latency-tracker: store .* is not a readable DuckDB database/);
  });

  test('a DuckDB file that is not a store is refused', async () => {
    const path = fresh();
    const db = await DuckDBInstance.create(path);
    const c = await db.connect();
    await c.run('CREATE TABLE t (a INTEGER)');
    c.closeSync();
    db.closeSync();
    const q = cli(['query', '--store', path]);
    assert.equal(q.code, 2);
    assert.equal(q.stderr, `latency-tracker: store ${path} is a DuckDB database but not a latency-tracker store\n`);
  });

  test('a store locked by another process: one clear sentence naming the process', async () => {
    const path = fresh();
    (await DuckStore.open({ path })).closeNow();
    // The holder keeps its instance and connection referenced: a collected instance releases the lock.
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `import('@duckdb/node-api').then(async (m) => { const db = await m.DuckDBInstance.create(${JSON.stringify(path)}); globalThis.held = [db, await db.connect()]; process.stdout.write('held\\n'); setInterval(() => {}, 1000); })`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'], cwd: process.cwd() },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout?.once('data', () => resolve());
        holder.once('exit', (code) => reject(new Error(`the lock holder exited (${code}) before holding the store`)));
      });
      const outcome = await openError({ path });
      assert.equal(
        outcome.message,
        `store ${path} is in use by another process (pid ${holder.pid}, ${process.execPath}): one process at a time can open it`,
      );
      const q = cli(['query', '--store', path]);
      assert.equal(q.code, 2);
      assert.match(
        q.stderr,
        new RegExp(`^latency-tracker: store .* is in use by another process \\(pid ${holder.pid}`),
      );
    } finally {
      holder.kill('SIGKILL');
    }
  });

  test('a store in a read-only directory: one clear sentence', async (t) => {
    const dir = join(scratch, 'ro');
    mkdirSync(dir);
    const root = process.getuid?.() === 0;
    if (root) {
      const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', dir]);
      if (m.status !== 0) return t.skip('cannot mount a read-only tmpfs here');
    } else {
      spawnSync('chmod', ['0555', dir]);
    }
    try {
      const path = join(dir, 'x.duckdb');
      assert.match(
        (await openError({ path })).message,
        /^cannot write store .*\/ro\/x\.duckdb: .*\/ro is not writable \((read-only file system|permission denied)\)$/,
      );
      assert.equal(existsSync(path), false);
    } finally {
      if (root) spawnSync('umount', [dir]);
    }
  });
});

describe('cgroups in the store (issue 15)', () => {
  const SVC = '/system.slice/mariadb.service';
  const POD =
    '/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod55c6c714_b240_4dec_9a45_57b61696ab6e.slice/cri-containerd-2032491dcae31e6746f47daa0ac74564f2843a1bd847c5e6c4eb501ca132ac36.scope';
  const withCgroup = (i: number, path: string | null, throttled = 0): OutlierRecord =>
    outlier(i, {
      cgroup: path,
      container: parseContainer(path),
      ...(throttled > 0
        ? { throttle: { cgroup: path ?? '/', nr_throttled: 2, throttled_ns: throttled, from_ns: 1n, to_ns: 2n } }
        : {}),
    });

  test('cgroup, container, throttling land and come back; history filters by cgroup and its descendants', async () => {
    const s = await openOutlierStore({ path: fresh(), clock: 'now' });
    s.add(withCgroup(0, SVC, 5_000_000), 'h');
    s.add(withCgroup(1, `${SVC}/worker`), 'h');
    s.add(withCgroup(2, `${SVC}x`), 'h');
    s.add(withCgroup(3, POD), 'h');
    s.add(withCgroup(4, null), 'h');
    const all = await s.query({ limit: 10 });
    assert.deepEqual(all[4], withCgroup(0, SVC, 5_000_000));
    assert.deepEqual(all[1].container?.pod_uid, '55c6c714-b240-4dec-9a45-57b61696ab6e');
    const svc = await s.query({ limit: 10, cgroup: SVC });
    assert.deepEqual(
      svc.map((r) => r.cgroup),
      [`${SVC}/worker`, SVC],
    );
    assert.equal((await s.query({ limit: 10, cgroup: '/' })).length, 4);
    assert.equal((await s.query({ limit: 10, cgroup: "/x' OR 1=1 --" })).length, 0);
    await s.close();
  });

  test('the cgroups report: worst cgroups per analysis with unit, container, pod and throttling', async () => {
    const path = fresh();
    const d = await openDuckStore({ path });
    d.appendOutliers([
      toRow(withCgroup(0, SVC, 3_000_000), 'h', 1),
      toRow(withCgroup(2, SVC), 'h', 2),
      toRow(withCgroup(4, POD), 'h', 3),
      toRow(withCgroup(6, null), 'h', 4),
    ]);
    await d.close();
    const r = cli(['query', 'cgroups', '--store', path, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      rows.map((x) => [x.cgroup, x.unit, x.container, x.outliers, x.throttled]),
      [
        [SVC, 'mariadb.service', null, 2, 1],
        [POD, POD.split('/').pop(), 'containerd:2032491dcae3', 1, 0],
      ],
    );
    assert.equal(rows[0].throttled_total_ns, 3_000_000);
  });

  test('a store made before the cgroup columns gets them when opened, and keeps its rows', async () => {
    const path = fresh();
    const db = await DuckDBInstance.create(path);
    const c = await db.connect();
    await c.run(`CREATE TABLE outliers (${DUCK_OUTLIER_COLUMNS.slice(0, 15).join(', ')})`);
    await c.run(`CREATE TABLE profiles (${DUCK_PROFILE_COLUMNS.join(', ')})`);
    await c.run('CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)');
    await c.run("INSERT INTO meta VALUES ('schema_version', '1')");
    await c.run(
      "INSERT INTO outliers VALUES (1, now()::TIMESTAMP, 'h', 'syscall', 'threshold', 1, 2, 1, 0, 5, 5, 'x', 'read', '{}', NULL)",
    );
    c.closeSync();
    db.closeSync();
    const s = await openOutlierStore({ path, clock: 'now' });
    s.add(withCgroup(1, SVC), 'h');
    const back = await s.query({ limit: 10 });
    assert.deepEqual(
      back.map((r) => r.cgroup),
      [null, SVC].sort((a, b) => (a === null ? 1 : b === null ? -1 : 0)),
    );
    await s.close();
  });
});

describe('query', () => {
  test('canned reports over a real store', async () => {
    const { path } = await reportStore();
    const top = cli(['query', 'top', '--store', path, '--limit', '3']);
    assert.equal(top.code, 0, top.stderr);
    const lines = top.stdout.trimEnd().split('\n');
    assert.match(lines[0], /^Top outliers/);
    assert.match(lines[1], /^time\s+analysis\s+subject\s+comm\s+tid\s+reason\s+latency_ns$/);
    assert.equal(lines.length, 5);
    assert.match(lines[2], /^2026-01-01 12:02:29\s+wakeup\s+-\s+nginx\s+102\s+threshold\s+589ns$/);

    const procs = cli(['query', 'processes', '--store', path, '--json']);
    const pr = procs.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const sys = pr.filter((r) => r.analysis === 'syscall');
    assert.deepEqual(
      sys.map((r) => [r.comm, r.outliers]),
      [
        ['nginx', 53],
        ['mysqld', 27],
      ],
    );
    assert.equal(sys[0].type, 'processes');
    assert.equal(sys[0].max_ns, 579);

    const p99 = cli(['query', 'p99', '--store', path, '--json']);
    const pp = p99.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    // Minutes 0 and 1 are all syscalls (30 each: 15 read, 15 write); minute 2 has 20 syscalls.
    assert.deepEqual(
      pp.map((r) => [r.time, r.subject, r.outliers]),
      [
        ['2026-01-01T12:00:00.000Z', 'write', 15],
        ['2026-01-01T12:00:00.000Z', 'read', 15],
        ['2026-01-01T12:01:00.000Z', 'write', 15],
        ['2026-01-01T12:01:00.000Z', 'read', 15],
        ['2026-01-01T12:02:00.000Z', 'write', 10],
        ['2026-01-01T12:02:00.000Z', 'read', 10],
      ],
    );
    assert.equal(pp[0].p99_ns, 529);

    const rate = cli(['query', 'rate', '--store', path, '--json']);
    assert.deepEqual(
      rate.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .map((r) => [r.time.slice(11, 16), r.analysis, r.outliers]),
      [
        ['12:00', 'syscall', 30],
        ['12:01', 'syscall', 30],
        ['12:02', 'syscall', 20],
        ['12:02', 'wakeup', 10],
      ],
    );

    const prof = cli(['query', 'profiles', '--store', path, '--json']);
    const pf = JSON.parse(prof.stdout.trim());
    assert.deepEqual([pf.analysis, pf.pairs, pf.p50_ns, pf.p99_ns, pf.max_ns], ['syscall', 100, 100, 5000, 5000]);

    const filtered = cli(['query', 'top', '--store', path, '--analysis', 'wakeup', '--json', '--limit', '100']);
    assert.equal(filtered.stdout.trim().split('\n').length, 10);
  });

  test('--sql runs one read-only statement; writes are refused with one line', async () => {
    const { path } = await reportStore();
    const ok = cli([
      'query',
      '--store',
      path,
      '--sql',
      'SELECT analysis, count(*) AS n FROM outliers GROUP BY 1 ORDER BY 1',
      '--json',
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, '{"type":"row","analysis":"syscall","n":80}\n{"type":"row","analysis":"wakeup","n":10}\n');
    const table = cli(['query', '--store', path, '--sql', 'SELECT max(end_ns) AS e FROM outliers']);
    assert.equal(table.stdout, `         e\n${1_000_000_000 + 89 * 1000 + 500 + 89}\n`);
    for (const [sql, kind] of [
      ['DELETE FROM outliers', 'DELETE'],
      ['INSERT INTO meta VALUES (1, 2)', 'INSERT'],
      ['DROP TABLE outliers', 'DROP'],
      ["COPY outliers TO '/tmp/x.csv'", 'COPY'],
      ["ATTACH '/tmp/other.duckdb'", 'ATTACH'],
    ]) {
      const r = cli(['query', '--store', path, '--sql', sql]);
      assert.equal(r.code, 2, sql);
      assert.equal(
        r.stderr,
        `latency-tracker: --sql: the store is opened read-only; ${kind} statements are refused (use SELECT)\n`,
      );
    }
    const two = cli(['query', '--store', path, '--sql', 'SELECT 1; DELETE FROM outliers']);
    assert.equal(two.code, 2);
    assert.equal(two.stderr, 'latency-tracker: --sql: give exactly one statement (got 2)\n');
    const bad = cli(['query', '--store', path, '--sql', 'SELEC nothing']);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.split('\n').length, 2);
    assert.match(bad.stderr, /^latency-tracker: --sql: Parser Error: syntax error/);
    const count = cli(['query', '--store', path, '--sql', 'SELECT count(*) AS n FROM outliers', '--json']);
    assert.equal(count.stdout, '{"type":"row","n":90}\n', 'nothing was deleted');
  });

  test('--parquet exports the outliers (or a query) and DuckDB reads them back', async () => {
    const { path, rows } = await reportStore();
    const out = join(scratch, 'out.parquet');
    const r = cli(['query', '--store', path, '--parquet', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, `latency-tracker: wrote 90 rows to ${out}\n`);
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    const back = (
      await c.runAndReadAll(`SELECT seq, end_ns, comm, stack, detail FROM read_parquet('${out}') ORDER BY seq`)
    ).getRowObjectsJS();
    assert.equal(back.length, 90);
    assert.equal(back[5].end_ns, rows[5].end_ns);
    assert.deepEqual(back[5].stack, rows[5].stack);
    assert.equal(back[5].detail, rows[5].detail);
    const out2 = join(scratch, 'q.parquet');
    const q = cli([
      'query',
      '--store',
      path,
      '--sql',
      'SELECT comm, count(*) AS n FROM outliers GROUP BY comm',
      '--parquet',
      out2,
    ]);
    assert.equal(q.code, 0, q.stderr);
    const agg = (await c.runAndReadAll(`SELECT sum(n) AS t FROM read_parquet('${out2}')`)).getRowObjectsJS();
    assert.equal(agg[0].t, 90n);
    c.closeSync();
    db.closeSync();
  });

  test('bad arguments: one line, exit 2', () => {
    for (const [args, msg] of [
      [['query', 'nope'], "unknown report 'nope' (one of top, processes, cgroups, p99, rate, profiles)"],
      [['query', '--limit', 'x'], "--limit: 'x' is not a positive integer"],
      [['query', '--analysis', 'foo'], "--analysis: unknown analysis 'foo'"],
      [
        ['query', '--store', join(scratch, 'missing.duckdb')],
        `store ${join(scratch, 'missing.duckdb')} does not exist`,
      ],
    ] as [string[], string][]) {
      const r = cli(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.ok(r.stderr.startsWith(`latency-tracker: ${msg}`), r.stderr);
      assert.equal(r.stderr.split('\n').length, 2);
    }
  });
});
