/**
 * Where thread names come from in the events themselves: every event that names a thread (scheduler events with
 * `prev_comm`/`next_comm`/`comm`, forks, execs, renames). Observers are compiled once per event and feed the
 * `CommTable` without building strings.
 */
import { fieldSpan, intReader } from '../ftrace/fields.ts';
import type { EventSchema } from '../ftrace/schema.ts';
import type { TraceRecord } from '../ftrace/types.ts';
import type { CommTable } from './comm.ts';

/** (event, tid field, comm field); `comm` may be a char[16] or a `__data_loc char[]` (newer forks). */
const NAMED: [event: string, tid: string, comm: string][] = [
  ['sched:sched_switch', 'prev_pid', 'prev_comm'],
  ['sched:sched_switch', 'next_pid', 'next_comm'],
  ['sched:sched_waking', 'pid', 'comm'],
  ['sched:sched_wakeup', 'pid', 'comm'],
  ['sched:sched_wakeup_new', 'pid', 'comm'],
  ['sched:sched_process_fork', 'child_pid', 'child_comm'],
  ['sched:sched_process_exit', 'pid', 'comm'],
  ['task:task_rename', 'pid', 'newcomm'],
];
const EXEC = 'sched:sched_process_exec';

/**
 * Rare events that name new threads (a handful per process): a live run enables them, when the kernel has them,
 * so that short-lived processes keep their names after they exit.
 */
export const COMM_EVENTS = ['sched:sched_process_fork', EXEC, 'task:task_rename'];

/** Compiles observers for every comm-bearing event of `schema`: `[event, handler]` pairs. */
export function commObservers(schema: EventSchema, comms: CommTable): [string, (r: TraceRecord) => void][] {
  const out: [string, (r: TraceRecord) => void][] = [];
  const le = schema.littleEndian;
  const span = { start: 0, end: 0 };
  for (const [event, tidField, commField] of NAMED) {
    const f = schema.find(event);
    const c = f?.byName.get(commField);
    if (f === undefined || c === undefined || !f.byName.has(tidField)) continue;
    const tid = intReader(f, tidField, schema);
    if (c.kind === 'array' && c.size === 16) {
      const off = c.offset;
      out.push([event, (r) => off + 16 <= r.len && comms.observe16(tid(r), r.view, r.off + off)]);
    } else if (c.kind === 'array') {
      const off = c.offset;
      const len = Math.min(c.size, 16);
      out.push([event, (r) => off + len <= r.len && comms.observe(tid(r), r.bytes, r.off + off, len)]);
    } else {
      out.push([
        event,
        (r) => {
          fieldSpan(c, r, le, span);
          if (span.end > span.start)
            comms.observe(tid(r), r.bytes, r.off + span.start, Math.min(span.end - span.start, 16));
        },
      ]);
    }
  }
  const ex = schema.find(EXEC);
  const fn = ex?.byName.get('filename');
  if (ex !== undefined && fn !== undefined && ex.byName.has('pid')) {
    // After execve the comm is the file's base name (at most 15 bytes).
    const tid = intReader(ex, 'pid', schema);
    out.push([
      EXEC,
      (r) => {
        fieldSpan(fn, r, le, span);
        let end = span.start;
        while (end < span.end && r.bytes[r.off + end] !== 0) end++;
        let base = end;
        while (base > span.start && r.bytes[r.off + base - 1] !== 0x2f) base--;
        if (end > base) comms.observe(tid(r), r.bytes, r.off + base, Math.min(end - base, 15));
      },
    ]);
  }
  return out;
}
