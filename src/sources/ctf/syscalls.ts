/**
 * System call numbering for CTF traces. LTTng names syscall events after the kernel's entry points
 * (`syscall_entry_newfstat`, `sys_read`) and records no number; ftrace's `raw_syscalls` events carry the number.
 * For an x86_64 trace we use the x86_64 numbers (arch/x86/entry/syscalls/syscall_64.tbl, entry point names without
 * `sys_`); for any other architecture, and for names the table does not know (compat syscalls), ids are assigned from
 * `ASSIGNED_SYSCALL_BASE` upward and `SyscallTable.name(id)` gives the name back.
 */

/** x86_64 syscalls 0..334, by entry point name (the name LTTng uses), in number order. */
const X86_64_LOW =
  'read write open close newstat newfstat newlstat poll lseek mmap mprotect munmap brk rt_sigaction rt_sigprocmask ' +
  'rt_sigreturn ioctl pread64 pwrite64 readv writev access pipe select sched_yield mremap msync mincore madvise ' +
  'shmget shmat shmctl dup dup2 pause nanosleep getitimer alarm setitimer getpid sendfile64 socket connect accept ' +
  'sendto recvfrom sendmsg recvmsg shutdown bind listen getsockname getpeername socketpair setsockopt getsockopt ' +
  'clone fork vfork execve exit wait4 kill newuname semget semop semctl shmdt msgget msgsnd msgrcv msgctl fcntl ' +
  'flock fsync fdatasync truncate ftruncate getdents getcwd chdir fchdir rename mkdir rmdir creat link unlink ' +
  'symlink readlink chmod fchmod chown fchown lchown umask gettimeofday getrlimit getrusage sysinfo times ptrace ' +
  'getuid syslog getgid setuid setgid geteuid getegid setpgid getppid getpgrp setsid setreuid setregid getgroups ' +
  'setgroups setresuid getresuid setresgid getresgid getpgid setfsuid setfsgid getsid capget capset rt_sigpending ' +
  'rt_sigtimedwait rt_sigqueueinfo rt_sigsuspend sigaltstack utime mknod uselib personality ustat statfs fstatfs ' +
  'sysfs getpriority setpriority sched_setparam sched_getparam sched_setscheduler sched_getscheduler ' +
  'sched_get_priority_max sched_get_priority_min sched_rr_get_interval mlock munlock mlockall munlockall vhangup ' +
  'modify_ldt pivot_root sysctl prctl arch_prctl adjtimex setrlimit chroot sync acct settimeofday mount umount ' +
  'swapon swapoff reboot sethostname setdomainname iopl ioperm create_module init_module delete_module ' +
  'get_kernel_syms query_module quotactl nfsservctl getpmsg putpmsg afs_syscall tuxcall security gettid readahead ' +
  'setxattr lsetxattr fsetxattr getxattr lgetxattr fgetxattr listxattr llistxattr flistxattr removexattr ' +
  'lremovexattr fremovexattr tkill time futex sched_setaffinity sched_getaffinity set_thread_area io_setup ' +
  'io_destroy io_getevents io_submit io_cancel get_thread_area lookup_dcookie epoll_create epoll_ctl_old ' +
  'epoll_wait_old remap_file_pages getdents64 set_tid_address restart_syscall semtimedop fadvise64 timer_create ' +
  'timer_settime timer_gettime timer_getoverrun timer_delete clock_settime clock_gettime clock_getres ' +
  'clock_nanosleep exit_group epoll_wait epoll_ctl tgkill utimes vserver mbind set_mempolicy get_mempolicy mq_open ' +
  'mq_unlink mq_timedsend mq_timedreceive mq_notify mq_getsetattr kexec_load waitid add_key request_key keyctl ' +
  'ioprio_set ioprio_get inotify_init inotify_add_watch inotify_rm_watch migrate_pages openat mkdirat mknodat ' +
  'fchownat futimesat newfstatat unlinkat renameat linkat symlinkat readlinkat fchmodat faccessat pselect6 ppoll ' +
  'unshare set_robust_list get_robust_list splice tee sync_file_range vmsplice move_pages utimensat epoll_pwait ' +
  'signalfd timerfd_create eventfd fallocate timerfd_settime timerfd_gettime accept4 signalfd4 eventfd2 ' +
  'epoll_create1 dup3 pipe2 inotify_init1 preadv pwritev rt_tgsigqueueinfo perf_event_open recvmmsg fanotify_init ' +
  'fanotify_mark prlimit64 name_to_handle_at open_by_handle_at clock_adjtime syncfs sendmmsg setns getcpu ' +
  'process_vm_readv process_vm_writev kcmp finit_module sched_setattr sched_getattr renameat2 seccomp getrandom ' +
  'memfd_create kexec_file_load bpf execveat userfaultfd membarrier mlock2 copy_file_range preadv2 pwritev2 ' +
  'pkey_mprotect pkey_alloc pkey_free statx io_pgetevents rseq';

