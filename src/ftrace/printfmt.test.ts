import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { argField, formatInt, parsePrintFmt, splitArgs } from './printfmt.ts';

describe('print fmt parsing', () => {
  it('pairs conversions with their arguments and finds plain fields behind casts', () => {
    const p = parsePrintFmt(
      '"comm=%s pid=%d prio=%d target_cpu=%03d skb=%p fn=%pS %%x", REC->comm, REC->pid, (int)(REC->prio), REC->target_cpu, REC->skbaddr, (void *)REC->ip',
    );
    assert.equal(p.ok, true);
    const convs = p.items.filter((i) => i.kind === 'conv');
    assert.deepEqual(
      convs.map((c) => [c.spec, c.field, c.casts]),
      [
        ['%s', 'comm', []],
        ['%d', 'pid', []],
        ['%d', 'prio', ['int']],
        ['%03d', 'target_cpu', []],
        ['%p', 'skbaddr', []],
        ['%pS', 'ip', ['void *']],
      ],
    );
    assert.deepEqual(p.items.at(-1), { kind: 'text', text: ' %x' });
  });

  it('does not take expressions for fields, and splits only at top-level commas', () => {
    assert.equal(argField('REC->prev_state & 0xff').field, undefined);
    assert.equal(argField('__get_str(name)').field, undefined);
    assert.equal(argField('((REC->x))').field, 'x');
    assert.deepEqual(splitArgs('a, f(b, c), "x,y", d[1]'), ['a', 'f(b, c)', '"x,y"', 'd[1]']);
  });

  it('flags a print fmt with fewer arguments than conversions', () => {
    assert.equal(parsePrintFmt('"a=%d b=%d", REC->a').ok, false);
  });
});

describe('formatInt follows C printf', () => {
  const cases: [string, bigint][] = [
    ['%d', -42n],
    ['%5d', 42n],
    ['%-5d|', 42n],
    ['%05d', -42n],
    ['%+d', 7n],
    ['%.3d', 5n],
    ['%x', 48879n],
    ['%#x', 48879n],
    ['%08X', 48879n],
    ['%o', 8n],
    ['%#o', 8n],
    ['%u', 4294967295n],
    ['%03d', 1n],
    ['%.0d', 0n],
  ];
  for (const [spec, v] of cases) {
    it(`${spec} of ${v}`, () => {
      const want = execFileSync('printf', [spec, v.toString()], { encoding: 'utf8' });
      const m = /^%([-+#0]*)(\d*)(?:\.(\d*))?([a-zA-Z])(.*)$/.exec(spec);
      assert.ok(m);
      const got =
        formatInt(
          {
            flags: m[1],
            width: m[2] ? Number(m[2]) : undefined,
            precision: m[3] !== undefined ? Number(m[3] || 0) : undefined,
            conv: m[4],
          },
          v,
        ) + m[5];
      assert.equal(got, want);
    });
  }
});
