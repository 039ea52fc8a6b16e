/**
 * What a file that is not a trace we read actually is, from its first bytes, so that `analyze`/`dump`/`compare`
 * can say it in one sentence with what to do instead of "bad magic". Pure: the caller reads the bytes.
 *
 * Text traces are recognised, not read: ftrace text loses what the analyses rely on (nanosecond times in most
 * variants, the format files that say how to read each field, the stack trigger's raw addresses), so the honest
 * answer is how to get the binary trace of the same events.
 */

/** The first bytes of a trace-cmd trace.dat file: 0x17 0x08 0x44 "tracing". */
export const TRACE_DAT_MAGIC = Uint8Array.of(0x17, 0x08, 0x44, 0x74, 0x72, 0x61, 0x63, 0x69, 0x6e, 0x67);

/** What to do instead, after saying what the file is. */
const INSTEAD =
  'which latency-tracker does not read: record the events into a trace.dat (`trace-cmd record -e EVENT ...`) ' +
  'or trace the kernel live (`latency-tracker live`)';

function startsWith(head: Uint8Array, magic: ArrayLike<number>): boolean {
  if (head.length < magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (head[i] !== magic[i]) return false;
  return true;
}

/** An ftrace event line: `TASK-PID [CPU] (flags) SEC.USEC: event:` with or without the flags column. */
const EVENT_LINE = /^\s*.+-\d+\s+(\(\s*[\d-]+\)\s+)?\[\d{1,4}\]\s+(\S{4,5}\s+)?\d+\.\d{6,9}: [\w:]+:/;
const FLAGS_LINE = /\[\d{1,4}\]\s+[.a-zA-Z0-9]{4,5}\s+\d+\.\d{6,9}: /;

/**
 * One sentence naming what `head` (the file's first few KiB) is and what to do, or undefined when it looks like
 * a trace.dat file or like nothing we know (the trace.dat reader then reports what is wrong with it).
 */
export function describeNonTrace(path: string, head: Uint8Array): string | undefined {
  if (startsWith(head, TRACE_DAT_MAGIC)) return undefined;
  if (head.length === 0) return `${path} is empty`;
  if (startsWith(head, [0x1f, 0x8b])) return `${path} is gzip-compressed: decompress it first (gunzip)`;
  if (startsWith(head, [0xfd, 0x37, 0x7a, 0x58, 0x5a])) return `${path} is xz-compressed: decompress it first (unxz)`;
  if (startsWith(head, [0x28, 0xb5, 0x2f, 0xfd])) return `${path} is zstd-compressed: decompress it first (unzstd)`;
  if (startsWith(head, [0x50, 0x45, 0x52, 0x46, 0x49, 0x4c, 0x45, 0x32])) {
    return `${path} is a perf.data file, ${INSTEAD}`;
  }
  // A CTF stream file (packet magic 0xC1FC1FC1, either byte order) or the metadata file of a trace directory.
  if (startsWith(head, [0xc1, 0x1f, 0xfc, 0xc1]) || startsWith(head, [0xc1, 0xfc, 0x1f, 0xc1])) {
    return `${path} is one stream file of a CTF trace: give the trace directory (the one holding its metadata file)`;
  }
  if (startsWith(head, [0x57, 0x1d, 0xd1, 0x75]) || startsWith(head, [0x75, 0xd1, 0x1d, 0x57])) {
    return `${path} is the metadata file of a CTF trace: give the trace directory that holds it`;
  }
  const text = new TextDecoder('utf-8', { fatal: false }).decode(head.subarray(0, 64 * 1024));
  if (text.startsWith('/* CTF 1.8')) return `${path} is the metadata file of a CTF trace: give its directory`;
  if (/^\s*(<!DOCTYPE html|<html)/i.test(text)) {
    const what = /class="trace-data"|Android System Trace|systrace/i.test(text)
      ? 'a systrace HTML report (ftrace text inside HTML)'
      : 'an HTML page';
    return `${path} is ${what}, ${INSTEAD}`;
  }
  const lines = text.split('\n', 200);
  if (/^version = \d+\s*$/.test(lines[0] ?? '') || lines.slice(0, 3).some((l) => /^cpus=\d+\s*$/.test(l))) {
    return `${path} is the text output of \`trace-cmd report\`: give the trace.dat file it was made from instead`;
  }
  if (lines.some((l) => l.startsWith('# tracer:')) || lines.some((l) => FLAGS_LINE.test(l))) {
    return `${path} is ftrace text output (a copy of tracefs' trace file), ${INSTEAD}`;
  }
  if (lines.some((l) => EVENT_LINE.test(l))) {
    return `${path} is ftrace event text (trace-cmd report or tracefs trace output), ${INSTEAD}`;
  }
  return undefined;
}
