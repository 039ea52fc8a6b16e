/** The generated syscall tables: spot checks against the kernel's tables, and no header macro taken for a name. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GENERIC_SYSCALLS, X86_64_SYSCALLS } from './syscall-names.ts';

test('syscall names: known numbers on both tables, only identifiers', () => {
  for (const [nr, name] of [
    [0, 'read'],
    [59, 'execve'],
    [230, 'clock_nanosleep'],
    [335, 'uretprobe'],
    [451, 'cachestat'],
    [462, 'mseal'],
  ] as const) {
    assert.equal(X86_64_SYSCALLS[nr], name, `x86_64 ${nr}`);
  }
  for (const [nr, name] of [
    [63, 'read'],
    [221, 'execve'],
    [115, 'clock_nanosleep'],
    [451, 'cachestat'],
  ] as const) {
    assert.equal(GENERIC_SYSCALLS[nr], name, `generic ${nr}`);
  }
  for (const t of [X86_64_SYSCALLS, GENERIC_SYSCALLS]) {
    assert.ok(!t.includes('syscalls'), '__NR_syscalls is the table size, not a syscall');
    for (const n of t) assert.match(n, /^(|[a-z_][a-z0-9_]*)$/);
  }
});
