/**
 * `latency-tracker list`: every analysis, the events it reads, and whether this kernel has them.
 */
import { existsSync, readdirSync } from 'node:fs';
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

/**
 * `system:name` of a tracepoint given as `system:name` or a bare `name` (as `dump -e` takes for files), from the
 * running kernel's `events/` tree; a string explaining why not when it has none or several systems have it.
 */
export function resolveLiveEvent(paths: Paths, event: string): string | { error: string } {
  if (event.includes(':')) {
    return kernelHas(paths)(event) ? event : { error: `this kernel has no tracepoint ${event}` };
  }
  let systems: string[] = [];
  try {
    systems = readdirSync(join(paths.tracefs, 'events'));
  } catch {
    return { error: `cannot list ${join(paths.tracefs, 'events')}` };
  }
  const found = systems.filter((s) => existsSync(join(paths.tracefs, 'events', s, event, 'format')));
  if (found.length === 1) return `${found[0]}:${event}`;
  if (found.length === 0) return { error: `this kernel has no tracepoint named ${event}` };
  return { error: `${event} is in several systems (${found.map((s) => `${s}:${event}`).join(', ')}): name one` };
}

export interface ListRow {
  analysis: string;
  description: string;
  threshold_ns: number;
  events: string[];
  /** Whether this kernel has the events; null when tracefs could not be read (not root): unknown. */
  available: boolean | null;
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
      available: has === undefined ? null : typeof ev === 'object',
      missing: typeof ev === 'string' ? ev : null,
    };
  });
}

/**
 * The human table: a header row, then per analysis its name, whether this kernel has its events (`yes`, `no`, or
 * `?` when tracefs could not be read), its default threshold, and under it what it measures and its events.
 */
export function formatList(rows: ListRow[]): string {
  const lines: string[] = [`${'ANALYSIS'.padEnd(15)}${'KERNEL'.padEnd(8)}THRESHOLD`];
  for (const r of rows) {
    const mark = r.available === null ? '?' : r.available ? 'yes' : 'no';
    lines.push(`${r.analysis.padEnd(15)}${mark.padEnd(8)}${durationText(r.threshold_ns)}`);
    lines.push(`    ${r.description}`);
    lines.push(`    events: ${r.events.join(', ')}`);
    if (r.missing !== null) lines.push(`    unavailable: ${r.missing}`);
  }
  return `${lines.join('\n')}\n`;
}
