/**
 * Folded stacks for flame graphs (`--folded`, like bcc's `offcputime -f`): one line per distinct
 * `analysis;comm;outermost frame;...;innermost frame`, then a space and the total latency of those outliers in
 * microseconds. Frames lose their `+0x..` offsets so that a function is one box. Feed the output to
 * `flamegraph.pl` (or any folded-stack viewer).
 *
 * Timeouts are left out: the pair is reported again when it ends, and would count twice. The table is bounded:
 * past `limit` distinct stacks the rest add up under one `[other stacks]` line (counted, never dropped).
 */
import type { OutlierRecord } from '../analyses/engine.ts';

export const FOLDED_LIMIT = 65536;
const OTHER = '[other stacks]';

export class FoldedStacks {
  private readonly totals = new Map<string, number>();
  /** Outliers folded into the `[other stacks]` line because the table was full. */
  overflow = 0;

  constructor(private readonly limit = FOLDED_LIMIT) {}

  add(o: OutlierRecord): void {
    if (o.reason === 'timeout') return;
    const parts = [o.analysis, clean(o.comm ?? (o.tid !== null ? `<${o.tid}>` : '-'))];
    const stack = o.stack ?? [];
    for (let i = stack.length - 1; i >= 0; i--)
      parts.push(clean(stack[i].replace(/\+0x[0-9a-f]+(\/0x[0-9a-f]+)?$/, '')));
    let key = parts.join(';');
    if (!this.totals.has(key) && this.totals.size >= this.limit) {
      key = `${o.analysis};${OTHER}`;
      this.overflow++;
    }
    this.totals.set(key, (this.totals.get(key) ?? 0) + o.latency_ns);
  }

  /** The folded lines, heaviest first; values in whole microseconds (at least 1). */
  format(): string {
    const rows = [...this.totals].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    return rows.map(([k, ns]) => `${k} ${Math.max(1, Math.round(ns / 1000))}\n`).join('');
  }
}

/** A frame or name as one folded field: no `;` (the separator) and no spaces or newlines (the value follows one). */
function clean(s: string): string {
  return s.replace(/[;\s]/g, '_');
}
