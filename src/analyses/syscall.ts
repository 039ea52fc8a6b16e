/**
 * `syscall`: time inside one system call (DESIGN §5). Begin: `raw_syscalls:sys_enter` of tid T (id N); end: the next
 * `sys_exit` of T; key tid; latency attributed to syscall N. A new `sys_enter` for T while one is open replaces it
 * (counted). With `--stacks`, the stack of the task's last blocking switch-out inside the call is attached — the
 * stateful `getEvent` query of the original module. A task that exits inside a call (`exit_group`) is marked so
 * that it is not reported as a timeout (it will never return); pairing itself stays exactly the definition.
 */
import type { EventInOptions, LatencyEvent } from '../tracker/tracker.ts';
import type { Analysis, AnalysisContext, AnalysisRun } from './types.ts';

const ENTER = 'raw_syscalls:sys_enter';
const EXIT = 'raw_syscalls:sys_exit';
const PROC_EXIT = 'sched:sched_process_exit';

// Per-event data, packed in one number: syscall id (20 bits: x86_64 numbers, the ids >= 10000 a CTF source assigns,
// ARM private calls 0xf0000+), cpu of the entry (12 bits), "the task exited" (1 bit), stack id + 1 (20 bits).
const ID_SPAN = 1 << 20;
const CPU_SPAN = 4096;
const EXITED = ID_SPAN * CPU_SPAN;
const STACK_UNIT = EXITED * 2;
function pack(id: number, cpu: number, stack: number, exited = false): number {
  return (id & (ID_SPAN - 1)) + ID_SPAN * (cpu & (CPU_SPAN - 1)) + (exited ? EXITED : 0) + STACK_UNIT * (stack + 1);
}
const idOf = (d: number) => d % ID_SPAN;
const cpuOf = (d: number) => Math.floor(d / ID_SPAN) % CPU_SPAN;
const exitedOf = (d: number) => Math.floor(d / EXITED) % 2 === 1;
const stackOf = (d: number) => Math.floor(d / STACK_UNIT) - 1;

export const syscall: Analysis = {
  name: 'syscall',
  description: 'time inside one system call (sys_enter -> sys_exit of a thread)',
  defaultThreshold: 1_000_000_000,
  events(has) {
    if (!has(ENTER) || !has(EXIT)) return `needs ${ENTER} and ${EXIT}`;
    return has(PROC_EXIT) ? [ENTER, EXIT, PROC_EXIT] : [ENTER, EXIT];
  },
  tidFields: { [ENTER]: ['common_pid'], [EXIT]: ['common_pid'], [PROC_EXIT]: ['common_pid'] },
  groupField: { name: 'syscall', label: (code, syscallName) => syscallName(code) },
  usesStacks: true,
  setup(ctx: AnalysisContext): AnalysisRun {
    const readId = ctx.int(ENTER, 'id');
    const t = ctx.tracker<number>((e: LatencyEvent<number>) => {
      const d = e.data ?? 0;
      if (e.reason === 'timeout' && exitedOf(d)) return; // exit_group never returns: not a stuck task
      const id = idOf(d);
      ctx.report({
        analysis: 'syscall',
        reason: e.reason,
        start: e.start,
        end: e.end,
        latency: e.latency,
        cpu: ctx.endRecord(e)?.cpu ?? cpuOf(d),
        tid: e.key as number,
        detail: { syscall: ctx.syscallName(id), id },
        stack: stackOf(d),
      });
    });
    const opts: EventInOptions<number> = { unique: true, data: 0 };
    const handlers: AnalysisRun['handlers'] = [
      [
        ENTER,
        (r) => {
          const tid = r.pid;
          if (tid <= 0) return;
          opts.data = pack(readId(r), r.cpu, -1);
          t.eventInParts(0, 0, tid, r.ts, opts);
        },
      ],
      [
        EXIT,
        (r) => {
          const tid = r.pid;
          if (tid <= 0) return;
          const lat = t.eventOutParts(0, 0, tid, r.ts);
          if (lat >= 0) ctx.pair(lat, tid, r.cpu, idOf(t.lastData ?? 0));
        },
      ],
    ];
    if (ctx.has(PROC_EXIT)) {
      handlers.push([
        PROC_EXIT,
        (r) => {
          if (r.pid <= 0) return;
          const h = t.getEventParts(0, 0, r.pid);
          if (h === undefined) return;
          const d = h.data ?? 0;
          h.data = pack(idOf(d), cpuOf(d), stackOf(d), true);
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
        h.data = pack(idOf(d), cpuOf(d), stackId, exitedOf(d));
        t.putEvent(h);
      },
    };
  },
};
