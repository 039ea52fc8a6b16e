/**
 * Human output: one line per outlier in the style of the original module's printk
 * (`syscall_latency: comm=sync, tid=32224, ...`), its kernel stack under it, and time stamps as SEC.NSEC.
 */

import { containerLabel } from '../analyses/container.ts';
import type { OutlierRecord } from '../analyses/engine.ts';
import type { DetailValue } from '../analyses/types.ts';
import { formatDuration } from '../cli/duration.ts';

/** `SEC.NSEC` of an absolute nanosecond time, exact. */
export function formatTimestamp(ns: bigint): string {
  const neg = ns < 0n;
  const a = neg ? -ns : ns;
  return `${neg ? '-' : ''}${a / 1_000_000_000n}.${(a % 1_000_000_000n).toString().padStart(9, '0')}`;
}

function value(v: DetailValue): string {
  if (v === null) return '?';
  if (typeof v === 'string') return /[\s,=]/.test(v) || v === '' ? JSON.stringify(v) : v;
  return String(v);
}

/**
 * One short field saying whose thread it was: `container=docker:0123456789ab` (or `pod:<uid>`), else the systemd
 * `unit=`, else `cgroup=<path>`; nothing when the cgroup is unknown (trace files).
 */
function whereField(o: OutlierRecord): string | undefined {
  if (o.cgroup === null || o.cgroup === undefined) return undefined;
  const label = containerLabel(o.container ?? null);
  if (label !== null) return `container=${value(label)}`;
  if (o.container?.unit) return `unit=${value(o.container.unit)}`;
  return `cgroup=${value(o.cgroup)}`;
}

/** The outlier's line(s): the header line, then one indented line per stack frame. */
export function formatOutlier(o: OutlierRecord): string {
  const what = o.reason === 'timeout' ? 'timeout' : 'latency';
  const parts = [
    `comm=${o.comm === null ? '?' : value(o.comm)}`,
    `tid=${o.tid ?? '?'}`,
    `cpu=${o.cpu ?? '?'}`,
    `${o.reason === 'timeout' ? 'in flight for' : 'latency'}=${formatDuration(o.latency_ns)}`,
    `start=${formatTimestamp(o.start_ns)}`,
  ];
  for (const [k, v] of Object.entries(o.detail)) parts.push(`${k}=${value(v)}`);
  const where = whereField(o);
  if (where !== undefined) parts.push(where);
  const t = o.throttle;
  if (t !== undefined && t !== null && t.nr_throttled > 0) {
    parts.push(`throttled=${t.nr_throttled}x/${formatDuration(t.throttled_ns)}`);
  }
  if (o.trace_file !== undefined) parts.push(`trace_file=${value(o.trace_file)}`);
  let text = `${o.analysis}_${what}: ${parts.join(', ')}`;
  if (o.stack !== undefined) for (const f of o.stack) text += `\n    ${f}`;
  return text;
}
