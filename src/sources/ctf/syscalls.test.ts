/** x86_64 syscall numbers by LTTng (entry point) name, assigned ids, architecture inference. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ASSIGNED_SYSCALL_BASE, inferArch, SyscallTable, x86_64SyscallId } from './syscalls.ts';

test('x86_64 numbers (arch/x86/entry/syscalls/syscall_64.tbl) by entry-point name and by user-visible name', () => {
  const expect: [string, number][] = [
    ['read', 0],
    ['newstat', 4],
    ['fstat', 5],
    ['newfstat', 5],
    ['rt_sigreturn', 15],
    ['sendfile64', 40],
    ['newuname', 63],
    ['sysctl', 156],
    ['arch_prctl', 158],
    ['umount', 166],
    ['gettid', 186],
    ['futex', 202],
    ['epoll_wait', 232],
    ['pselect6', 270],
    ['getrandom', 318],
    ['rseq', 334],
    ['pidfd_send_signal', 424],
    ['clone3', 435],
    ['uretprobe', 335],
    ['open_tree_attr', 467],
  ];
  for (const [name, id] of expect) assert.equal(x86_64SyscallId(name), id, name);
  assert.equal(x86_64SyscallId('mmap2'), undefined);
});

test('ids: x86_64 numbers on x86_64, assigned from 10000 otherwise, names for every id', () => {
  const x = new SyscallTable(true);
  assert.equal(x.idOf('read'), 0);
  assert.equal(x.idOf('compat_read'), ASSIGNED_SYSCALL_BASE);
  assert.equal(x.idOf('compat_read'), ASSIGNED_SYSCALL_BASE);
  assert.equal(x.name(ASSIGNED_SYSCALL_BASE), 'compat_read');
  assert.equal(x.name(202), 'futex', 'x86_64 numbers have names even when no event used them');
  const arm = new SyscallTable(false);
  assert.equal(arm.idOf('read'), ASSIGNED_SYSCALL_BASE);
  assert.equal(arm.idOf('ioctl'), ASSIGNED_SYSCALL_BASE + 1);
  assert.equal(arm.name(ASSIGNED_SYSCALL_BASE + 1), 'ioctl');
  assert.equal(arm.name(3), undefined);
});

test('architecture from env, kernel_release, then the declared syscalls', () => {
  const env = (o: Record<string, string | number>) => new Map(Object.entries(o));
  const none = new Set<string>();
  assert.equal(inferArch(env({ arch: 'riscv64' }), none, 64), 'riscv64');
  assert.equal(inferArch(env({ kernel_release: '5.14.0-70.13.1.el9_0.x86_64' }), none, 64), 'x86_64');
  assert.equal(inferArch(env({ kernel_release: '4.4.3-1-ARCH' }), none, 64), undefined, '"ARCH" is Arch Linux');
  assert.equal(inferArch(env({}), new Set(['arch_prctl']), 32), 'i386');
  assert.equal(inferArch(env({}), new Set(['arm_fadvise64_64', 'mmap2']), 32), 'arm');
  assert.equal(inferArch(env({}), new Set(['open', 'select', 'newfstat', 'mmap']), 64), 'x86_64');
  assert.equal(inferArch(env({}), new Set(['open', 'select', 'newfstat', 'spu_run']), 64), undefined, 'powerpc');
  assert.equal(inferArch(env({}), new Set(['openat', 'pselect6']), 64), undefined, 'arm64 has no open()');
});
