/**
 * The acceptance test: every record of the shared trace.dat (v7, zstd) and trace-v6.dat decodes to exactly what
 * `trace-cmd report -t -R` printed for it (report-raw.txt.xz, 204 586 lines): buffer, comm, tid, CPU, nanosecond
 * time, event name and every field value as trace-cmd prints it raw; kernel stacks also as exact addresses.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { compileDecoder } from '../../ftrace/fields.ts';
import { formatNs, RecordFormatter } from '../../ftrace/report.ts';
import { stackReader } from '../../ftrace/stack.ts';
import type { TraceRecord } from '../../ftrace/types.ts';
import { openTraceDat } from './index.ts';

const DIR = new URL('../../../../shared/traces/tracecmd-x86-vm/', import.meta.url).pathname;
const REPORT = `${DIR}report-raw.txt.xz`;
const have = existsSync(REPORT) && existsSync(`${DIR}trace.dat`);

interface RefLine {
  buffer: string;
  comm: string;
  tid: number;
  cpu: number;
  time: string;
  event: string;
  rest: string;
}

const LINE = /^(?:(\S+): )?\s*(.*)-(\d+)\s+\[(\d{3})\]\s+(\d+\.\d{9}): (\w+):\s+(.*)$/;

function referenceLines(): string[] {
  const text = execFileSync('xz', ['-dc', REPORT], { maxBuffer: 512 * 1024 * 1024, encoding: 'utf8' });
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** Splits the field part at the known field names (values may contain spaces). */
function splitFields(rest: string, names: string[]): Map<string, string> | undefined {
  const out = new Map<string, string>();
  let pos = 0;
  for (let i = 0; i < names.length; i++) {
    const key = `${names[i]}=`;
    if (!rest.startsWith(key, pos)) return undefined;
    pos += key.length;
    let end = rest.length;
    if (i + 1 < names.length) {
      end = rest.indexOf(` ${names[i + 1]}=`, pos);
      if (end < 0) return undefined;
    }
    out.set(names[i], rest.slice(pos, end));
    pos = end + 1;
  }
  return out;
}

function u64le(bytes: string[], i: number): bigint {
  let v = 0n;
  for (let k = 7; k >= 0; k--) v = (v << 8n) | BigInt(Number.parseInt(bytes[i * 8 + k], 16));
  return v;
}

