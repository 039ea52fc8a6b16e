import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  FormatError,
  formatTaskState,
  parseEventFormat,
  parseHeaderEvent,
  parseHeaderPage,
  parseTaskStateMask,
} from './format.ts';

const TRACEFS = process.env.TRACEFS ?? '/sys/kernel/tracing';
const EVENTS = join(TRACEFS, 'events');
const live = existsSync(join(EVENTS, 'header_page'));
const FIX = new URL('../../test/fixtures/ftrace/', import.meta.url).pathname;
const fixture = (name: string) => readFileSync(join(FIX, name), 'utf8');

describe('format files of the live kernel', { skip: live ? false : `no tracefs at ${TRACEFS}` }, () => {
  it('parses every events/*/*/format with every field line accounted for', () => {
    let files = 0;
    let fieldLines = 0;
    let fields = 0;
    const failures: string[] = [];
    for (const sys of readdirSync(EVENTS)) {
      const dir = join(EVENTS, sys);
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        continue;
      }
      for (const ev of names) {
        const path = join(dir, ev, 'format');
        if (!existsSync(path)) continue;
        const text = readFileSync(path, 'utf8');
        files++;
        fieldLines += text.split('\n').filter((l) => /^\s*field:/.test(l)).length;
        try {
          const f = parseEventFormat(text, sys);
          fields += f.fields.length;
          assert.equal(f.name, ev);
          assert.equal(f.fields.filter((x) => x.common).length >= 4, true, `${sys}/${ev} common fields`);
        } catch (e) {
          failures.push(`${sys}/${ev}: ${(e as Error).message}`);
        }
      }
    }
    assert.deepEqual(failures, []);
    assert.ok(files > 100, `only ${files} format files`);
    assert.equal(fields, fieldLines);
  });

  it('parses header_page and recognises header_event', () => {
    const layout = parseHeaderPage(readFileSync(join(EVENTS, 'header_page'), 'utf8'), { littleEndian: true });
    assert.equal(layout.timestampOffset, 0);
    assert.equal(layout.commitOffset, 8);
    assert.equal(layout.dataOffset, layout.commitOffset + layout.commitSize);
    assert.equal(layout.pageSize, Number(readFileSync(join(TRACEFS, 'buffer_subbuf_size_kb'), 'utf8').trim()) * 1024);
    assert.equal(parseHeaderEvent(readFileSync(join(EVENTS, 'header_event'), 'utf8')).timeExtend, 30);
  });

  it('spot-checks known fields', () => {
    const read = (p: string, sys: string) => parseEventFormat(readFileSync(join(EVENTS, p, 'format'), 'utf8'), sys);
    const ss = read('sched/sched_switch', 'sched');
    const pid = ss.byName.get('prev_pid');
    assert.deepEqual([pid?.offset, pid?.size, pid?.signed, pid?.kind], [24, 4, true, 'int']);
    const comm = ss.byName.get('prev_comm');
    assert.deepEqual([comm?.kind, comm?.count, comm?.elementSize, comm?.isString], ['array', 16, 1, true]);
    assert.equal(ss.byName.get('prev_state')?.size, 8);
    const irq = read('irq/irq_handler_entry', 'irq').byName.get('name');
    assert.deepEqual([irq?.kind, irq?.size, irq?.isString, irq?.type], ['dynamic', 4, true, '__data_loc char[]']);
    const ks = read('ftrace/kernel_stack', 'ftrace').byName.get('caller');
    assert.deepEqual([ks?.kind, ks?.count, ks?.elementSize, ks?.signed], ['array', 8, 8, false]);
    const print = read('ftrace/print', 'ftrace').byName.get('buf');
    assert.deepEqual([print?.kind, print?.size, print?.isString], ['flex', 0, true]);
    if (existsSync(join(EVENTS, 'ipi/ipi_send_cpumask'))) {
      const cm = read('ipi/ipi_send_cpumask', 'ipi').byName.get('cpumask');
      assert.deepEqual([cm?.kind, cm?.type, cm?.isString], ['dynamic', '__data_loc cpumask_t', false]);
    }
  });
});

