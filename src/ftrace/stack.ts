/**
 * `ftrace/kernel_stack` (and `ftrace/user_stack`) records: the addresses of a stack, read exactly as u32 halves.
 *
 * kernel/trace/trace_entries.h `stack_entry`: `int size; unsigned long caller[8]` in the format file, but the
 * record is variable length: `size` is the number of entries actually stored and the payload is
 * `16 + long × size` bytes (`__ftrace_trace_stack`, kernel/trace/trace.c). So the entry count is
 * `min(size, (len − callerOffset) / long)` (shared/notes/ftrace-ring-buffer.md §6). Formats without `size`
 * (old kernels, user_stack) hold a fixed array whose unused slots are 0 or ULONG_MAX: stop at the first of those.
 * A stack record follows its triggering event on the same CPU; pair them by order, not by time.
 */
import { FieldError } from './fields.ts';
import type { EventSchema } from './schema.ts';
import type { EventFormat, TraceRecord } from './types.ts';

/** Writes up to `scratch.length / 2` addresses as (hi, lo) pairs into `scratch`; returns how many. No allocation. */
export type StackReader = (r: TraceRecord, scratch: Uint32Array) => number;

/** Compiles a reader for the stack addresses of `format` (kernel_stack or user_stack). */
export function stackReader(format: EventFormat, schema: EventSchema): StackReader {
  const caller = format.byName.get('caller');
  if (caller === undefined || caller.kind === 'int') {
    throw new FieldError(`${format.system}:${format.name} has no caller array`);
  }
  const sizeField = format.name === 'kernel_stack' ? format.byName.get('size') : undefined;
  const es = caller.elementSize === 4 ? 4 : 8;
  const le = schema.littleEndian;
  const at = caller.offset;
  const fixed = caller.kind === 'array' ? caller.count : Number.MAX_SAFE_INTEGER;
  const sizeAt = sizeField?.offset ?? -1;
  return (r, scratch) => {
    let n = r.len > at ? Math.floor((r.len - at) / es) : 0;
    if (sizeAt >= 0) {
      const declared = sizeAt + 4 <= r.len ? r.view.getInt32(r.off + sizeAt, le) : 0;
      if (declared < n) n = Math.max(declared, 0);
    } else if (n > fixed) {
      n = fixed;
    }
    const room = scratch.length >>> 1;
    if (n > room) n = room;
    const v = r.view;
    let p = r.off + at;
    for (let i = 0; i < n; i++, p += es) {
      let hi: number;
      let lo: number;
      if (es === 8) {
        lo = v.getUint32(le ? p : p + 4, le);
        hi = v.getUint32(le ? p + 4 : p, le);
      } else {
        lo = v.getUint32(p, le);
        hi = 0;
      }
      if (sizeAt < 0 && ((hi === 0 && lo === 0) || (lo === 0xffffffff && (es === 4 || hi === 0xffffffff)))) return i;
      scratch[2 * i] = hi;
      scratch[2 * i + 1] = lo;
    }
    return n;
  };
}
