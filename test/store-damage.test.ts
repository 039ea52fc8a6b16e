/**
 * A damaged store and a full disk (issue 18, items 4 and 5), with the real `latency-tracker live` and real files:
 * - a write-ahead log whose header was damaged after a SIGKILL is never dropped silently with its committed rows:
 *   the next run refuses in one sentence and leaves both files untouched, `query` says how many rows it cannot read
 *   back, and once the log is moved away the store opens and says once how many rows are gone;
 * - on a full disk (a small tmpfs) the exit line gives the true counts and the reason, and refused starts do not
 *   grow the write-ahead log.
 * CI runs as root.
 */
// test-timeout: 300s
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, describe, test } from 'node:test';
import { BIN, isRoot, killLiveRuns, LiveRun, orphanInstances, runChild } from './live.ts';

const skip = !isRoot && 'needs root (CI runs as root)';
const scratch = mkdtempSync(join(process.cwd(), '.lt-store-damage-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
afterEach(killLiveRuns);

function query(store: string, ...args: string[]) {
  return spawnSync(process.execPath, [BIN, 'query', '--store', store, ...args], { encoding: 'utf8' });
}

function count(store: string): number {
  const r = query(store, '--json', '--sql', 'SELECT count(*) AS n FROM outliers');
  assert.equal(r.status, 0, r.stderr);
  return Number(JSON.parse(r.stdout).n);
}

/** A count from the commit ledger (`<store>.committed`, rewritten after every commit). */
function ledger(store: string, what: 'outliers' | 'profiles' = 'outliers'): number {
  const m = new RegExp(`^${what} (\\d+)$`, 'm').exec(readFileSync(`${store}.committed`, 'utf8'));
  return m === null ? -1 : Number(m[1]);
}

const digest = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a write-ahead log damaged after a SIGKILL', { skip }, () => {
  test('refused in one sentence with both files kept; query says what it cannot read; moved away, said once', async () => {
    const store = join(scratch, 'wal.duckdb');
    const wal = `${store}.wal`;
    const run = new LiveRun(['syscall', '--json', '-t', 'syscall=20ms', '-c', 'sleep', '--store', store]);
    await run.ready();
    for (let i = 0; i < 3; i++) await runChild('sleep', ['0.05']);
    await run.until(() => run.latencies('syscall').length >= 3, 15_000, 'three outliers');
    // Committed (the ledger is written after each commit), not merely queued: then the kill.
    await until(() => existsSync(`${store}.committed`) && ledger(store) >= 3, 15_000, 'the commit');
    run.child.kill('SIGKILL');
    await run.exited;
    const committed = ledger(store);
    assert.ok(committed >= 3 && committed <= run.latencies('syscall').length);
    // A profile snapshot is committed too when the run crossed a minute of the wall clock.
    const snapshots = ledger(store, 'profiles');
    const rows = `${committed} committed outliers${snapshots > 0 ? ` and ${snapshots} committed profile snapshot${snapshots === 1 ? '' : 's'}` : ''}`;
    assert.ok(existsSync(wal), 'the rows are in the log (no checkpoint after a SIGKILL)');
    // The damage: 4 bytes of the log's first entry flipped.
    const bytes = readFileSync(wal);
    for (let i = 4; i < 8; i++) bytes[i] ^= 0xff;
    writeFileSync(wal, bytes);
    const before = { db: digest(store), wal: digest(wal) };

    const next = new LiveRun(['syscall', '-d', '1s', '--store', store]);
    assert.equal((await next.exited).code, 2, next.stderr);
    assert.equal(
      next.stderr,
      `latency-tracker: store ${store}: its write-ahead log ${wal} is damaged, ${rows} in it ` +
        `cannot be read back; both files are left untouched (keep a copy: moving ${wal} away opens the store without those rows)\n`,
    );
    assert.deepEqual({ db: digest(store), wal: digest(wal) }, before, 'both files untouched');

    const q = query(store, 'top');
    assert.equal(q.status, 1, q.stderr);
    assert.equal(
      q.stderr,
      `latency-tracker: store ${store}: ${rows} cannot be read back (its write-ahead log ` +
        `${wal} is damaged or was moved away): the results leave them out\n`,
    );
    assert.deepEqual({ db: digest(store), wal: digest(wal) }, before, 'query changed nothing');

    // The user keeps the log aside: the store opens, says once what is gone, and takes rows again.
    renameSync(wal, `${wal}.damaged`);
    const after1 = new LiveRun(['syscall', '-d', '1s', '--store', store]);
    assert.equal((await after1.exited).code, 0, after1.stderr);
    assert.match(
      after1.stderr,
      new RegExp(
        `store .*wal\\.duckdb: ${rows} are missing \\(its write-ahead log was moved away or damaged\\); going on with the rows it holds\n`,
      ),
    );
    const after2 = new LiveRun(['syscall', '-d', '1s', '--store', store]);
    assert.equal((await after2.exited).code, 0, after2.stderr);
    assert.doesNotMatch(after2.stderr, /missing/);
    assert.equal(query(store, 'top').status, 0);
    assert.deepEqual(orphanInstances(), []);
  });
});

describe('a full disk', { skip }, () => {
  test('the exit line gives the true counts and the reason; refused starts leave the log as it is', async () => {
    const disk = join(scratch, 'tiny');
    mkdirSync(disk);
    assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', disk]).status, 0);
    try {
      const store = join(disk, 'full.duckdb');
      // Every syscall over 1 µs is an outlier: thousands a second, committed every 10 ms, until the disk is full.
      const run = new LiveRun(['syscall', '--json', '-t', '1us', '--store', store, '--flush-interval', '10ms']);
      await run.ready();
      await run.until(() => /outliers are dropped \(counted\) from now on/.test(run.stderr), 120_000, 'a full disk');
      const { code } = await run.stop();
      assert.equal(code, 1, run.stderr);
      const m =
        /store .*full\.duckdb: (\d+) outliers and \d+ profile snapshots written, (\d+) outliers lost \((.*)\)/.exec(
          run.stderr,
        );
      assert.ok(m, run.stderr);
      const written = Number(m[1]);
      assert.ok(written > 0, 'rows were committed before the disk filled up');
      assert.match(m[3], /No space left on device \(the disk is full\)/);
      assert.doesNotMatch(run.stderr, / 0 outliers and/);
      assert.equal(ledger(store), written, 'the exit line counts what was committed');

      // Refused starts: one sentence naming the full disk; the log does not grow.
      const walSize = statSync(`${store}.wal`).size;
      for (let i = 0; i < 3; i++) {
        const again = new LiveRun(['syscall', '-d', '1s', '--store', store]);
        assert.equal((await again.exited).code, 2, again.stderr);
        assert.match(again.stderr, /^latency-tracker: store .*full\.duckdb: .*\(the disk is full\); free some space/);
        assert.equal(again.stderr.trim().split('\n').length, 1, again.stderr);
        assert.equal(statSync(`${store}.wal`).size, walSize, 'a refused start appends nothing to the log');
      }

      // With room again, every row the exit line counted is there.
      const roomy = join(scratch, 'roomy.duckdb');
      copyFileSync(store, roomy);
      copyFileSync(`${store}.wal`, `${roomy}.wal`);
      assert.equal(count(roomy), written);
    } finally {
      spawnSync('umount', [disk]);
    }
    assert.deepEqual(orphanInstances(), []);
  });
});
