/**
 * System call numbering for CTF traces. LTTng names syscall events after the kernel's entry points
 * (`syscall_entry_newfstat`, `sys_read`) and records no number; ftrace's `raw_syscalls` events carry the number.
 * For an x86_64 trace we use the x86_64 numbers (arch/x86/entry/syscalls/syscall_64.tbl, entry point names without
 * `sys_`); for any other architecture, and for names the table does not know (compat syscalls), ids are assigned from
 * `ASSIGNED_SYSCALL_BASE` upward and `SyscallTable.name(id)` gives the name back.
 */
import { X86_64_SYSCALLS } from '../../ftrace/syscall-names.ts';

/**
 * The x86_64 table by the names LTTng uses: the kernel's table (src/ftrace/syscall-names.ts), with the entry points
 * that are named differently from the system call. Both spellings map to the number; a number names the entry point.
 */
const ENTRY_POINT_NAMES: readonly (readonly [string, string])[] = [
  ['stat', 'newstat'],
  ['fstat', 'newfstat'],
  ['lstat', 'newlstat'],
  ['sendfile', 'sendfile64'],
  ['uname', 'newuname'],
  ['_sysctl', 'sysctl'],
  ['umount2', 'umount'],
];
const X86_64_NAMES: string[] = [];
const X86_64_IDS = new Map<string, number>();
{
  const entry = new Map(ENTRY_POINT_NAMES);
  X86_64_SYSCALLS.forEach((n, k) => {
    if (n === '') return;
    const e = entry.get(n) ?? n;
    X86_64_NAMES[k] = e;
    X86_64_IDS.set(e, k);
    X86_64_IDS.set(n, k);
  });
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
