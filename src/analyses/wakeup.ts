/**
 * `wakeup`: scheduling latency, from the wake-up of a task to the moment it runs (DESIGN §5). Begin: the first
 * `sched_waking` of T since T last left a CPU (`sched_wakeup` when the trace has no `sched_waking`), or
 * `sched_wakeup_new` of T; end: the next `sched_switch` with `next_pid == T`; key tid. If T is switched out before
 * that, the begin is discarded. Context: the waker (tid, comm, CPU) and what ran on the CPU just before T.
 */
import type { TraceRecord } from '../ftrace/types.ts';
import type { EventInOptions, LatencyEvent } from '../tracker/tracker.ts';
import type { Analysis, AnalysisContext, AnalysisRun } from './types.ts';

const WAKING = 'sched:sched_waking';
const WAKEUP = 'sched:sched_wakeup';
const WAKEUP_NEW = 'sched:sched_wakeup_new';
const SWITCH = 'sched:sched_switch';

// Per-event data: waker tid + 1 (23 bits) and waker CPU (12 bits).
const TID_SPAN = 1 << 23;
const pack = (wakerTid: number, wakerCpu: number) => wakerTid + 1 + TID_SPAN * wakerCpu;
const wakerTidOf = (d: number) => (d % TID_SPAN) - 1;
const wakerCpuOf = (d: number) => Math.floor(d / TID_SPAN);

export const wakeup: Analysis = {
  name: 'wakeup',
  description: 'scheduling latency: wake-up of a task -> it runs (sched_waking -> sched_switch in)',
  defaultThreshold: 10_000_000,
  events(has) {
    if (!has(SWITCH)) return `needs ${SWITCH}`;
    const begin = has(WAKING) ? WAKING : has(WAKEUP) ? WAKEUP : undefined;
    if (begin === undefined) return `needs ${WAKING} or ${WAKEUP}`;
    return has(WAKEUP_NEW) ? [begin, WAKEUP_NEW, SWITCH] : [begin, SWITCH];
  },
  tidFields: { [WAKING]: ['pid'], [WAKEUP]: ['pid'], [WAKEUP_NEW]: ['pid'], [SWITCH]: ['prev_pid', 'next_pid'] },
  usesStacks: false,
  setup(ctx: AnalysisContext): AnalysisRun {
    const begin = ctx.has(WAKING) ? WAKING : WAKEUP;
    const wokenPid = ctx.int(begin, 'pid');
    const prevPid = ctx.int(SWITCH, 'prev_pid');
    const nextPid = ctx.int(SWITCH, 'next_pid');
    const t = ctx.tracker<number>((e: LatencyEvent<number>) => {
      const d = e.data ?? 0;
      const wt = wakerTidOf(d);
      const end = ctx.endRecord(e);
      const prev = end !== undefined ? prevPid(end) : -1;
      ctx.report({
        analysis: 'wakeup',
        reason: e.reason,
        start: e.start,
        end: e.end,
        latency: e.latency,
        cpu: end !== undefined ? end.cpu : -1,
        tid: e.key as number,
        detail: {
          waker_tid: wt >= 0 ? wt : null,
          waker_comm: wt >= 0 ? (ctx.comms.get(wt) ?? null) : null, // tid 0: 'swapper'
          waker_cpu: wt >= 0 ? wakerCpuOf(d) : null,
          prev_tid: prev >= 0 ? prev : null,
          prev_comm: prev >= 0 ? (ctx.comms.get(prev) ?? null) : null,
        },
        stack: -1,
      });
    });
    const opts: EventInOptions<number> = { data: 0 };
    const onBegin = (pid: (r: TraceRecord) => number) => (r: TraceRecord) => {
      const tid = pid(r);
      if (tid <= 0) return;
      opts.data = pack(r.pid, r.cpu);
      t.eventInParts(0, 0, tid, r.ts, opts);
    };
    const handlers: AnalysisRun['handlers'] = [
      [begin, onBegin(wokenPid)],
      [
        SWITCH,
        (r) => {
          const prev = prevPid(r);
          if (prev > 0) t.discardParts(0, 0, prev);
          const next = nextPid(r);
          if (next <= 0) return;
          const lat = t.eventOutParts(0, 0, next, r.ts);
          if (lat >= 0) ctx.pair(lat, next, r.cpu, 0);
        },
      ],
    ];
    if (ctx.has(WAKEUP_NEW)) handlers.push([WAKEUP_NEW, onBegin(ctx.int(WAKEUP_NEW, 'pid'))]);
    return { handlers, tracker: t };
  },
};
