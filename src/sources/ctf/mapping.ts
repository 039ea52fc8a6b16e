/**
 * LTTng event names and fields → the ftrace events the analyses read (DESIGN §5). Each mapped LTTng event is laid
 * out in a synthetic format with the kernel's field names and offsets (x86_64 layouts of `events/<sys>/<event>/format`,
 * the classic `char comm[16]` ones); every other event keeps its LTTng fields in a generic `lttng:<event>` format.
 *
 * Field renames: LTTng `tid` → ftrace `pid` (LTTng's `pid` fields are thread-group ids), `prev_tid`/`next_tid` →
 * `prev_pid`/`next_pid`, `parent_tid`/`child_tid` → `parent_pid`/`child_pid`, `errors` → `error`. Values are copied
 * unchanged (prio stays LTTng's `p->prio - 100`); the LTTng block `rwbs` bit mask becomes the ftrace rwbs letters.
 */
import {
  type EventPlan,
  SP_EXEC,
  SP_EXIT_SYSCALL,
  SP_FORK,
  SP_NONE,
  SP_STATEDUMP,
  SP_SWITCH,
  SP_SYS_ENTER_OLD,
  type Target,
  type TargetField,
} from './compile.ts';
import type { SyscallTable } from './syscalls.ts';
import type { CtfEventClass, CtfTrace } from './types.ts';

const int = (name: string, type: string, offset: number, size: number, signed: boolean, from?: string[]) =>
  ({ name, type, offset, size, signed, kind: 'int', from: from ?? [name] }) satisfies TargetField;
const chars = (name: string, offset: number, count: number, from?: string[]) =>
  ({
    name,
    type: 'char',
    offset,
    size: count,
    signed: false,
    kind: 'array',
    count,
    isString: true,
    from: from ?? [name],
  }) satisfies TargetField;
const str = (name: string, offset: number, from?: string[]) =>
  ({
    name,
    type: '__data_loc char[]',
    offset,
    size: 4,
    signed: false,
    kind: 'dynamic',
    isString: true,
    from: from ?? [name],
  }) satisfies TargetField;

/**
 * How `sched_switch` `prev_state` reads on the traced kernel (lttng-modules instrumentation/events/sched.h
 * `__trace_sched_switch_state`): before Linux 4.14 it is the raw `p->state`, with `TASK_RUNNING | TASK_STATE_MAX`
 * for a preempted task (`TASK_STATE_MAX` = 512 before 3.9, 1024 to 4.1, 2048 to 4.7, 4096 to 4.13); from 4.14 it is
 * `1 << (task_state_index - 1)` (S=1, D=2, T=4, t=8, X=16, Z=32, P=64, I=128) or `TASK_REPORT_MAX` = 0x100 when
 * preempted, as ftrace prints it. So *blocked* = `prev_state & mask`, *preempted* = everything else (including the
 * plain 0 that kernels without CONFIG_PREEMPT write for a task preempted on return to user space).
 */
