import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fixtureSchema, loadCapture } from '../../test/helpers/ftrace-fixture.ts';
import { compileDecoder, FieldError, intReader, stringReader, type U64Parts, u64Reader } from './fields.ts';
import { formatTaskState, parseEventFormat, parseTaskStateMask } from './format.ts';
import { CpuMerger } from './merge.ts';
import { EventSchema } from './schema.ts';
import { stackReader } from './stack.ts';
import type { EventFormat, TraceRecord } from './types.ts';

const schema = fixtureSchema();
const fmt = (name: string): EventFormat => {
  const f = schema.find(name);
  assert.ok(f, name);
  return f;
};

describe('field readers on live-captured records, checked against the kernel text', () => {
  const cap = loadCapture('subbuf-16k');
  const ss = fmt('sched_switch');
  const wk = fmt('sched_waking');
  const se = fmt('sys_enter');
  const sx = fmt('sys_exit');
  const bi = fmt('block_rq_issue');
  const ks = fmt('kernel_stack');
  const r = {
    prevComm: stringReader(ss, 'prev_comm', schema),
    prevPid: intReader(ss, 'prev_pid', schema),
    prevState: intReader(ss, 'prev_state', schema),
    nextComm: stringReader(ss, 'next_comm', schema),
    nextPid: intReader(ss, 'next_pid', schema),
    nextPrio: intReader(ss, 'next_prio', schema),
    wComm: stringReader(wk, 'comm', schema),
    wPid: intReader(wk, 'pid', schema),
    wCpu: intReader(wk, 'target_cpu', schema),
    nr: intReader(se, 'id', schema),
    args: compileDecoder(se, schema),
    xnr: intReader(sx, 'id', schema),
    ret: intReader(sx, 'ret', schema),
    dev: intReader(bi, 'dev', schema),
    sector: u64Reader(bi, 'sector', schema),
    bytes: intReader(bi, 'bytes', schema),
    rwbs: stringReader(bi, 'rwbs', schema),
    comm: stringReader(bi, 'comm', schema),
    stack: stackReader(ks, schema),
  };
  const mask = parseTaskStateMask(ss.printFmt);
  const parts: U64Parts = { hi: 0, lo: 0 };
  const scratch = new Uint32Array(128);

  it('decodes sched_switch, sched_waking, sys_enter/exit, block_rq_issue and kernel_stack like the kernel', () => {
    const m = new CpuMerger({ cpus: 2, layout: cap.layout, schema, origin: 0n });
    for (let c = 0; c < 2; c++) {
      for (let p = 0; p < cap.cpus[c].length; p += cap.layout.pageSize)
        m.addPage(c, cap.cpus[c].subarray(p, p + cap.layout.pageSize));
    }
    let i = 0;
    const counts: Record<string, number> = {};
    const bad: string[] = [];
    m.drain({
      record(rec: TraceRecord) {
        const t = cap.text[i++];
        let ours: string | undefined;
        switch (rec.id) {
          case ss.id:
            ours =
              `prev_comm=${r.prevComm(rec)} prev_pid=${r.prevPid(rec)} prev_prio=${intReader(ss, 'prev_prio', schema)(rec)} ` +
              `prev_state=${formatTaskState(r.prevState(rec), mask)} ==> next_comm=${r.nextComm(rec)} ` +
              `next_pid=${r.nextPid(rec)} next_prio=${r.nextPrio(rec)}`;
            break;
          case wk.id:
            ours = `comm=${r.wComm(rec)} pid=${r.wPid(rec)} prio=${intReader(wk, 'prio', schema)(rec)} target_cpu=${String(r.wCpu(rec)).padStart(3, '0')}`;
            break;
          case se.id: {
            const a = r.args(rec).args as (number | bigint)[];
            ours = `NR ${r.nr(rec)} (${a.map((x) => x.toString(16)).join(', ')})`;
            break;
          }
          case sx.id:
            ours = `NR ${r.xnr(rec)} = ${r.ret(rec)}`;
            break;
          case bi.id: {
            r.sector(rec, parts);
            const sector = (BigInt(parts.hi) << 32n) | BigInt(parts.lo);
            const dev = r.dev(rec);
            // "%d,%d %s %u (%s) %llu + %u %s,%u,%u [%s]": the ioprio as class name, hint, level (6.x kernels).
            const io = intReader(bi, 'ioprio', schema)(rec);
            const cls = ['none', 'rt', 'be', 'idle'][io >>> 13] ?? String(io >>> 13);
            ours =
              `${dev >>> 20},${dev & 0xfffff} ${r.rwbs(rec)} ${r.bytes(rec)} () ${sector} + ` +
              `${intReader(bi, 'nr_sector', schema)(rec)} ${cls},${(io >>> 3) & 0x3ff},${io & 7} [${r.comm(rec)}]`;
            break;
          }
          case ks.id: {
            const n = r.stack(rec, scratch);
            ours = `${n} frames`;
            if (t.stack.length !== n) bad.push(`#${i - 1} stack: ours ${n} frames, kernel ${t.stack.length}`);
            break;
          }
        }
        if (ours !== undefined) {
          const name = schema.byId(rec.id)?.name ?? '?';
          counts[name] = (counts[name] ?? 0) + 1;
          if (rec.id !== ks.id && ours !== t.info) bad.push(`#${i - 1} ${name}: ours "${ours}" kernel "${t.info}"`);
        }
      },
    });
    assert.deepEqual(bad.slice(0, 5), []);
    for (const e of ['sched_switch', 'sched_waking', 'sys_enter', 'sys_exit', 'block_rq_issue', 'kernel_stack']) {
      assert.ok((counts[e] ?? 0) > 10, `${e}: ${counts[e]}`);
    }
  });

  it('refuses wrong fields at compile time', () => {
    assert.throws(() => intReader(ss, 'nope', schema), FieldError);
    assert.throws(() => intReader(ss, 'prev_comm', schema), /not an integer field/);
    assert.throws(() => stringReader(ss, 'prev_pid', schema), /not a string/);
  });
});