/** x86_64 syscalls from 424 on. */
const X86_64_HIGH =
  'pidfd_send_signal io_uring_setup io_uring_enter io_uring_register open_tree move_mount fsopen fsconfig fsmount ' +
  'fspick pidfd_open clone3 close_range openat2 pidfd_getfd faccessat2 process_madvise epoll_pwait2 mount_setattr ' +
  'quotactl_fd landlock_create_ruleset landlock_add_rule landlock_restrict_self memfd_secret process_mrelease ' +
  'futex_waitv set_mempolicy_home_node cachestat fchmodat2 map_shadow_stack futex_wake futex_wait futex_requeue ' +
  'statmount listmount lsm_get_self_attr lsm_set_self_attr lsm_list_modules mseal setxattrat getxattrat ' +
  'listxattrat removexattrat uretprobe';

const X86_64_NAMES: string[] = [];
const X86_64_IDS = new Map<string, number>();
{
  const low = X86_64_LOW.split(' ');
  low.forEach((n, k) => {
    X86_64_NAMES[k] = n;
    X86_64_IDS.set(n, k);
  });
  X86_64_HIGH.split(' ').forEach((n, k) => {
    X86_64_NAMES[424 + k] = n;
    X86_64_IDS.set(n, 424 + k);
  });
  // The user-visible names of entry points that are named differently.
  for (const [alias, n] of [
    ['stat', 4],
    ['fstat', 5],
    ['lstat', 6],
    ['sendfile', 40],
    ['uname', 63],
    ['_sysctl', 156],
    ['umount2', 166],
  ] as const) {
    X86_64_IDS.set(alias, n);
  }
}

/** x86_64 number of a syscall named as LTTng names it (entry point without `sys_`), or undefined. */
export function x86_64SyscallId(name: string): number | undefined {
  return X86_64_IDS.get(name);
}

/** First id given to syscalls that have no x86_64 number (other architectures, compat syscalls). */
export const ASSIGNED_SYSCALL_BASE = 10000;

/** Syscall ids of one trace: stable for the life of the source, names for every id handed out. */
export class SyscallTable {
  private readonly ids = new Map<string, number>();
  private readonly names = new Map<number, string>();
  private next = ASSIGNED_SYSCALL_BASE;

  constructor(readonly useX86_64: boolean) {}

  /** The id for a syscall `name` (`compat_` prefixed for 32-bit compat syscalls). */
  idOf(name: string): number {
    const known = this.ids.get(name);
    if (known !== undefined) return known;
    let id = this.useX86_64 ? X86_64_IDS.get(name) : undefined;
    if (id === undefined) id = this.next++;
    this.ids.set(name, id);
    if (!this.names.has(id)) this.names.set(id, name);
    return id;
  }

  /** Name of an id handed out by `idOf`, or of an x86_64 number on an x86_64 trace. */
  name(id: number): string | undefined {
    const n = this.names.get(id);
    if (n !== undefined) return n;
    return this.useX86_64 ? X86_64_NAMES[id] : undefined;
  }
}

/**
 * The traced machine's architecture. LTTng's `env` has no architecture field (2.1–2.13 write hostname, sysname,
 * kernel_release, kernel_version, tracer_*), so: an explicit `arch`/`machine` env entry if a producer wrote one, then a
 * distribution suffix of `kernel_release` (`5.14.0-70.el9.x86_64`), then the syscall names the metadata declares —
 * `arch_prctl` exists only on x86, `arm_fadvise64_64` only on 32-bit ARM, and a 64-bit `long` with the legacy x86
 * syscalls (`open`, `select`, `newfstat`) and no `mmap2` is x86_64 (arm64 and the other 64-bit generic-ABI
 * architectures have no `open`). Returns undefined when none of these applies.
 */
export function inferArch(
  env: Map<string, string | number>,
  syscallNames: ReadonlySet<string>,
  longBits: number,
): string | undefined {
  for (const k of ['arch', 'machine', 'uname_m']) {
    const v = env.get(k);
    if (typeof v === 'string' && v.length > 0) return v;
  }
  const rel = env.get('kernel_release');
  if (typeof rel === 'string') {
    const m = /\.(x86_64|aarch64|i[3-6]86|armv[0-9a-z]+|ppc64le|ppc64|s390x|riscv64)$/.exec(rel);
    if (m) return m[1];
  }
  if (syscallNames.has('arch_prctl')) return longBits === 64 ? 'x86_64' : 'i386';
  if (syscallNames.has('arm_fadvise64_64') || syscallNames.has('arm_sync_file_range')) return 'arm';
  const nonX86 = ['spu_run', 'subpage_prot', 'switch_endian', 's390_runtime_instr', 'riscv_flush_icache', 'cacheflush'];
  if (
    longBits === 64 &&
    syscallNames.has('open') &&
    syscallNames.has('select') &&
    syscallNames.has('newfstat') &&
    !syscallNames.has('mmap2') &&
    !nonX86.some((n) => syscallNames.has(n))
  ) {
    return 'x86_64';
  }
  return undefined;
}
