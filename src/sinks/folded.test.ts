import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OutlierRecord } from '../analyses/engine.ts';
import { FoldedStacks } from './folded.ts';

function outlier(comm: string, latency: number, stack?: string[], reason: 'threshold' | 'timeout' = 'threshold') {
  const o: OutlierRecord = {
    type: 'latency',
    analysis: 'offcpu',
    reason,
    start_ns: 0n,
    end_ns: BigInt(latency),
    latency_ns: latency,
    cpu: 0,
    tid: 7,
    pid: 7,
    comm,
    detail: {},
    cgroup: null,
    container: null,
  };
  if (stack !== undefined) o.stack = stack;
  return o;
}

test('outermost frame first, offsets dropped, same stacks summed in microseconds, timeouts left out', () => {
  const f = new FoldedStacks();
  const stack = ['__schedule+0x618', 'schedule+0x23', 'do_nanosleep+0x5e', 'entry_SYSCALL_64_after_hwframe+0x76'];
  f.add(outlier('sleep', 200_000_000, stack));
  f.add(outlier('sleep', 100_000_000, ['__schedule+0x61a', ...stack.slice(1)]));
  f.add(outlier('sleep', 999_000_000, stack, 'timeout'));
  f.add(outlier('my app;x', 1_400, undefined));
  assert.equal(
    f.format(),
    'offcpu;sleep;entry_SYSCALL_64_after_hwframe;do_nanosleep;schedule;__schedule 300000\noffcpu;my_app_x 1\n',
  );
});

test('bounded: past the limit, new stacks add up under [other stacks], counted', () => {
  const f = new FoldedStacks(2);
  f.add(outlier('a', 1000));
  f.add(outlier('b', 1000));
  f.add(outlier('c', 5000));
  f.add(outlier('d', 5000));
  f.add(outlier('a', 1000));
  assert.equal(f.overflow, 2);
  assert.equal(f.format(), 'offcpu;[other stacks] 10\noffcpu;a 2\noffcpu;b 1\n');
});
