/**
 * Every record the CTF source delivers reads back, through its synthetic format, the values babeltrace (an
 * independent CTF reader, Debian package `babeltrace`) prints for that event. The expected names below are written
 * from the lttng-modules and kernel event definitions, not taken from mapping.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { test } from 'node:test';
import type { FieldFormat, TraceRecord } from '../../ftrace/types.ts';
import { absTime } from './dump.ts';
import { openCtfTrace } from './index.ts';

const TRACES = new URL('../../../../shared/traces/', import.meta.url).pathname;
const haveBabeltrace = spawnSync('babeltrace', ['--help'], { stdio: 'ignore' }).status === 0;

/** ftrace field ← LTTng field(s), per mapped format. */
const FROM: Record<string, Record<string, string[]>> = {
  'sched:sched_switch': {
    prev_comm: ['prev_comm'],
    prev_pid: ['prev_tid'],
    prev_prio: ['prev_prio'],
    prev_state: ['prev_state'],
    next_comm: ['next_comm'],
    next_pid: ['next_tid'],
    next_prio: ['next_prio'],
  },
  'sched:sched_process_fork': {
    parent_comm: ['parent_comm'],
    parent_pid: ['parent_tid'],
    child_comm: ['child_comm'],
    child_pid: ['child_tid'],
  },
  'sched:sched_process_exec': { filename: ['filename'], pid: ['tid', 'pid'], old_pid: ['old_tid', 'old_pid'] },
  'sched:sched_migrate_task': {
    comm: ['comm'],
    pid: ['tid'],
    prio: ['prio'],
    orig_cpu: ['orig_cpu'],
    dest_cpu: ['dest_cpu'],
  },
  'irq:irq_handler_entry': { irq: ['irq'], name: ['name'] },
  'irq:irq_handler_exit': { irq: ['irq'], ret: ['ret'] },
  'block:block_rq_issue': {
    dev: ['dev'],
    sector: ['sector'],
    nr_sector: ['nr_sector'],
    bytes: ['bytes'],
    comm: ['comm'],
    rwbs: ['rwbs'],
  },
  'block:block_rq_complete': {
    dev: ['dev'],
    sector: ['sector'],
    nr_sector: ['nr_sector'],
    error: ['error', 'errors'],
    rwbs: ['rwbs'],
  },
  'net:net_dev_xmit': { skbaddr: ['skbaddr'], len: ['len'], rc: ['rc'], name: ['name'] },
  'raw_syscalls:sys_exit': { ret: ['ret'] },
};
for (const n of ['sched_waking', 'sched_wakeup', 'sched_wakeup_new']) {
  FROM[`sched:${n}`] = { comm: ['comm'], pid: ['tid'], prio: ['prio'], target_cpu: ['target_cpu'] };
}
for (const n of ['sched_process_exit', 'sched_process_free']) {
  FROM[`sched:${n}`] = { comm: ['comm'], pid: ['tid'], prio: ['prio'] };
}
for (const n of ['softirq_entry', 'softirq_exit', 'softirq_raise']) FROM[`irq:${n}`] = { vec: ['vec'] };
for (const n of ['net_dev_queue', 'netif_receive_skb', 'netif_rx']) {
  FROM[`net:${n}`] = { skbaddr: ['skbaddr'], len: ['len'], name: ['name'] };
}
/** Checked elsewhere (source.test.ts: syscall numbering). */
const NOT_FROM_FIELDS = new Set(['raw_syscalls:sys_enter.id', 'raw_syscalls:sys_exit.id']);

/** ftrace rwbs letters for the lttng-modules 2.1 bit mask (W=1, D=2, R=4, A=8, S=16, M=32, E=64). */
function rwbs21(v: number): string {
  const op = v & 1 ? 'W' : v & 2 ? 'D' : v & 4 ? 'R' : 'N';
  return op + (v & 8 ? 'A' : '') + (v & 16 ? 'S' : '') + (v & 32 ? 'M' : '') + (v & 64 ? 'E' : '');
}

/** Splits `a = 1, b = [ ... ], c = "x, y"` at top-level commas. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quoted) {
      cur += c;
      if (c === '\\') cur += s[++i];
      else if (c === '"') quoted = false;
      continue;
    }
    if (c === '"') quoted = true;
    else if (c === '[' || c === '{' || c === '(') depth++;
    else if (c === ']' || c === '}' || c === ')') depth--;
    if (c === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  if (cur.trim() !== '') out.push(cur.trim());
  return out;
}

/** babeltrace's events, by "time name cpu", in stream order for equal keys. */
function babeltraceEvents(dir: string): Map<string, Map<string, string>[]> {
  const text = execFileSync('babeltrace', ['--clock-seconds', '--no-delta', dir], { maxBuffer: 1 << 30 }).toString();
  const out = new Map<string, Map<string, string>[]>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i];
    if (!line.startsWith('[')) continue;
    // a string holding a newline continues on the next line
    while (i + 1 < lines.length && lines[i + 1] !== '' && !lines[i + 1].startsWith('[')) line += `\n${lines[++i]}`;
    const m = /^\[(\d+\.\d+)\] \S+ (\S+): \{ cpu_id = (\d+) \}(?:, \{ ?([\s\S]*?) ?\})?$/.exec(line);
    assert.ok(m, `unparsed babeltrace line: ${line.slice(0, 120)}`);
    const fields = new Map<string, string>();
    if (m[4] !== undefined && m[4] !== '') {
      for (const part of splitTop(m[4])) {
        const eq = part.indexOf(' = ');
        fields.set(part.slice(0, eq), part.slice(eq + 3));
      }
    }
    const key = `${m[1]} ${m[2]} ${m[3]}`;
    let l = out.get(key);
    if (l === undefined) out.set(key, (l = []));
    l.push(fields);
  }
  return out;
}

