// test-timeout: 400s
/**
 * `latency-tracker record` on the live kernel (issue 16): a 2-second recording under a workload is read by
 * trace-cmd 3.1.6 (`report -R`) with the same per-event counts as our `dump`, in versions 6 and 7; `analyze` of the
 * file reports exactly the outliers and summaries the recording run printed; Ctrl-C ends cleanly with a valid file;
 * a recording killed with SIGKILL leaves a file both readers read to its last committed page. CI runs as root.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, describe, test } from 'node:test';
import { resolvePaths } from '../src/paths.ts';
import { sweepStale } from '../src/sources/tracefs/instance.ts';
import { BIN, isRoot, type Json, killLiveRuns, LiveRun, parseJsonLine } from './live.ts';

const hasTraceCmd = spawnSync('trace-cmd', ['--version'], { stdio: 'ignore' }).status !== null;
const skip = !isRoot ? 'needs root (CI runs as root)' : !hasTraceCmd && 'needs trace-cmd (prepare.sh)';
const scratch = mkdtempSync(join(process.cwd(), '.lt-record-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A workload of syscalls and short sleeps (outliers for syscall, offcpu and wakeup), until killed. */
function workload(): ChildProcess {
  return spawn('sh', ['-c', 'while :; do sleep 0.02; dd if=/dev/zero of=/dev/null bs=4k count=500 2>/dev/null; done'], {
    stdio: 'ignore',
    detached: false,
  });
}

/** Events per name in `trace-cmd report -R` or `dump` output (`... [CPU] TIME: EVENT: ...`). */
function eventCounts(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    const r = /\[\d{3}\]\s+\d+\.\d+: ([\w]+):/.exec(line);
    if (r !== null) m.set(r[1], (m.get(r[1]) ?? 0) + 1);
  }
  return new Map([...m].sort((a, b) => a[0].localeCompare(b[0])));
}

function traceCmdCounts(file: string): Map<string, number> {
  const r = spawnSync('trace-cmd', ['report', '-R', file], { encoding: 'utf8', maxBuffer: 1 << 30 });
  assert.equal(r.status, 0, r.stderr);
  return eventCounts(r.stdout);
}

function dumpCounts(file: string): Map<string, number> {
  const r = spawnSync(process.execPath, [BIN, 'dump', file], { encoding: 'utf8', maxBuffer: 1 << 30 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '', 'dump reads the file without complaint');
  return eventCounts(r.stdout);
}

function total(m: Map<string, number>): number {
  return [...m.values()].reduce((a, b) => a + b, 0);
}

/** What must be equal between the live run and the file analysis (comm and pid come from /proc vs the file). */
function latencyKey(r: Json): string {
  const detail = Object.entries(r.detail as Json)
    .filter(([k]) => !k.endsWith('comm'))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return [r.analysis, r.reason, r.tid, r.cpu, r.start_ns, r.end_ns, r.latency_ns, detail].join(' ');
}

function analyzeFile(file: string, args: string[]): Json[] {
  const out = execFileSync(process.execPath, [BIN, 'analyze', file, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map(parseJsonLine);
}

function instanceGone(pid: number | undefined): boolean {
  return !existsSync(`/sys/kernel/tracing/instances/latency-tracker-${pid}`);
}

describe('record', { skip }, () => {
  afterEach(killLiveRuns);

  for (const version of [6, 7] as const) {
    test(`v${version}: trace-cmd reads what dump reads; analyze gives the recording run's own results`, async () => {
      const file = join(scratch, `run-v${version}.dat`);
      const args = ['syscall', 'offcpu', 'wakeup', '--json', '--summary', '-t', '5ms'];
      const w = workload();
      try {
        const run = new LiveRun([...args, '-o', file, '-d', '2s', '--file-version', String(version)], 'record');
        await run.ready();
        const { code } = await run.exited;
        assert.equal(code, 0, run.stderr);
        assert.match(run.stderr, new RegExp(`wrote .*run-v${version}\\.dat: trace\\.dat v${version}, \\d+ pages`));
        assert.ok(instanceGone(run.child.pid), 'instance removed');

        const theirs = traceCmdCounts(file);
        const ours = dumpCounts(file);
        assert.deepEqual(ours, theirs);
        assert.ok(total(ours) > 10_000, `${total(ours)} events`);
        for (const e of ['sys_enter', 'sys_exit', 'sched_switch', 'sched_waking']) assert.ok(ours.get(e), e);

        const mine = run.records.filter((r) => r.type === 'latency');
        const again = analyzeFile(file, args);
        assert.ok(mine.length >= 5, `${mine.length} outliers while recording`);
        assert.deepEqual(
          again.filter((r) => r.type === 'latency').map(latencyKey),
          mine.map(latencyKey),
          'the same outliers',
        );
        const sums = (rs: Json[]) => rs.filter((r) => r.type === 'summary');
        assert.deepEqual(sums(again), sums(run.records), 'the same summaries');
      } finally {
        w.kill('SIGKILL');
      }
    });
  }

  test('Ctrl-C ends cleanly: exit 0, a valid v7 zlib file, no instance left', async () => {
    const file = join(scratch, 'ctrl-c.dat');
    const w = workload();
    try {
      const run = new LiveRun(['syscall', '-o', file, '--file-version', '7', '--compress', 'zlib'], 'record');
      await run.ready();
      const size0 = statSync(file).size;
      const deadline = Date.now() + 20_000;
      while (statSync(file).size < size0 + 256 * 1024 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      const { code } = await run.stop();
      assert.equal(code, 0, run.stderr);
      assert.ok(instanceGone(run.child.pid), 'instance removed');
      const counts = dumpCounts(file);
      assert.ok((counts.get('sys_enter') ?? 0) > 100, JSON.stringify([...counts]));
      const dump = spawnSync(process.execPath, [BIN, 'analyze', file, 'syscall', '--json', '--summary'], {
        encoding: 'utf8',
      });
      assert.equal(dump.status, 0, dump.stderr);
      // Debian's trace-cmd reads zstd only (trace-cmd list -c); where it has zlib, it must agree.
      if (/\bzlib\b/.test(spawnSync('trace-cmd', ['list', '-c'], { encoding: 'utf8' }).stdout)) {
        assert.deepEqual(traceCmdCounts(file), counts);
      }
    } finally {
      w.kill('SIGKILL');
    }
  });

  for (const version of [6, 7] as const) {
    test(`v${version}: after SIGKILL the file is read by trace-cmd and by us, to its last committed page`, async () => {
      const file = join(scratch, `killed-v${version}.dat`);
      const w = workload();
      try {
        const run = new LiveRun(['syscall', 'offcpu', '-o', file, '--file-version', String(version)], 'record');
        await run.ready();
        const size0 = statSync(file).size;
        // Several read cycles with pages, including region moves (the first regions hold 1 MiB per CPU).
        const deadline = Date.now() + 30_000;
        while (statSync(file).size < size0 + 3 * 1024 * 1024 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 100));
        }
        run.child.kill('SIGKILL');
        await run.exited;
        const theirs = traceCmdCounts(file);
        const ours = dumpCounts(file);
        assert.deepEqual(ours, theirs);
        assert.ok((ours.get('sys_enter') ?? 0) > 1000, JSON.stringify([...ours]));
      } finally {
        w.kill('SIGKILL');
        // The killed run's instance: the next start of any latency-tracker sweeps it; this test does it now.
        sweepStale(resolvePaths());
      }
    });
  }
});
