/**
 * Helpers for `dump`-like commands: event counts per type, and a one-line text form of any record laid out by an
 * `EventFormat` (works for every source's records; the CTF source adds the LTTng event name).
 */
import { fieldValue } from '../../ftrace/fields.ts';
import type { EventFormat, FieldFormat, TraceRecord } from '../../ftrace/types.ts';
import type { SourceStats, TraceSource } from '../types.ts';
import { type CtfOpenOptions, type CtfSource, openCtfTrace } from './source.ts';

export interface EventCounts {
  total: number;
  /** Count per LTTng event name (as babeltrace names them), sorted by name. */
  byName: Map<string, number>;
  stats: SourceStats;
}

/** Reads a whole CTF trace and counts its events per LTTng event name. */
export async function countEvents(path: string, options?: CtfOpenOptions): Promise<EventCounts> {
  const src = await openCtfTrace(path, options);
  const counts = new Map<string, number>();
  let total = 0;
  const stats = await src.run({
    record() {
      total++;
      const n = src.eventName;
      counts.set(n, (counts.get(n) ?? 0) + 1);
    },
  });
  const byName = new Map([...counts.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
  return { total, byName, stats };
}

/** The value of field `f` of record `r` as text (strings quoted, pointers in hex); CTF records are little-endian. */
export function fieldText(r: TraceRecord, f: FieldFormat): string {
  const at = r.off + f.offset;
  if (f.kind === 'int' && f.offset + f.size <= r.len) {
    if (f.type === 'float') return String(r.view.getFloat32(at, true));
    if (f.type === 'double') return String(r.view.getFloat64(at, true));
  }
  const v = fieldValue(r, f, true);
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.join(', ')}]`;
  if (f.type.includes('*') || f.type.endsWith(' hex')) {
    // An integer the metadata shows in base 16 (`base = 16`: pointers, call sites), as babeltrace prints it.
    return `0x${v.toString(16)}`;
  }
  return String(v);
}

/** `1457113582.794565804` from the source origin and a record time. */
export function absTime(originNs: bigint, ts: number): string {
  const t = originNs + BigInt(Math.round(ts));
  const s = t / 1_000_000_000n;
  const ns = t % 1_000_000_000n;
  return `${s}.${ns.toString().padStart(9, '0')}`;
}

/**
 * One line per record: `TIME [CPU] TID SYSTEM:EVENT: field=value ...`; for a CTF source whose LTTng name differs
 * from the format's, the LTTng name follows in parentheses (`raw_syscalls:sys_enter (syscall_entry_read)`).
 */
export function formatRecord(source: TraceSource, r: TraceRecord, format?: EventFormat): string {
  const f = format ?? source.schema.byId(r.id);
  if (f === undefined) return `${absTime(source.originNs, r.ts)} [${r.cpu}] ${r.pid} <unknown event ${r.id}>`;
  const lttng = (source as Partial<CtfSource>).eventName;
  const alias = lttng !== undefined && lttng !== f.name && f.system !== 'lttng' ? ` (${lttng})` : '';
  const fields = f.fields
    .filter((x) => !x.common)
    .map((x) => `${x.name}=${fieldText(r, x)}`)
    .join(' ');
  return `${absTime(source.originNs, r.ts)} [${String(r.cpu).padStart(3, '0')}] ${r.pid} ${f.system}:${f.name}${alias}: ${fields}`;
}
