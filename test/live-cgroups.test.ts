/**
 * Cgroups live (issue 15), with real cgroups: the test makes uniquely named groups (v2 under the unified hierarchy,
 * v1 under the cpu controller's mount), moves processes into them, and checks what the real `latency-tracker live`
 * reports: outliers tagged with the group's path and grouped under it (in the hybrid layout of this machine, and as
 * a pure-v2 and a v1-only host would see it, through `--cgroupfs`), a process moved between two groups attributed to
 * each for the right outliers, and a CPU quota's throttling on a CPU-bound process's outliers. Every group is
 * removed in `finally` (its processes moved out first).
 */
// test-timeout: 300s
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, describe, test } from 'node:test';
import { isRoot, type Json, killLiveRuns, LiveRun } from './live.ts';
import { freePort, ServeRun } from './serve-helpers.ts';

const CG = '/sys/fs/cgroup';
const V2 = existsSync(join(CG, 'cgroup.controllers')) ? CG : join(CG, 'unified');
const hasV2 = existsSync(join(V2, 'cgroup.controllers'));
const V1CPU = ['cpu', 'cpu,cpuacct', 'cpuacct,cpu']
  .map((d) => join(CG, d))
  .find((d) => existsSync(join(d, 'cpu.cfs_quota_us')));
const skip = !isRoot ? 'needs root (CI runs as root)' : !hasV2 ? 'no cgroup v2 hierarchy' : false;

const scratch = mkdtempSync(join(process.cwd(), '.lt-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Groups made by this file, removed in `finally` (children moved to the root first). */
class Group {
  readonly dir: string;
  constructor(
    readonly root: string,
    readonly name: string,
  ) {
    this.dir = join(root, name);
    mkdirSync(this.dir);
  }
  /** The path as /proc/PID/cgroup and the outliers show it. */
  get path(): string {
    return `/${this.name}`;
  }
  add(pid: number): void {
    writeFileSync(join(this.dir, 'cgroup.procs'), `${pid}\n`);
  }
  async remove(): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        for (const p of readFileSync(join(this.dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
          try {
            writeFileSync(join(this.root, 'cgroup.procs'), `${p}\n`);
          } catch {
            // exited meanwhile
          }
        }
        rmdirSync(this.dir);
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
}

let seq = 0;
const unique = (what: string) => `lt-test-${process.pid}-${++seq}-${what}`;

/** A perl child that waits for a line on stdin before each step, so the test moves it between steps. */
function stepper(script: string): ChildProcess {
  return spawn('perl', ['-e', `$|=1; ${script}`], { stdio: ['pipe', 'pipe', 'ignore'] });
}

async function line(c: ChildProcess, want: string, ms = 20_000): Promise<void> {
  let buf = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`child did not print ${want}`)), ms);
    const on = (d: Buffer) => {
      buf += d.toString();
      if (buf.includes(want)) {
        clearTimeout(t);
        c.stdout?.off('data', on);
        resolve();
      }
    };
    c.stdout?.on('data', on);
  });
}

const SLEEPS = (n: number) => `select(undef, undef, undef, 0.05) for 1..${n};`;
const sleepsOf = (run: LiveRun, pid: number | undefined) =>
  run
    .latencies('syscall')
    .filter((r) => r.tid === pid && (r.detail as Json).syscall === 'pselect6')
    .sort((a, b) => Number(BigInt(a.start_ns as number) - BigInt(b.start_ns as number)));