describe('format parser on captured and historical shapes', () => {
  it('parses the captured header_page of a 16 KiB sub-buffer instance', () => {
    const l = parseHeaderPage(fixture('subbuf-16k/header_page'), { littleEndian: true });
    assert.deepEqual(l, {
      pageSize: 16384,
      timestampOffset: 0,
      commitOffset: 8,
      commitSize: 8,
      dataOffset: 16,
      littleEndian: true,
    });
  });

  it('parses a 32-bit kernel header_page (4-byte commit, data at 12)', () => {
    const text = fixture('formats/header_page')
      .replace('local_t commit;\toffset:8;\tsize:8;', 'local_t commit;\toffset:8;\tsize:4;')
      .replace('char data;\toffset:16;\tsize:4080;', 'char data;\toffset:12;\tsize:4084;');
    const l = parseHeaderPage(text, { littleEndian: false });
    assert.deepEqual([l.commitSize, l.dataOffset, l.pageSize, l.littleEndian], [4, 12, 4096, false]);
  });

  it('infers signedness when `signed:` is absent (kernels before 2.6.31)', () => {
    const text = fixture('formats/sched__sched_switch').replace(/\tsigned:\d;/g, '');
    const f = parseEventFormat(text, 'sched');
    assert.equal(f.byName.get('prev_pid')?.signed, true); // pid_t
    assert.equal(f.byName.get('prev_state')?.signed, true); // long
    assert.equal(f.byName.get('common_type')?.signed, false); // unsigned short
    assert.equal(f.byName.get('prev_comm')?.signed, true); // char
  });

  it('understands __rel_loc, multi-word types, pointers to pointers and symbolic array lengths', () => {
    const text = [
      'name: demo',
      'ID: 1234',
      'format:',
      '\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;',
      '\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;',
      '',
      '\tfield:__rel_loc char[] msg;\toffset:8;\tsize:4;\tsigned:0;',
      '\tfield:unsigned long long total;\toffset:16;\tsize:8;\tsigned:0;',
      '\tfield:struct robust_list_head * * head;\toffset:24;\tsize:8;\tsigned:0;',
      '\tfield:u8 mac[ETH_ALEN];\toffset:32;\tsize:6;\tsigned:0;',
      '\tfield:unsigned long args[];\toffset:40;\tsize:0;\tsigned:0;',
      '',
      'print fmt: "msg=%s", __get_rel_str(msg)',
    ].join('\n');
    const f = parseEventFormat(text, 'demo');
    assert.deepEqual(
      f.fields.map((x) => [x.name, x.kind]),
      [
        ['common_type', 'int'],
        ['common_pid', 'int'],
        ['msg', 'rel'],
        ['total', 'int'],
        ['head', 'int'],
        ['mac', 'array'],
        ['args', 'flex'],
      ],
    );
    assert.equal(f.byName.get('total')?.type, 'unsigned long long');
    assert.equal(f.byName.get('head')?.type, 'struct robust_list_head * *');
    assert.deepEqual([f.byName.get('mac')?.count, f.byName.get('mac')?.elementSize], [6, 1]);
    assert.equal(f.byName.get('args')?.elementSize, 8);
    assert.equal(f.printFmt, '"msg=%s", __get_rel_str(msg)');
  });

  it('throws a FormatError naming the line', () => {
    const bad = fixture('formats/irq__irq_handler_exit').replace('offset:12;', 'offset:;');
    assert.throws(
      () => parseEventFormat(bad, 'irq', { source: 'irq_handler_exit' }),
      (e: unknown) =>
        e instanceof FormatError && e.line === 10 && /irq_handler_exit:10: malformed field line/.test(e.message),
    );
    assert.throws(() => parseEventFormat('name: x\nformat:\n', 'x'), /no "ID:" line/);
    assert.throws(
      () => parseHeaderPage('\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n', { littleEndian: true }),
      /no "commit"/,
    );
    assert.throws(
      () => parseHeaderEvent('# compressed entry header\n\ttype_len    :    4 bits\n\ttime_delta  :   28 bits\n'),
      FormatError,
    );
  });
});

describe('parseTaskStateMask', () => {
  it('reads mask, preemption bit and letters from the 6.x sched_switch print fmt', () => {
    const m = parseTaskStateMask(parseEventFormat(fixture('formats/sched__sched_switch'), 'sched').printFmt);
    assert.equal(m.mask, 0xff);
    assert.equal(m.preemptBit, 0x100);
    assert.equal(m.letters.map(([, l]) => l).join(''), 'SDTtXZPI');
    assert.equal(formatTaskState(0, m), 'R');
    assert.equal(formatTaskState(1, m), 'S');
    assert.equal(formatTaskState(0x100, m), 'R+');
    assert.equal(formatTaskState(0x80, m), 'I');
    assert.equal(formatTaskState(3, m), 'S|D');
  });

  it('reads the 3.x form (TASK_STATE_MAX - 1, other letters)', () => {
    const pf =
      '"prev_comm=%s prev_pid=%d prev_prio=%d prev_state=%s%s ==> next_comm=%s next_pid=%d next_prio=%d", ' +
      'REC->prev_comm, REC->prev_pid, REC->prev_prio, REC->prev_state & (1024-1) ? __print_flags(REC->prev_state & ' +
      '(1024-1), "|", { 1, "S"} , { 2, "D" }, { 4, "T" }, { 8, "t" }, { 16, "Z" }, { 32, "X" }, { 64, "x" }, ' +
      '{ 128, "K" }, { 256, "W" }, { 512, "P" }) : "R", REC->prev_state & 1024 ? "+" : "", REC->next_comm, ' +
      'REC->next_pid, REC->next_prio';
    const m = parseTaskStateMask(pf);
    assert.deepEqual([m.mask, m.preemptBit, m.letters.length], [1023, 1024, 10]);
    assert.equal(formatTaskState(16 | 1024, m), 'Z+');
  });

  it('falls back to 0xff / 0x100 when the print fmt says nothing', () => {
    const m = parseTaskStateMask('"prev_state=%ld", REC->prev_state');
    assert.deepEqual([m.mask, m.preemptBit, m.letters.length], [0xff, 0x100, 8]);
  });
});
