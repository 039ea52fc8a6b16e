/**
 * What a trace.dat needs besides the pages, read from the live kernel: the instance's `header_page`/`header_event`
 * and the format of every event the source decodes, `/proc/kallsyms`, `printk_formats`, the kernel's comm table
 * (`saved_cmdlines`), the instance's `trace_clock` and per-CPU `stats` (lost-event counts). Read-only; every path
 * comes from `Paths` and the instance.
 */
import { readFileSync } from 'node:fs';
import { endianness, hostname, release, type } from 'node:os';
import { join } from 'node:path';
import { parseHeaderPage } from '../../ftrace/format.ts';
import type { PageLayout } from '../../ftrace/types.ts';
import type { Paths } from '../../paths.ts';
import { SetupError } from '../errors.ts';
import type { TraceDatMeta } from '../tracedat/writer.ts';
import type { TracefsInstance } from './instance.ts';
import type { LiveSource } from './source.ts';

function readOr(path: string, dflt: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return dflt;
  }
}

export interface LiveMetadata {
  meta: TraceDatMeta;
  /** The instance's `trace_clock` text (`... [mono] ...`). */
  traceClock: string;
  /** `sysname nodename release machine`, as trace-cmd's UNAME option (its last word names the architecture). */
  uname: string;
}

/** Metadata of a live source (call after `LiveSource.open`); the cmdlines are those known now. */
export function liveMetadata(source: LiveSource, paths: Paths): LiveMetadata {
  const inst = source.instance;
  const headerPage = inst.readOptional('events/header_page');
  const headerEvent = inst.readOptional('events/header_event') ?? '';
  if (headerPage === undefined) throw new SetupError('tracefs has no events/header_page: cannot write a trace.dat');
  const formats: { system: string; text: string }[] = [];
  for (const f of source.schema.formats) {
    const text = inst.readOptional(join('events', f.system, f.name, 'format'));
    if (text !== undefined) formats.push({ system: f.system, text });
  }
  return {
    meta: {
      headerPage,
      headerEvent,
      formats,
      kallsyms: readOr(join(paths.procfs, 'kallsyms'), ''),
      printk: readOr(join(paths.tracefs, 'printk_formats'), ''),
      cmdlines: liveCmdlines(paths),
    },
    traceClock: (inst.readOptional('trace_clock') ?? `[${source.clock}]`).trim(),
    uname: `${type()} ${hostname()} ${release()} ${source.arch}`,
  };
}

/** The kernel's comm table (`saved_cmdlines`: `pid comm` lines). */
export function liveCmdlines(paths: Paths): string {
  return readOr(join(paths.tracefs, 'saved_cmdlines'), '');
}

/** Per-CPU `stats` of the instance as trace-cmd's CPUSTAT options (`CPU: N` then the file). */
export function liveCpuStats(inst: TracefsInstance): string[] {
  const out: string[] = [];
  for (let c = 0; c < inst.cpus; c++) {
    const s = inst.readOptional(join('per_cpu', `cpu${c}`, 'stats'));
    if (s !== undefined) out.push(`CPU: ${c}\n${s.endsWith('\n') ? s : `${s}\n`}`);
  }
  return out;
}

/** The sub-buffer layout of a live source's instance (`header_page`, with the instance's sub-buffer size). */
export function livePageLayout(source: LiveSource): PageLayout {
  const text = source.instance.readOptional('events/header_page');
  if (text === undefined) throw new SetupError('tracefs has no events/header_page');
  const layout = parseHeaderPage(text, { littleEndian: endianness() === 'LE' });
  return { ...layout, pageSize: source.instance.pageSize };
}
