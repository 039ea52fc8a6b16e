/**
 * Helpers for `dump`-like commands: event counts per type, and a one-line text form of any record laid out by an
 * `EventFormat` (works for every source's records; the CTF source adds the LTTng event name).
 */
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

const utf8 = new TextDecoder('utf-8');

function cString(bytes: Uint8Array, start: number, max: number): string {
  let e = start;
  const lim = Math.min(start + max, bytes.length);
  while (e < lim && bytes[e] !== 0) e++;
  return utf8.decode(bytes.subarray(start, e));
}

function intValue(view: DataView, at: number, size: number, signed: boolean): bigint | number {
  switch (size) {
    case 1:
      return signed ? view.getInt8(at) : view.getUint8(at);
    case 2:
      return signed ? view.getInt16(at, true) : view.getUint16(at, true);
    case 4:
      return signed ? view.getInt32(at, true) : view.getUint32(at, true);
    default:
      return signed ? view.getBigInt64(at, true) : view.getBigUint64(at, true);
  }
}

/** The value of field `f` of record `r` as text (strings quoted, pointers and hex-ish types in hex). */
export function fieldText(r: TraceRecord, f: FieldFormat): string {
  const at = r.off + f.offset;
  if (f.kind === 'dynamic' || f.kind === 'rel') {
    const loc = r.view.getUint32(at, true);
    const start = r.off + (f.kind === 'rel' ? f.offset + f.size : 0) + (loc & 0xffff);
    const len = loc >>> 16;
    if (f.isString) return JSON.stringify(cString(r.bytes, start, len));
    const parts: string[] = [];
    for (let k = 0; k < len; k += f.elementSize)
      parts.push(String(intValue(r.view, start + k, f.elementSize, f.signed)));
    return `[${parts.join(', ')}]`;
  }
  if (f.kind === 'array') {
    if (f.isString) return JSON.stringify(cString(r.bytes, at, f.size));
    const parts: string[] = [];
    for (let k = 0; k < f.count; k++)
      parts.push(String(intValue(r.view, at + k * f.elementSize, f.elementSize, f.signed)));
    return `[${parts.join(', ')}]`;
  }
  if (f.type === 'float') return String(r.view.getFloat32(at, true));
  if (f.type === 'double') return String(r.view.getFloat64(at, true));
  const v = intValue(r.view, at, f.size, f.signed);
  if (f.type.includes('*')) return `0x${v.toString(16)}`;
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