export function prevStateScheme(kernelRelease: string | number | undefined): {
  mask: number;
  preempted: number;
  known: boolean;
} {
  const m = typeof kernelRelease === 'string' ? /^(\d+)\.(\d+)/.exec(kernelRelease) : null;
  if (m === null) return { mask: 0xff, preempted: 0x100, known: false };
  const v = Number(m[1]) * 1000 + Number(m[2]);
  if (v >= 4014) return { mask: 0xff, preempted: 0x100, known: true };
  if (v >= 4008) return { mask: 0xfff, preempted: 0x1000, known: true };
  if (v >= 4002) return { mask: 0x7ff, preempted: 0x800, known: true };
  if (v >= 3009) return { mask: 0x3ff, preempted: 0x400, known: true };
  return { mask: 0x1ff, preempted: 0x200, known: true };
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

function switchTarget(mask: number, preempted: number): Target {
  const flags = ['S', 'D', 'T', 't', 'X', 'Z', 'P', 'I']
    .map((c, k) => `{ ${hex(1 << k)}, "${c}" }`)
    .slice(0, Math.min(8, Math.log2(mask + 1)))
    .join(', ');
  return {
    system: 'sched',
    name: 'sched_switch',
    fields: [
      chars('prev_comm', 8, 16),
      int('prev_pid', 'pid_t', 24, 4, true, ['prev_tid']),
      int('prev_prio', 'int', 28, 4, true),
      int('prev_state', 'long', 32, 8, true),
      chars('next_comm', 40, 16),
      int('next_pid', 'pid_t', 56, 4, true, ['next_tid']),
      int('next_prio', 'int', 60, 4, true),
    ],
    printFmt:
      '"prev_comm=%s prev_pid=%d prev_prio=%d prev_state=%s%s ==> next_comm=%s next_pid=%d next_prio=%d", ' +
      'REC->prev_comm, REC->prev_pid, REC->prev_prio, ' +
      `(REC->prev_state & (${hex(mask)})) ? __print_flags(REC->prev_state & (${hex(mask)}), "|", ${flags}) : "R", ` +
      `REC->prev_state & ${hex(preempted)} ? "+" : "", REC->next_comm, REC->next_pid, REC->next_prio`,
  };
}

const wakeTarget = (name: string): Target => ({
  system: 'sched',
  name,
  fields: [
    chars('comm', 8, 16),
    int('pid', 'pid_t', 24, 4, true, ['tid']),
    int('prio', 'int', 28, 4, true),
    int('target_cpu', 'int', 32, 4, true),
  ],
  printFmt: '"comm=%s pid=%d prio=%d target_cpu=%03d", REC->comm, REC->pid, REC->prio, REC->target_cpu',
});

const procTarget = (name: string): Target => ({
  system: 'sched',
  name,
  fields: [chars('comm', 8, 16), int('pid', 'pid_t', 24, 4, true, ['tid']), int('prio', 'int', 28, 4, true)],
  printFmt: '"comm=%s pid=%d prio=%d", REC->comm, REC->pid, REC->prio',
});

const FORK: Target = {
  system: 'sched',
  name: 'sched_process_fork',
  fields: [
    chars('parent_comm', 8, 16),
    int('parent_pid', 'pid_t', 24, 4, true, ['parent_tid']),
    chars('child_comm', 28, 16),
    int('child_pid', 'pid_t', 44, 4, true, ['child_tid']),
  ],
  printFmt:
    '"comm=%s pid=%d child_comm=%s child_pid=%d", REC->parent_comm, REC->parent_pid, REC->child_comm, REC->child_pid',
};

const EXEC: Target = {
  system: 'sched',
  name: 'sched_process_exec',
  fields: [
    str('filename', 8),
    // lttng-modules 2.1 names them pid/old_pid (both p->pid, thread ids)
    int('pid', 'pid_t', 12, 4, true, ['tid', 'pid']),
    int('old_pid', 'pid_t', 16, 4, true, ['old_tid', 'old_pid']),
  ],
  printFmt: '"filename=%s pid=%d old_pid=%d", __get_str(filename), REC->pid, REC->old_pid',
};

const MIGRATE: Target = {
  system: 'sched',
  name: 'sched_migrate_task',
  fields: [
    chars('comm', 8, 16),
    int('pid', 'pid_t', 24, 4, true, ['tid']),
    int('prio', 'int', 28, 4, true),
    int('orig_cpu', 'int', 32, 4, true),
    int('dest_cpu', 'int', 36, 4, true),
  ],
  printFmt:
    '"comm=%s pid=%d prio=%d orig_cpu=%d dest_cpu=%d", REC->comm, REC->pid, REC->prio, REC->orig_cpu, REC->dest_cpu',
};

const IRQ_ENTRY: Target = {
  system: 'irq',
  name: 'irq_handler_entry',
  fields: [int('irq', 'int', 8, 4, true), str('name', 12)],
  printFmt: '"irq=%d name=%s", REC->irq, __get_str(name)',
};

const IRQ_EXIT: Target = {
  system: 'irq',
  name: 'irq_handler_exit',
  fields: [int('irq', 'int', 8, 4, true), int('ret', 'int', 12, 4, true)],
  printFmt: '"irq=%d ret=%s", REC->irq, REC->ret ? "handled" : "unhandled"',
};

const softirqTarget = (name: string): Target => ({
  system: 'irq',
  name,
  fields: [int('vec', 'unsigned int', 8, 4, false)],
  printFmt:
    '"vec=%u [action=%s]", REC->vec, __print_symbolic(REC->vec, { 0, "HI" }, { 1, "TIMER" }, { 2, "NET_TX" }, ' +
    '{ 3, "NET_RX" }, { 4, "BLOCK" }, { 5, "IRQ_POLL" }, { 6, "TASKLET" }, { 7, "SCHED" }, { 8, "HRTIMER" }, { 9, "RCU" })',
});

const blockIssue = (conv: 'rwbs' | 'rwbs-old'): Target => ({
  system: 'block',
  name: 'block_rq_issue',
  fields: [
    int('dev', 'dev_t', 8, 4, false),
    int('sector', 'sector_t', 16, 8, false),
    int('nr_sector', 'unsigned int', 24, 4, false),
    int('bytes', 'unsigned int', 28, 4, false),
    { ...chars('rwbs', 32, 8), conv },
    chars('comm', 40, 16),
  ],
  printFmt:
    '"%d,%d %s %u %llu + %u [%s]", ((unsigned int) ((REC->dev) >> 20)), ((unsigned int) ((REC->dev) & ((1U << 20) - 1))), ' +
    'REC->rwbs, REC->bytes, (unsigned long long)REC->sector, REC->nr_sector, REC->comm',
});

const blockComplete = (conv: 'rwbs' | 'rwbs-old'): Target => ({
  system: 'block',
  name: 'block_rq_complete',
  fields: [
    int('dev', 'dev_t', 8, 4, false),
    int('sector', 'sector_t', 16, 8, false),
    int('nr_sector', 'unsigned int', 24, 4, false),
    int('error', 'int', 28, 4, true, ['error', 'errors']),
    { ...chars('rwbs', 32, 8), conv },
  ],
  printFmt:
    '"%d,%d %s %llu + %u [%d]", ((unsigned int) ((REC->dev) >> 20)), ((unsigned int) ((REC->dev) & ((1U << 20) - 1))), ' +
    'REC->rwbs, (unsigned long long)REC->sector, REC->nr_sector, REC->error',
});

const skbTarget = (name: string): Target => ({
  system: 'net',
  name,
  fields: [int('skbaddr', 'void *', 8, 8, false), int('len', 'unsigned int', 16, 4, false), str('name', 20)],
  printFmt: '"dev=%s skbaddr=%p len=%u", __get_str(name), REC->skbaddr, REC->len',
});

const XMIT: Target = {
  system: 'net',
  name: 'net_dev_xmit',
  fields: [
    int('skbaddr', 'void *', 8, 8, false),
    int('len', 'unsigned int', 16, 4, false),
    int('rc', 'int', 20, 4, true),
    str('name', 24),
  ],
  printFmt: '"dev=%s skbaddr=%p len=%u rc=%d", __get_str(name), REC->skbaddr, REC->len, REC->rc',
};

const sysEnter = (id: number | undefined): Target => ({
  system: 'raw_syscalls',
  name: 'sys_enter',
  fields: [{ ...int('id', 'long', 8, 8, true), from: id === undefined ? ['id'] : [], value: id ?? -1 }],
  printFmt: '"NR %ld", REC->id',
});

const sysExit = (id: number | undefined): Target => ({
  system: 'raw_syscalls',
  name: 'sys_exit',
  fields: [
    { ...int('id', 'long', 8, 8, true), from: id === undefined ? ['id'] : [], value: id ?? -1 },
    int('ret', 'long', 16, 8, true),
  ],
  printFmt: '"NR %ld = %ld", REC->id, REC->ret',
});

/** Facts about the trace that choose between LTTng dialects. */
export interface Dialect {
  /** lttng-modules ≤ 2.5 syscall naming: `sys_<name>` entries and one `exit_syscall` event (no syscall id). */
  oldSyscalls: boolean;
  /** lttng-modules ≤ 2.1 layout of the block rwbs bits. */
  oldRwbs: boolean;
  prevState: { mask: number; preempted: number; known: boolean };
}

export function dialectOf(trace: CtfTrace): Dialect {
  let exitSyscall = false;
  for (const s of trace.streams.values())
    for (const e of s.events.values()) if (e.name === 'exit_syscall') exitSyscall = true;
  const major = trace.env.get('tracer_major');
  const minor = trace.env.get('tracer_minor');
  const ver = typeof major === 'number' && typeof minor === 'number' ? major * 100 + minor : undefined;
  return {
    oldSyscalls: exitSyscall || (ver !== undefined && ver < 206),
    oldRwbs: ver !== undefined && ver <= 201,
    prevState: prevStateScheme(trace.env.get('kernel_release')),
  };
}

/** The syscall named by an LTTng event, if it is one. */
export function syscallOf(name: string, d: Dialect): { kind: 'entry' | 'exit'; name: string | undefined } | undefined {
  let m = /^(compat_)?syscall_entry_(.+)$/.exec(name);
  if (m) return { kind: 'entry', name: (m[1] ?? '') + m[2] };
  m = /^(compat_)?syscall_exit_(.+)$/.exec(name);
  if (m) return { kind: 'exit', name: (m[1] ?? '') + m[2] };
  if (d.oldSyscalls) {
    if (name === 'exit_syscall') return { kind: 'exit', name: undefined };
    m = /^(compat_)?sys_(.+)$/.exec(name);
    if (m) return { kind: 'entry', name: (m[1] ?? '') + m[2] };
  }
  return undefined;
}

/** Decides, for each LTTng event class, the format it is delivered in and what the source does with it. */
export function planner(d: Dialect, syscalls: SyscallTable): (ev: CtfEventClass) => EventPlan {
  const sw = switchTarget(d.prevState.mask, d.prevState.preempted);
  const rwbs = d.oldRwbs ? 'rwbs-old' : 'rwbs';
  return (ev) => {
    const n = ev.name;
    const sc = syscallOf(n, d);
    if (sc !== undefined) {
      const isUnknown = sc.name === 'unknown' || sc.name === 'compat_unknown';
      if (sc.kind === 'entry') {
        const id = isUnknown || sc.name === undefined ? undefined : syscalls.idOf(sc.name);
        return { target: sysEnter(id), special: d.oldSyscalls ? SP_SYS_ENTER_OLD : SP_NONE };
      }
      if (sc.name === undefined) return { target: sysExit(-1), special: SP_EXIT_SYSCALL };
      return { target: sysExit(isUnknown ? undefined : syscalls.idOf(sc.name)), special: SP_NONE };
    }
    switch (n) {
      case 'sched_switch':
        return { target: sw, special: SP_SWITCH };
      case 'sched_waking':
      case 'sched_wakeup':
      case 'sched_wakeup_new':
        return { target: wakeTarget(n), special: SP_NONE };
      case 'sched_process_fork':
        return { target: FORK, special: SP_FORK };
      case 'sched_process_exec':
        return { target: EXEC, special: SP_EXEC };
      case 'sched_process_exit':
      case 'sched_process_free':
        return { target: procTarget(n), special: SP_NONE };
      case 'sched_migrate_task':
        return { target: MIGRATE, special: SP_NONE };
      case 'irq_handler_entry':
        return { target: IRQ_ENTRY, special: SP_NONE };
      case 'irq_handler_exit':
        return { target: IRQ_EXIT, special: SP_NONE };
      case 'softirq_entry':
      case 'softirq_exit':
      case 'softirq_raise':
        return { target: softirqTarget(n), special: SP_NONE };
      case 'irq_softirq_entry':
      case 'irq_softirq_exit':
      case 'irq_softirq_raise':
        return { target: softirqTarget(n.slice(4)), special: SP_NONE };
      case 'block_rq_issue':
        return { target: blockIssue(rwbs), special: SP_NONE };
      case 'block_rq_complete':
        return { target: blockComplete(rwbs), special: SP_NONE };
      case 'net_dev_queue':
      case 'netif_receive_skb':
      case 'netif_rx':
        return { target: skbTarget(n), special: SP_NONE };
      case 'net_dev_xmit':
        return { target: XMIT, special: SP_NONE };
      case 'lttng_statedump_process_state':
        return { target: undefined, special: SP_STATEDUMP };
      default:
        return { target: undefined, special: SP_NONE };
    }
  };
}

/** Names of every syscall the metadata declares (for architecture inference). */
export function declaredSyscalls(trace: CtfTrace, d: Dialect): Set<string> {
  const out = new Set<string>();
  for (const s of trace.streams.values()) {
    for (const e of s.events.values()) {
      const sc = syscallOf(e.name, d);
      if (sc?.name !== undefined) out.add(sc.name);
    }
  }
  return out;
}

/** Size in bits of the traced kernel's `long` (from `unsigned long` of the packet context, else from prev_state). */
export function longBitsOf(trace: CtfTrace): number {
  for (const s of trace.streams.values()) {
    for (const e of s.events.values()) {
      if (e.name !== 'sched_switch') continue;
      const f = e.fields?.fields.find((x) => x.name === '_prev_state');
      const t = f?.type.kind === 'enum' ? f.type.container : f?.type;
      if (t?.kind === 'int') return t.size;
    }
  }
  for (const s of trace.streams.values()) {
    const f = s.packetContext?.fields.find((x) => x.name === 'events_discarded');
    if (f?.type.kind === 'int') return f.type.size;
  }
  return 64;
}