const utf8 = new TextDecoder();

/** A field of our record as babeltrace would print it (numbers in decimal, strings quoted, arrays bracketed). */
function ours(r: TraceRecord, f: FieldFormat): string {
  const v = r.view;
  const at = r.off + f.offset;
  const int = (o: number, size: number, signed: boolean): string => {
    if (size === 1) return String(signed ? v.getInt8(o) : v.getUint8(o));
    if (size === 2) return String(signed ? v.getInt16(o, true) : v.getUint16(o, true));
    if (size === 4) return String(signed ? v.getInt32(o, true) : v.getUint32(o, true));
    return String(signed ? v.getBigInt64(o, true) : v.getBigUint64(o, true));
  };
  const text = (start: number, max: number) => {
    let e = start;
    while (e < start + max && r.bytes[e] !== 0) e++;
    return `"${utf8.decode(r.bytes.subarray(start, e))}"`;
  };
  if (f.kind === 'dynamic') {
    const loc = v.getUint32(at, true);
    const start = r.off + (loc & 0xffff);
    if (f.isString) return text(start, loc >>> 16);
    const els: string[] = [];
    for (let k = 0; k < loc >>> 16; k += f.elementSize) els.push(int(start + k, f.elementSize, f.signed));
    return `[${els.join(',')}]`;
  }
  if (f.kind === 'array') {
    if (f.isString) return text(at, f.size);
    const els: string[] = [];
    for (let k = 0; k < f.count; k++) els.push(int(at + k * f.elementSize, f.elementSize, f.signed));
    return `[${els.join(',')}]`;
  }
  return int(at, f.size, f.signed);
}

/** babeltrace's text normalized like `ours`: hex and enums to decimal, array indexes dropped. */
function theirs(s: string): string {
  const enumValue = /^\( "[^"]*" : container = (-?\d+) \)$/.exec(s);
  if (enumValue) return enumValue[1];
  if (/^0x[0-9a-fA-F]+$/.test(s)) return BigInt(s).toString();
  if (s.startsWith('[')) {
    const els = s
      .slice(1, -1)
      .split(',')
      .map((x) => x.replace(/\[\d+\] = /, '').trim())
      .filter((x) => x !== '')
      .map((x) => (/^0x/.test(x) ? BigInt(x).toString() : x));
    return `[${els.join(',')}]`;
  }
  return s;
}

for (const name of ['lttng-many-threads', 'lttng-arm-bug446190', 'lttng-scp-src', 'lttng-scp-dest']) {
  test(`${name}: every field of every record equals babeltrace's value`, {
    skip: !haveBabeltrace && 'babeltrace not installed',
  }, async (t) => {
    const dir = `${TRACES}${name}/kernel`;
    const want = babeltraceEvents(dir);
    const src = await openCtfTrace(dir);
    let records = 0;
    let fields = 0;
    const problems: string[] = [];
    const note = (s: string) => {
      if (problems.length < 10) problems.push(s);
    };
    await src.run({
      record(r) {
        records++;
        const fmt = src.schema.byId(r.id)!;
        const key = `${absTime(src.originNs, r.ts)} ${src.eventName} ${r.cpu}`;
        const bt = want.get(key)?.shift();
        if (bt === undefined) return note(`no babeltrace event ${key}`);
        const sys = `${fmt.system}:${fmt.name}`;
        const from = FROM[sys];
        if (fmt.system !== 'lttng' && from === undefined && sys !== 'raw_syscalls:sys_enter') {
          return note(`mapped format ${sys} not covered by this test`);
        }
        for (const f of fmt.fields) {
          if (f.common || NOT_FROM_FIELDS.has(`${sys}.${f.name}`)) continue;
          const names = fmt.system === 'lttng' ? [f.name] : from[f.name];
          if (names === undefined) {
            note(`${sys}.${f.name} has no source in this test`);
            continue;
          }
          const source = names.find((n) => bt.has(n));
          if (source === undefined) {
            // a target field this LTTng version does not record must read as zero
            if (ours(r, f) !== '0' && ours(r, f) !== '""') note(`${key}: ${sys}.${f.name} without a source is not 0`);
            continue;
          }
          fields++;
          let expect = theirs(bt.get(source)!);
          const got = ours(r, f);
          // (only the lttng-modules 2.1 scp traces have block_rq events)
          if (f.name === 'rwbs' && fmt.system === 'block') expect = `"${rwbs21(Number(expect))}"`;
          // babeltrace prints base-8 integers in octal without a prefix
          if (got !== expect && /^[0-7]+$/.test(expect) && BigInt(`0o${expect}`).toString() === got) continue;
          if (got !== expect) note(`${key}: ${sys}.${f.name} = ${got}, babeltrace ${source} = ${expect}`);
        }
      },
    });
    assert.deepEqual(problems, []);
    let left = 0;
    for (const l of want.values()) left += l.length;
    assert.equal(left, 0, 'babeltrace events not delivered');
    assert.ok(records > 30000 && fields > records, `${records} records, ${fields} fields`);
    t.diagnostic(`${records} records, ${fields} fields equal to babeltrace's`);
  });
}
