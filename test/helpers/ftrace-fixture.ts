/**
 * Loads the ring-buffer pages captured live (test/fixtures/ftrace/, made by capture.ts) with their format files,
 * and the kernel's own text decoding of the same buffer (`trace`), which the tests use as the oracle.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEventFormat, parseHeaderPage } from '../../src/ftrace/format.ts';
import { EventSchema } from '../../src/ftrace/schema.ts';
import type { EventFormat, PageLayout } from '../../src/ftrace/types.ts';

export const FIXTURES = new URL('../fixtures/ftrace/', import.meta.url).pathname;

export function fixtureSchema(): EventSchema {
  const dir = join(FIXTURES, 'formats');
  const formats: EventFormat[] = [];
  for (const name of readdirSync(dir)) {
    if (!name.includes('__')) continue;
    const [sys] = name.split('__');
    formats.push(parseEventFormat(readFileSync(join(dir, name), 'utf8'), sys));
  }
  return new EventSchema(formats, 8, true);
}

export interface TextEntry {
  comm: string;
  pid: number;
  cpu: number;
  /** Microseconds as printed (the kernel rounds ns to µs). */
  usec: bigint;
  /** Event name (`kernel_stack` for `<stack trace>`). */
  event: string;
  info: string;
  /** Symbol lines of a `<stack trace>`. */
  stack: string[];
}

export function parseTraceText(text: string): TextEntry[] {
  const out: TextEntry[] = [];
  const re = /^\s*(.*)-(\d+)\s+\[(\d+)\]\s+\S+\s+(\d+)\.(\d{6}): (<stack trace>|[^:]+): ?(.*)$/;
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    if (line.startsWith(' => ')) {
      out.at(-1)?.stack.push(line.slice(4));
      continue;
    }
    const m = re.exec(line.endsWith(': <stack trace>') ? `${line}: ` : line);
    if (!m) throw new Error(`unparsed trace line: ${line}`);
    out.push({
      comm: m[1].trim(),
      pid: Number(m[2]),
      cpu: Number(m[3]),
      usec: BigInt(m[4]) * 1_000_000n + BigInt(m[5]),
      event: m[6] === '<stack trace>' ? 'kernel_stack' : m[6],
      info: m[7],
      stack: [],
    });
  }
  return out;
}

export interface Capture {
  name: string;
  layout: PageLayout;
  /** Concatenated sub-buffers per CPU. */
  cpus: Uint8Array[];
  text: TextEntry[];
  /** `overrun:` of per_cpu/cpuN/stats, read before the pages were drained. */
  overrun: number[];
}

export function loadCapture(name: string): Capture {
  const dir = join(FIXTURES, name);
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { cpus: number };
  const layout = parseHeaderPage(readFileSync(join(dir, 'header_page'), 'utf8'), { littleEndian: true });
  const cpus: Uint8Array[] = [];
  const overrun: number[] = [];
  for (let c = 0; c < meta.cpus; c++) {
    cpus.push(new Uint8Array(readFileSync(join(dir, `cpu${c}.bin`))));
    const stats = readFileSync(join(dir, `stats${c}.txt`), 'utf8');
    overrun.push(Number(/^overrun: (\d+)/m.exec(stats)?.[1] ?? Number.NaN));
  }
  return { name, layout, cpus, text: parseTraceText(readFileSync(join(dir, 'trace.txt'), 'utf8')), overrun };
}

/** Deterministic PRNG (mulberry32) for fuzz-style tests. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
