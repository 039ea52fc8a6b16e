/**
 * The bcc/perf habits of `live` (issue 17), on the live kernel as root: `-T` wall-clock times, `unix` in JSON,
 * `-C` CPU filter, `--folded` stacks for flame graphs, and `-i` in text.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { isRoot, killLiveRuns, LiveRun, orphanInstances, runChild } from './live.ts';

const skip = !isRoot && 'needs root (CI runs as root)';
const n = (v: unknown) => Number(v);

/** Seconds of the day of a local `HH:MM:SS.uuuuuu`. */
function secondsOfDay(t: string): number {
  const [h, m, s] = t.split(':');
  return Number(h) * 3600 + Number(m) * 60 + Number(s);
}

describe('live: times, CPUs, folded stacks, intervals', { skip }, () => {
  afterEach(killLiveRuns);

  test('-T: each outlier line starts with its wall-clock time; --json carries unix', async () => {
    const text = new LiveRun(['syscall', '-T', '-t', '100ms', '-c', 'sleep']);
    const json = new LiveRun(['syscall', '--json', '-t', '100ms', '-c', 'sleep']);
    await Promise.all([text.ready(), json.ready()]);
    const child = await runChild('sleep', ['0.2']);
    const started = (child.endedAt - 200) / 1000;
    await text.until(() => text.stdout.includes(`tid=${child.pid},`), 10_000, 'the -T line');
    await json.until(() => json.latencies('syscall').some((r) => r.tid === child.pid), 10_000, 'the JSON outlier');
    await Promise.all([text.stop(), json.stop()]);
    const line = text.stdout.split('\n').find((l) => l.includes(`tid=${child.pid},`)) ?? '';
    const m = /^syscall_latency: time=(\d\d:\d\d:\d\d\.\d{6}), comm=sleep, /.exec(line);
    assert.ok(m !== null, line);
    const d = new Date(started * 1000);
    const expected = d.getHours() * 3600 + d.getMinutes() * 60 + d.getSeconds() + d.getMilliseconds() / 1000;
    const diff = Math.abs(secondsOfDay(m[1]) - expected);
    assert.ok(Math.min(diff, 86400 - diff) < 5, `${m[1]} vs ${d.toTimeString()}`);
    const r = json.latencies('syscall').find((x) => x.tid === child.pid);
    assert.ok(r !== undefined);
    assert.ok(Math.abs(n(r.unix) - started) < 5, `unix ${r.unix}, started about ${started}`);
    assert.deepEqual(Object.keys(r).slice(0, 7), [
      'type',
      'analysis',
      'reason',
      'start_ns',
      'end_ns',
      'unix',
      'latency_ns',
    ]);
  });

  test('-C: only pairs on the given CPUs', async () => {
    const run = new LiveRun(['syscall', '--json', '-t', '80ms', '-c', 'sleep', '-C', '1']);
    await run.ready();
    // taskset execs sleep: the same comm, pinned to one CPU each; the CPU-0 sleep ends first.
    const on0 = await runChild('taskset', ['-c', '0', 'sleep', '0.1']);
    const on1 = await runChild('taskset', ['-c', '1', 'sleep', '0.1']);
    await run.until(() => run.latencies('syscall').some((r) => r.tid === on1.pid), 10_000, 'the CPU 1 sleep');
    await run.stop();
    const all = run.latencies('syscall');
    assert.ok(
      all.every((r) => r.cpu === 1),
      JSON.stringify(all.map((r) => r.cpu)),
    );
    assert.equal(all.filter((r) => r.tid === on0.pid).length, 0, 'the CPU 0 sleep is not reported');
  });

  test('--folded: one folded stack line per comm and stack, total microseconds, nothing else on stdout', async () => {
    // syscall pairs end at sys_exit, which the kernel always records; the stack is where the call blocked.
    const run = new LiveRun(['syscall', '--folded', '-t', '100ms', '-c', 'sleep']);
    await run.ready();
    await runChild('sleep', ['0.25']);
    await runChild('sleep', ['0.25']);
    // Stopping drains everything the kernel recorded: both sleeps (they have exited) are in.
    const { code } = await run.stop();
    assert.equal(code, 0, run.stderr);
    const lines = run.stdout.trim().split('\n');
    for (const l of lines) assert.match(l, /^syscall;[^; ]+(;[^; ]+)* \d+$/, l);
    // Two sleeps with the same stack fold into one line.
    const sleeps = lines.filter((l) => /^syscall;sleep;.*nanosleep.*;schedule;__schedule \d+$/.test(l));
    assert.equal(sleeps.length, 1, run.stdout);
    const us = Number(sleeps[0].split(' ').pop());
    assert.ok(us >= 500_000 && us < 2_000_000, `${us} us for two 250 ms sleeps`);
    assert.match(run.stderr, /Hit Ctrl-C to end/, 'the header goes to stderr');
  });

  test('-i in text: a table per interval, one row per analysis, no 1m/5m/1h rows', async () => {
    const run = new LiveRun(['syscall', 'wakeup', '-t', '1h', '-i', '500ms', '-d', '1800ms']);
    const { code } = await run.exited;
    assert.equal(code, 0, run.stderr);
    const blocks = run.stdout.split(/\n(?=\d\d:\d\d:\d\d {2}\(last )/).slice(1);
    assert.ok(blocks.length >= 2, run.stdout);
    for (const b of blocks) {
      assert.match(b, /^\d\d:\d\d:\d\d {2}\(last 0\.\ds\)\nanalysis +count +p50 +p90 +p99 +p99\.9 +max\n/);
      assert.match(b, /^syscall +\d+ /m);
      assert.match(b, /^wakeup +\d+ /m);
      assert.doesNotMatch(b, / (1m|5m|1h) /);
    }
  });

  test('no instance of ours is left', () => {
    assert.deepEqual(orphanInstances(), []);
  });
});
