#!/bin/sh
# Records the example trace this folder ships (see README.md here), on the machine it runs on, as root:
#   sh examples/record.sh [OUT.dat] [FACTOR]
# OUT defaults to examples/trace.dat. FACTOR (default 1) stretches the workload's sleeps: 1.5 records the
# "regressed" twin used by the compare example. Needs trace-cmd, python3, dd, awk, unshare and a block-device-backed
# /var/tmp. Leaves nothing behind: its tracefs instance and scratch files are removed on every exit path.
set -eu
cd "$(dirname "$0")"
OUT=${1:-trace.dat}
FACTOR=${2:-1}
T=/sys/kernel/tracing
PY=/usr/bin/python3

[ "$(id -u)" = 0 ] || { echo "record.sh: needs root (it creates a tracefs instance)" >&2; exit 2; }
for c in trace-cmd dd unshare "$PY"; do
  command -v "$c" >/dev/null 2>&1 || { echo "record.sh: needs $c" >&2; exit 2; }
done
[ -d "$T/instances" ] || mount -t tracefs nodev "$T"

NAME=lt-example-$$
I=$T/instances/$NAME
WORK=$(mktemp -d /var/tmp/lt-example.XXXXXX)
cleanup() {
  # trace-cmd extract removes the instance itself once it has read it.
  if [ -d "$I" ]; then
    { echo 0 > "$I/tracing_on"; } 2>/dev/null || true
    { echo '!stacktrace if prev_state & 3' > "$I/events/sched/sched_switch/trigger"; } 2>/dev/null || true
    rmdir "$I" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir "$I"
# A new instance records from the start: off until everything is set.
echo 0 > "$I/tracing_on"
echo mono > "$I/trace_clock"
echo 8192 > "$I/buffer_size_kb"
# The workload runs as ex-sleep, ex-dd, ex-python, ex-sh (symbolic links: a process is named after the file it
# executes), and only its system calls are recorded: on a shared machine everyone else's would make the file large.
# Scheduling, block, IRQ and network events are recorded for every task.
for b in sleep dd sh; do ln -s "$(command -v $b)" "$WORK/ex-$b"; done
ln -s "$PY" "$WORK/ex-python"
echo 'comm ~ "ex-*"' > "$I/events/raw_syscalls/filter"
# A kernel stack after every switch-out of a task that blocks (S or D), as `latency-tracker live --stacks` does.
echo 'stacktrace if prev_state & 3' > "$I/events/sched/sched_switch/trigger"
for e in raw_syscalls/sys_enter raw_syscalls/sys_exit \
  sched/sched_switch sched/sched_waking sched/sched_wakeup sched/sched_wakeup_new \
  sched/sched_process_fork sched/sched_process_exec sched/sched_process_exit task/task_rename \
  block/block_rq_issue block/block_rq_complete irq/irq_handler_entry irq/irq_handler_exit \
  irq/softirq_raise irq/softirq_entry irq/softirq_exit \
  net/net_dev_queue net/net_dev_xmit net/netif_rx net/netif_receive_skb; do
  echo 1 > "$I/events/$e/enable"
done

ms() { awk "BEGIN { print $1 * $FACTOR / 1000 }"; }
echo 1 > "$I/tracing_on"
# The workload: sleeps (syscall, offcpu, wakeup), a pipe ping-pong (wakeups), O_DIRECT writes (block), a TCP echo
# over loopback (net-tx, net-rx, softirqs), and a busy loop that gets preempted.
"$WORK/ex-sleep" "$(ms 200)"
"$WORK/ex-sleep" "$(ms 50)"
"$WORK/ex-python" - "$FACTOR" <<'PYEOF'
import os, select, socket, sys, threading, time
f = float(sys.argv[1])
for _ in range(5):
    select.select([], [], [], 0.030 * f)
r1, w1 = os.pipe(); r2, w2 = os.pipe()
if os.fork() == 0:
    for _ in range(50):
        os.read(r1, 1); os.write(w2, b'y')
    os._exit(0)
for _ in range(50):
    os.write(w1, b'x'); os.read(r2, 1); time.sleep(0.002 * f)
os.wait()
srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(1)
def echo():
    c, _ = srv.accept()
    while True:
        d = c.recv(64)
        if not d: break
        c.sendall(d)
threading.Thread(target=echo, daemon=True).start()
cli = socket.create_connection(srv.getsockname())
for _ in range(20):
    cli.sendall(b'ping'); cli.recv(64); time.sleep(0.005 * f)
cli.close()
PYEOF
"$WORK/ex-dd" if=/dev/zero of="$WORK/dd.out" bs=64k count=32 oflag=direct,dsync status=none
"$WORK/ex-sh" -c 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done'
"$WORK/ex-sleep" "$(ms 100)"
echo 0 > "$I/tracing_on"

# trace-cmd embeds /proc/kallsyms (5 MB here). The stacks use a few hundred functions: a private mount namespace
# shows trace-cmd a kallsyms holding only those, so the file stays small and every frame still has its name.
grep -o '=> [A-Za-z0-9_.]*' "$I/trace" | cut -c4- | sort -u > "$WORK/used"
awk 'NR == FNR { want[$1] = 1; next } ($3 in want) || $3 == "_stext" || $3 == "_text"' "$WORK/used" /proc/kallsyms \
  > "$WORK/kallsyms"
unshare -m sh -c "mount --bind '$WORK/kallsyms' /proc/kallsyms && trace-cmd extract -B '$NAME' -o '$WORK/out.dat' --compression zstd >/dev/null 2>&1 || trace-cmd extract -B '$NAME' -o '$WORK/out.dat' > /dev/null"
# trace-cmd 3.1.6 now and then writes a file whose metadata it cannot read back itself: check, and say so.
if ! trace-cmd report "$WORK/out.dat" 2>/dev/null | head -n 1 | grep -q '^cpus='; then
  echo "record.sh: trace-cmd wrote an unreadable file (it happens now and then): run again" >&2
  exit 1
fi
mv "$WORK/out.dat" "$OUT"
echo "record.sh: wrote $OUT ($(wc -c < "$OUT") bytes; $(wc -l < "$WORK/kallsyms") of $(wc -l < /proc/kallsyms) kernel symbols kept)" >&2
