/**
 * `latency-tracker list`: every analysis, the events it reads, and whether this kernel has them.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ANALYSES } from '../analyses/index.ts';
import type { Paths } from '../paths.ts';
import { durationText } from '../sinks/durations.ts';

/** True when the running kernel has tracepoint `system:name` (looked up in the top-level tracefs). */
export function kernelHas(paths: Paths): (event: string) => boolean {
  return (event) => {
    const m = /^([a-z0-9_]+):([a-z0-9_]+)$/.exec(event);
    return m !== null && existsSync(join(paths.tracefs, 'events', m[1], m[2], 'format'));
  };
}

export interface ListRow {
  analysis: string;
  description: string;
  threshold_ns: number;
  events: string[];
  available: boolean;
  missing: string | null;
}

export function listAnalyses(has: ((event: string) => boolean) | undefined): ListRow[] {
  return ANALYSES.map((a) => {
    const ev = has === undefined ? undefined : a.events(has);
    const all = a.events(() => true) as string[];
    return {
      analysis: a.name,
      description: a.description,
      threshold_ns: a.defaultThreshold,
      events: typeof ev === 'object' ? ev : all,
      available: has !== undefined && typeof ev === 'object',
      missing: typeof ev === 'string' ? ev : has === undefined ? 'tracefs not readable' : null,
    };
  });
}

export function formatList(rows: ListRow[]): string {
  const lines: string[] = [];
  for (const r of rows) {
    const mark = r.available ? 'yes' : 'no ';
    lines.push(`${r.analysis.padEnd(14)} ${mark}  threshold ${durationText(r.threshold_ns)}`);
    lines.push(`    ${r.description}`);
    lines.push(`    events: ${r.events.join(', ')}`);
    if (r.missing !== null) lines.push(`    unavailable: ${r.missing}`);
  }
  return `${lines.join('\n')}\n`;
}