describe('live cgroups', { skip }, () => {
  afterEach(killLiveRuns);

  /** Layouts: this host as it is; a pure-v2 host (--cgroupfs at the v2 mount); a v1-only host (only `cpu`). */
  const layouts: [string, () => string[], 'v2' | 'v1'][] = [
    ['hybrid (this host)', () => [], hasV2 ? 'v2' : 'v1'],
    ['pure v2 (--cgroupfs at the unified mount)', () => ['--cgroupfs', V2], 'v2'],
  ];
  if (V1CPU !== undefined) {
    layouts.push([
      'v1 only (--cgroupfs with only the cpu controller)',
      () => {
        const d = mkdtempSync(join(scratch, 'v1-'));
        symlinkSync(V1CPU, join(d, 'cpu'));
        return ['--cgroupfs', d];
      },
      'v1',
    ]);
  }
  for (const [name, args, which] of layouts) {
    test(`a 50 ms sleeper moved into a group is tagged and grouped with its path: ${name}`, async () => {
      const g2 = new Group(V2, unique('v2'));
      const g1 = V1CPU !== undefined ? new Group(V1CPU, unique('v1')) : undefined;
      const child = stepper(`<STDIN>; ${SLEEPS(6)} print "done\\n"; <STDIN>;`);
      try {
        const run = new LiveRun([
          'syscall',
          '--json',
          '-t',
          'syscall=30ms',
          '-c',
          'perl',
          '--summary',
          '--group-by',
          'cgroup',
          ...args(),
        ]);
        await run.ready();
        g2.add(child.pid as number);
        g1?.add(child.pid as number);
        child.stdin?.write('go\n');
        await line(child, 'done');
        const want = which === 'v2' ? g2.path : (g1 as Group).path;
        await run.until(() => sleepsOf(run, child.pid).length >= 6, 20_000, 'six 50 ms sleeps');
        child.stdin?.end('\n');
        const { code } = await run.stop();
        assert.equal(code, 0, run.stderr);
        const mine = sleepsOf(run, child.pid);
        for (const r of mine) {
          assert.equal(r.cgroup, want, JSON.stringify(r));
          assert.equal(r.container, null);
        }
        const group = run.records.find((r) => r.type === 'summary' && r.group === want);
        assert.ok(group !== undefined, `a summary group for ${want}: ${run.stdout.slice(-2000)}`);
        assert.ok(Number(group.count) >= 6, `count ${group.count}`);
      } finally {
        child.kill('SIGKILL');
        await g2.remove();
        await g1?.remove();
      }
    });
  }

  test('a process moved between two groups mid-run is attributed to each for the right outliers', async () => {
    const a = new Group(V2, unique('a'));
    const b = new Group(V2, unique('b'));
    const child = stepper(`<STDIN>; ${SLEEPS(3)} print "one\\n"; <STDIN>; ${SLEEPS(3)} print "two\\n"; <STDIN>;`);
    try {
      const run = new LiveRun(['syscall', '--json', '-t', 'syscall=30ms', '-c', 'perl', '--cgroup', a.path]);
      await run.ready();
      a.add(child.pid as number);
      child.stdin?.write('go\n');
      await line(child, 'one');
      // The tracker has seen the first three (in A) before the move: first sight reads /proc while it is in A.
      await run.until(() => sleepsOf(run, child.pid).length >= 3, 20_000, 'three sleeps in A');
      b.add(child.pid as number);
      child.stdin?.write('go\n');
      await line(child, 'two');
      child.stdin?.end('\n');
      // With --cgroup A, the sleeps in B are not reported: stop after a cycle that has surely handled them.
      await new Promise((r) => setTimeout(r, 1000));
      await run.stop();
      const inA = sleepsOf(run, child.pid);
      assert.equal(inA.length, 3, JSON.stringify(inA));
      for (const r of inA) assert.equal(r.cgroup, a.path);

      // Both groups, no filter: the same sequence, each sleep in its group.
      const child2 = stepper(`<STDIN>; ${SLEEPS(3)} print "one\\n"; <STDIN>; ${SLEEPS(3)} print "two\\n"; <STDIN>;`);
      try {
        const run2 = new LiveRun(['syscall', '--json', '-t', 'syscall=30ms', '-c', 'perl']);
        await run2.ready();
        a.add(child2.pid as number);
        child2.stdin?.write('go\n');
        await line(child2, 'one');
        await run2.until(() => sleepsOf(run2, child2.pid).length >= 3, 20_000, 'three sleeps in A');
        b.add(child2.pid as number);
        child2.stdin?.write('go\n');
        await line(child2, 'two');
        await run2.until(() => sleepsOf(run2, child2.pid).length >= 6, 20_000, 'three sleeps in B');
        child2.stdin?.end('\n');
        await run2.stop();
        const all = sleepsOf(run2, child2.pid);
        assert.deepEqual(
          all.map((r) => r.cgroup),
          [a.path, a.path, a.path, b.path, b.path, b.path],
        );
      } finally {
        child2.kill('SIGKILL');
      }
    } finally {
      child.kill('SIGKILL');
      await a.remove();
      await b.remove();
    }
  });

  test('a multi-threaded process moved with cgroup.procs: its other threads move too (one event, for the leader)', async () => {
    const a = new Group(V2, unique('ta'));
    const b = new Group(V2, unique('tb'));
    // A worker thread sleeps 50 ms at a time; the main thread waits.
    const script =
      'import threading, time\ndef w():\n    while True: time.sleep(0.05)\nthreading.Thread(target=w, daemon=True).start()\ntime.sleep(60)\n';
    const child = spawn('python3', ['-c', script], { stdio: 'ignore' });
    try {
      const run = new LiveRun(['syscall', '--json', '-t', 'syscall=30ms', '-c', 'python3']);
      await run.ready();
      a.add(child.pid as number);
      const worker = () =>
        run
          .latencies('syscall')
          .filter((r) => r.pid === child.pid && r.tid !== child.pid && Number(r.latency_ns) < 1e9)
          .sort((x, y) => Number(BigInt(x.start_ns as number) - BigInt(y.start_ns as number)));
      await run.until(() => worker().filter((r) => r.cgroup === a.path).length >= 3, 20_000, 'worker sleeps in A');
      b.add(child.pid as number);
      await run.until(() => worker().filter((r) => r.cgroup === b.path).length >= 3, 20_000, 'worker sleeps in B');
      await run.stop();
      const seq = worker().map((r) => r.cgroup);
      // A's, then B's: once in B, never back in A.
      const firstB = seq.indexOf(b.path);
      assert.ok(firstB > 0, seq.join(' '));
      assert.ok(
        seq.slice(firstB).every((c) => c === b.path),
        seq.join(' '),
      );
    } finally {
      child.kill('SIGKILL');
      await a.remove();
      await b.remove();
    }
  });

  test('a CPU quota on a CPU-bound process shows as throttling on its outliers', async () => {
    // The cpu controller: v2 when the unified root has it, else the v1 mount (this hybrid host).
    const v2cpu = readFileSync(join(V2, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('cpu');
    if (!v2cpu && V1CPU === undefined) return;
    const g = v2cpu ? new Group(V2, unique('quota')) : new Group(V1CPU as string, unique('quota'));
    // Busy work with a system call now and then (records in its own context mark each return to a CPU).
    const child = spawn('perl', ['-e', 'while (1) { for (1..20000) {} getppid() }'], { stdio: 'ignore' });
    try {
      if (v2cpu) writeFileSync(join(g.dir, 'cpu.max'), '10000 100000\n');
      else writeFileSync(join(g.dir, 'cpu.cfs_quota_us'), '10000\n');
      const run = new LiveRun(['offcpu', 'syscall', '--json', '-t', '30ms', '-c', 'perl']);
      await run.ready();
      g.add(child.pid as number);
      const throttled = () =>
        run.latencies('offcpu').filter((r) => {
          const t = r.throttle as Json | null | undefined;
          return r.tid === child.pid && t !== null && t !== undefined && Number(t.nr_throttled) >= 1;
        });
      await run.until(() => throttled().length >= 2, 30_000, 'offcpu outliers with throttling');
      await run.stop();
      const r = throttled()[0];
      const t = r.throttle as Json;
      assert.equal(r.cgroup === null ? null : typeof r.cgroup, 'string');
      assert.equal(t.cgroup, g.path);
      assert.ok(Number(t.throttled_ns) > 0, JSON.stringify(t));
      // The window brackets the outlier.
      assert.ok(BigInt(t.from_ns as number) <= BigInt(r.start_ns as number), JSON.stringify(r));
      assert.ok(BigInt(t.to_ns as number) >= BigInt(r.end_ns as number), JSON.stringify(r));
      // Throttled: preempted (runnable), not blocked.
      assert.equal((r.detail as Json).state, 'preempted', JSON.stringify(r.detail));
    } finally {
      child.kill('SIGKILL');
      await g.remove();
    }
  });

  test('serve: /api/events?cgroup= filters, /metrics labels latency by cgroup (capped, promtool clean)', async () => {
    const g = new Group(V2, unique('serve'));
    const child = stepper(`<STDIN>; ${SLEEPS(6)} print "done\\n"; <STDIN>;`);
    const port = await freePort();
    const run = new ServeRun([
      'syscall',
      '--listen',
      `127.0.0.1:${port}`,
      '-t',
      'syscall=30ms',
      '--no-stacks',
      '--metrics-by',
      'cgroup',
      '--metrics-limit',
      '8',
    ]);
    try {
      await run.ready();
      g.add(child.pid as number);
      child.stdin?.write('go\n');
      await line(child, 'done');
      const q = `/api/events?cgroup=${encodeURIComponent(g.path)}&limit=100`;
      const mine = async () => {
        const events = (await run.getJson(q)).events as Json[];
        return events.filter((e) => e.tid === child.pid && (e.detail as Json).syscall === 'pselect6');
      };
      await run.until(async () => (await mine()).length >= 6, 20_000, 'six sleeps in the group through the API');
      const all = (await run.getJson(q)).events as Json[];
      assert.ok(
        all.every((e) => e.cgroup === g.path),
        JSON.stringify(all.slice(0, 3)),
      );
      const other = (await run.getJson('/api/events?cgroup=/no-such-group-here&limit=100')).events as Json[];
      assert.equal(other.length, 0);
      for (const bad of ['relative', '/a/../b', '/a%0Ab']) {
        const r = await run.req('GET', `/api/events?cgroup=${bad}`);
        assert.equal(r.status, 400, `${bad}: ${r.text}`);
      }
      const metrics = (await run.req('GET', '/metrics')).text;
      const re = new RegExp(
        `^latency_tracker_latency_seconds_count\\{analysis="syscall",cgroup="${g.path}"\\} (\\d+)$`,
        'm',
      );
      const m = re.exec(metrics);
      assert.ok(
        m !== null && Number(m[1]) >= 6,
        metrics
          .split('\n')
          .filter((l) => l.includes('_count{'))
          .join('\n'),
      );
      const series = [...metrics.matchAll(/^latency_tracker_latency_seconds_count\{analysis="syscall",cgroup=/gm)];
      assert.ok(series.length <= 9, `${series.length} series`);
      const pt = spawnSync('promtool', ['check', 'metrics'], { input: metrics, encoding: 'utf8' });
      assert.equal(pt.status, 0, `${pt.stdout}${pt.stderr}`);
    } finally {
      child.kill('SIGKILL');
      await run.stop();
      await g.remove();
    }
  });
});