async function compareFile(file: string, ref: string[]) {
  const src = await openTraceDat(`${DIR}${file}`);
  const fmt = new RecordFormatter(src.schema, {
    origin: src.originNs,
    clock: src.clock,
    buffer: src.buffer,
    comm: (t) => src.comm(t),
  });
  const ks = src.schema.find('ftrace:kernel_stack');
  assert.ok(ks, 'kernel_stack format');
  const readStack = stackReader(ks, src.schema);
  const scratch = new Uint32Array(256);
  const decoders = new Map<number, ReturnType<typeof compileDecoder>>();
  assert.equal(ref[0], `cpus=${src.cpus}`);
  let i = 1;
  let fields = 0;
  let stacks = 0;
  let decoded = 0;
  const mismatches: string[] = [];
  const miss = (what: string, ours: unknown, theirs: unknown) => {
    if (mismatches.length < 20)
      mismatches.push(
        `${file} record ${i - 1} (report line ${i + 1}) ${what}: ours ${String(ours)} / trace-cmd ${String(theirs)}`,
      );
    else mismatches.length++;
  };
  const check = (r: TraceRecord) => {
    const line = ref[i++];
    const m = line === undefined ? null : LINE.exec(line);
    if (!m) {
      miss('line', 'a record', line);
      return;
    }
    const want: RefLine = {
      buffer: m[1] ?? '',
      comm: m[2].trimStart(),
      tid: Number(m[3]),
      cpu: Number(m[4]),
      time: m[5],
      event: m[6],
      rest: m[7],
    };
    const format = src.schema.byId(r.id);
    if (want.buffer !== src.buffer) miss('buffer', src.buffer, want.buffer);
    if (fmt.commOf(r.pid) !== want.comm) miss('comm', fmt.commOf(r.pid), want.comm);
    if (r.pid !== want.tid) miss('tid', r.pid, want.tid);
    if (r.cpu !== want.cpu) miss('cpu', r.cpu, want.cpu);
    const time = formatNs(src.originNs + BigInt(r.ts)).trim();
    if (time !== want.time) miss('time', time, want.time);
    if (format?.name !== want.event) miss('event', format?.name, want.event);
    if (format === undefined) return;
    const whole = fmt.formatLine(r);
    if (whole !== line) miss('whole line', whole, line);
    const ours = fmt.fieldValues(r);
    const theirs = splitFields(
      want.rest,
      ours.map(([k]) => k),
    );
    if (theirs === undefined) {
      miss('field names', ours.map(([k]) => k).join(','), want.rest.slice(0, 80));
      return;
    }
    for (const [k, v] of ours) {
      fields++;
      if (theirs.get(k) !== v) miss(`field ${format.name}.${k}`, v, theirs.get(k));
    }
    // The full decoder agrees with trace-cmd wherever trace-cmd printed a plain decimal or a string.
    let dec = decoders.get(r.id);
    if (dec === undefined) decoders.set(r.id, (dec = compileDecoder(format, src.schema)));
    const values = dec(r);
    for (const f of format.fields) {
      const t = theirs.get(f.name);
      if (t === undefined) continue;
      const v = values[f.name];
      if (f.kind === 'int' && /^-?\d+$/.test(t)) {
        if (
          BigInt(v as number | bigint) !== BigInt(t) &&
          BigInt.asUintN(f.size * 8, BigInt(v as number | bigint)) !== BigInt.asUintN(f.size * 8, BigInt(t))
        ) {
          miss(`decoded ${format.name}.${f.name}`, v, t);
        }
        decoded++;
      } else if (typeof v === 'string' && !t.startsWith('ARRAY[')) {
        if (v !== t) miss(`decoded ${format.name}.${f.name}`, v, t);
        decoded++;
      }
    }
    if (format.name === 'kernel_stack') {
      stacks++;
      const n = readStack(r, scratch);
      const size = Number(theirs.get('size'));
      if (n !== size) miss('stack depth', n, size);
      const bytes = /^ARRAY\[(.*)\]$/.exec(theirs.get('caller') ?? '')?.[1].split(', ') ?? [];
      for (let k = 0; k < Math.min(n, bytes.length / 8); k++) {
        const addr = (BigInt(scratch[2 * k]) << 32n) | BigInt(scratch[2 * k + 1]);
        if (addr !== u64le(bytes, k)) miss(`stack address ${k}`, addr.toString(16), u64le(bytes, k).toString(16));
      }
    }
  };
  const stats = await src.run({ record: check });
  if (i !== ref.length) miss('record count', i - 1, ref.length - 1);
  assert.deepEqual(mismatches, [], `${mismatches.length} mismatches`);
  assert.equal(stats.records, 204585);
  assert.deepEqual(stats.errors, {});
  return { records: stats.records, fields, stacks, decoded };
}

describe('exactness against trace-cmd report -t -R', { skip: have ? false : `no ${REPORT}` }, () => {
  const ref = have ? referenceLines() : [];

  it('has the reference', () => {
    assert.equal(ref.length, 204586);
  });

  for (const file of ['trace.dat', 'trace-v6.dat']) {
    it(`${file}: zero mismatches over every record and field`, async () => {
      const r = await compareFile(file, ref);
      console.log(
        `# ${file}: ${r.records} records, ${r.fields} field values, ${r.stacks} stacks, ${r.decoded} decoded values: 0 mismatches`,
      );
      assert.ok(r.fields > 300_000, `compared ${r.fields} fields`);
      assert.equal(r.stacks, 2204);
      assert.ok(r.decoded > 200_000);
    });
  }
});
