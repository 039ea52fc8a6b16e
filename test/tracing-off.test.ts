/**
 * Our instance's tracing switched off by someone else (issue 18, item 11): another process writing 0 to the
 * instance's `tracing_on` stops all recording, which must not pass for a quiet system. The live source checks it
 * every read cycle and says so on stderr, and again when it is back on. A real `latency-tracker live`; the test
 * writes only into the instance of the run it started. CI runs as root.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { afterEach, describe, test } from 'node:test';
import { isRoot, killLiveRuns, LiveRun, orphanInstances } from './live.ts';

afterEach(killLiveRuns);

describe('tracing_on switched off by another process', { skip: !isRoot && 'needs root (CI runs as root)' }, () => {
  test('is said on stderr within a read cycle or so, and so is its return', async () => {
    const run = new LiveRun(['syscall', '-t', '10s']);
    await run.ready();
    const tracingOn = `/sys/kernel/tracing/instances/latency-tracker-${run.child.pid}/tracing_on`;
    writeFileSync(tracingOn, '0');
    await run.until(() => /another process switched tracing off/.test(run.stderr), 10_000, 'the warning');
    assert.match(
      run.stderr,
      new RegExp(
        `^latency-tracker: another process switched tracing off \\(${tracingOn} is 0\\): no events are recorded while it stays off$`,
        'm',
      ),
    );
    writeFileSync(tracingOn, '1');
    await run.until(() => /tracing is on again/.test(run.stderr), 10_000, 'the all-clear');
    assert.match(run.stderr, /^latency-tracker: tracing is on again \(.*tracing_on\) after \d+\.\d s off$/m);
    assert.equal((await run.stop()).code, 0, run.stderr);
    // Its own switch-off at the end is not reported.
    assert.equal(run.stderr.match(/switched tracing off/g)?.length, 1, run.stderr);
    assert.deepEqual(orphanInstances(), []);
  });
});
