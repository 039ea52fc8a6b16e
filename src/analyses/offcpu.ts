/**
 * `offcpu`: time a task spends off the CPU (DESIGN §5). Begin: `sched_switch` with `prev_pid == T`; end: the next
 * `sched_switch` with `next_pid == T`; key tid. Blocked (a task-state bit of `prev_state` set: S, D, ...) or
 * preempted (none: `R`/`R+`). Context: the stack at switch-out (`--stacks`) and the waker (the first
 * `sched_waking` of T while it was off the CPU).
 */
import { formatTaskState } from '../ftrace/format.ts';
import type { EventInOptions, LatencyEvent } from '../tracker/tracker.ts';
import type { Analysis, AnalysisContext, AnalysisRun } from './types.ts';

const SWITCH = 'sched:sched_switch';
const WAKING = 'sched:sched_waking';
const WAKEUP = 'sched:sched_wakeup';

// Per-event data: prev_state (13 bits: the state bits and the preempted bit, up to 0x1000 on older kernels), waker
// tid + 1 (23 bits), stack id + 1 (17 bits).
const STATE_SPAN = 8192;
const TID_SPAN = 1 << 23;
const pack = (state: number, waker: number, stack: number) =>
  (state & (STATE_SPAN - 1)) + STATE_SPAN * (waker + 1 + TID_SPAN * (stack + 1));
const stateOf = (d: number) => d % STATE_SPAN;
const wakerOf = (d: number) => (Math.floor(d / STATE_SPAN) % TID_SPAN) - 1;
const stackOf = (d: number) => Math.floor(d / (STATE_SPAN * TID_SPAN)) - 1;

export const offcpu: Analysis = {
  name: 'offcpu',
  description: 'time off the CPU: switch-out -> switch-in of a task (blocked or preempted)',
  defaultThreshold: 100_000_000,
  events(has) {
    if (!has(SWITCH)) return `needs ${SWITCH}`;
    if (has(WAKING)) return [SWITCH, WAKING];
    if (has(WAKEUP)) return [SWITCH, WAKEUP];
    return [SWITCH];
  },
  tidFields: { [SWITCH]: ['prev_pid', 'next_pid'], [WAKING]: ['pid'], [WAKEUP]: ['pid'] },
  usesStacks: true,
  setup(ctx: AnalysisContext): AnalysisRun {
    const prevPid = ctx.int(SWITCH, 'prev_pid');
    const nextPid = ctx.int(SWITCH, 'next_pid');
    const prevState = ctx.int(SWITCH, 'prev_state');
    const tsm = ctx.taskState.mask;
    const mask = tsm.mask;
    const t = ctx.tracker<number>((e: LatencyEvent<number>) => {
      const d = e.data ?? 0;
      const st = stateOf(d);
      const w = wakerOf(d);
      ctx.report({
        analysis: 'offcpu',
        reason: e.reason,
        start: e.start,
        end: e.end,
        latency: e.latency,
        cpu: ctx.endRecord(e)?.cpu ?? -1,
        tid: e.key as number,
        detail: {
          state: (st & mask) !== 0 ? 'blocked' : 'preempted',
          prev_state: formatTaskState(st, tsm),
          waker_tid: w >= 0 ? w : null,
          waker_comm: w >= 0 ? (ctx.comms.get(w) ?? null) : null, // tid 0: 'swapper'
        },
        stack: stackOf(d),
      });
    });
    const opts: EventInOptions<number> = { unique: true, data: 0 };
    const handlers: AnalysisRun['handlers'] = [
      [
        SWITCH,
        (r) => {
          const prev = prevPid(r);
          if (prev > 0) {
            opts.data = pack(prevState(r), -1, -1);
            t.eventInParts(0, 0, prev, r.ts, opts);
          }
          const next = nextPid(r);
          if (next <= 0) return;
          const lat = t.eventOutParts(0, 0, next, r.ts);
          if (lat >= 0) ctx.pair(lat, next, r.cpu, 0);
        },
      ],
    ];
    const wakeEvent = ctx.has(WAKING) ? WAKING : ctx.has(WAKEUP) ? WAKEUP : undefined;
    if (wakeEvent !== undefined) {
      const woken = ctx.int(wakeEvent, 'pid');
      handlers.push([
        wakeEvent,
        (r) => {
          const h = t.getEventParts(0, 0, woken(r));
          if (h === undefined) return;
          const d = h.data ?? 0;
          if (wakerOf(d) < 0) h.data = pack(stateOf(d), r.pid, stackOf(d));
          t.putEvent(h);
        },
      ]);
    }
    return {
      handlers,
      tracker: t,
      onStack(tid, stackId) {
        const h = t.getEvent(tid);
        if (h === undefined) return;
        const d = h.data ?? 0;
        h.data = pack(stateOf(d), wakerOf(d), stackId);
        t.putEvent(h);
      },
    };
  },
};