describe('field readers: sizes, signedness, byte order, bounds', () => {
  const text = [
    'name: demo',
    'ID: 77',
    'format:',
    '\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;',
    '\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;',
    '\tfield:s8 a;\toffset:8;\tsize:1;\tsigned:1;',
    '\tfield:u16 b;\toffset:10;\tsize:2;\tsigned:0;',
    '\tfield:s32 c;\toffset:12;\tsize:4;\tsigned:1;',
    '\tfield:u64 d;\toffset:16;\tsize:8;\tsigned:0;',
    '\tfield:s64 e;\toffset:24;\tsize:8;\tsigned:1;',
    '\tfield:__data_loc char[] s;\toffset:32;\tsize:4;\tsigned:0;',
    '\tfield:__rel_loc char[] t;\toffset:36;\tsize:4;\tsigned:0;',
    '',
    'print fmt: "x"',
  ].join('\n');
  const f = parseEventFormat(text, 'demo');

  for (const le of [true, false]) {
    it(`${le ? 'little' : 'big'}-endian record`, () => {
      const sch = new EventSchema([f], 8, le);
      const buf = new Uint8Array(64 + 8);
      const dv = new DataView(buf.buffer);
      const o = 8; // payload starts 8 bytes into the buffer
      dv.setUint16(o + 0, 77, le);
      dv.setInt8(o + 8, -5);
      dv.setUint16(o + 10, 65000, le);
      dv.setInt32(o + 12, -123456, le);
      dv.setBigUint64(o + 16, 0xffff8881_4dc332e0n, le);
      dv.setBigInt64(o + 24, -(2n ** 40n), le);
      buf.set(new TextEncoder().encode('hello\0'), o + 40);
      dv.setUint32(o + 32, (6 << 16) | 40, le);
      buf.set(new TextEncoder().encode('rel\0'), o + 46);
      dv.setUint32(o + 36, (4 << 16) | (46 - 40), le);
      const rec: TraceRecord = { cpu: 0, ts: 0, id: 77, pid: 0, bytes: buf, view: dv, off: o, len: 50 };
      assert.equal(intReader(f, 'a', sch)(rec), -5);
      assert.equal(intReader(f, 'b', sch)(rec), 65000);
      assert.equal(intReader(f, 'c', sch)(rec), -123456);
      assert.equal(intReader(f, 'e', sch)(rec), -(2 ** 40));
      const p: U64Parts = { hi: 0, lo: 0 };
      u64Reader(f, 'd', sch)(rec, p);
      assert.deepEqual(p, { hi: 0xffff8881, lo: 0x4dc332e0 });
      u64Reader(f, 'c', sch)(rec, p);
      assert.deepEqual(p, { hi: 0xffffffff, lo: -123456 >>> 0 });
      assert.equal(stringReader(f, 's', sch)(rec), 'hello');
      assert.equal(stringReader(f, 't', sch)(rec), 'rel');
      const all = compileDecoder(f, sch)(rec);
      assert.equal(all.d, 0xffff8881_4dc332e0n);
      assert.equal(all.e, -(2 ** 40));
      // A record too short for a field reads 0 / '' instead of a neighbour's bytes.
      const short = { ...rec, len: 20 };
      assert.equal(intReader(f, 'e', sch)(short), 0);
      assert.equal(stringReader(f, 's', sch)(short), '');
      // A __data_loc pointing past the record is clamped to it.
      dv.setUint32(o + 32, (200 << 16) | 40, le);
      assert.equal(stringReader(f, 's', sch)({ ...rec, len: 43 }), 'hel');
    });
  }
});
