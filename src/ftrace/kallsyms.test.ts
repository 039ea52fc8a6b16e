import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Kallsyms } from './kallsyms.ts';

const PROC = process.env.PROCFS ?? '/proc';
let live = '';
try {
  live = readFileSync(`${PROC}/kallsyms`, 'utf8');
} catch {}
const usable = /^[0-9a-f]*[1-9a-f][0-9a-f]* /m.test(live);

const split = (a: bigint) => [Number(a >> 32n), Number(a & 0xffffffffn)] as const;

describe('Kallsyms', () => {
  it('resolves live /proc/kallsyms addresses to symbol+offset', {
    skip: usable ? false : 'no readable kallsyms',
  }, () => {
    const k = Kallsyms.parse(live);
    assert.ok(k.size > 10000, `${k.size} symbols`);
    assert.equal(k.restricted, false);
    const line = /^([0-9a-f]+) [Tt] schedule$/m.exec(live);
    assert.ok(line, 'schedule in kallsyms');
    const addr = BigInt(`0x${line[1]}`);
    assert.equal(k.format(...split(addr)), 'schedule+0x0');
    assert.equal(k.format(...split(addr + 0x2an)), 'schedule+0x2a');
    // Every symbol resolves to itself (or to an alias at the same address that comes first).
    for (let i = 0; i < k.size; i += 97) {
      const j = k.find(k.hi[i], k.lo[i]);
      assert.equal(k.hi[j] === k.hi[i] && k.lo[j] === k.lo[i], true);
    }
  });

  it('keeps module names, skips absolute symbols and $ names, and sorts', () => {
    const k = Kallsyms.parse(
      [
        'ffffffffc0201000 t ftrace_trampoline\t[__builtin__ftrace]',
        '0000000000000000 A fixed_percpu_data',
        'ffffffff81000000 T _stext',
        'ffffffff81000010 t $x',
        'ffffffff81000100 a some_abs',
        'ffffffff81000040 T second',
        'garbage line',
      ].join('\n'),
    );
    assert.deepEqual(k.names, ['_stext', 'second', 'ftrace_trampoline']);
    assert.equal(k.format(0xffffffff, 0x81000020), '_stext+0x20');
    assert.equal(k.format(0xffffffff, 0xc0201004), 'ftrace_trampoline+0x4 [__builtin__ftrace]');
    assert.equal(k.format(0xffffffff, 0x80000000), '0xffffffff80000000'); // below every symbol
  });

  it('treats an all-zero (kptr_restrict) table as restricted and prints addresses', () => {
    // What /proc/kallsyms shows an unprivileged reader under kptr_restrict.
    const zeroed = [
      '0000000000000000 T _stext',
      '0000000000000000 t do_one_initcall',
      '0000000000000000 T schedule',
      '0000000000000000 t xfs_file_read_iter\t[xfs]',
    ].join('\n');
    const k = Kallsyms.parse(zeroed);
    assert.equal(k.restricted, true);
    assert.equal(k.size, 0);
    assert.equal(k.format(0xffffffff, 0x81234567), '0xffffffff81234567');
  });
});
