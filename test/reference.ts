/**
 * The naive DESIGN §5 reference, shared by the tests: pairs computed straight from trace-cmd's text decoding
 * (report-raw.txt.xz) with regexes, Maps and BigInt — deliberately independent of the code under test.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const TRACECMD_DIR = fileURLToPath(new URL('../../shared/traces/tracecmd-x86-vm/', import.meta.url));

export function reportText(): string {
  return execFileSync('xz', ['-dc', `${TRACECMD_DIR}report-raw.txt.xz`], { maxBuffer: 1 << 30 }).toString('utf8');
}

export interface Stat {
  count: number;
  min: bigint;
  max: bigint;
  sum: bigint;
}

export class Ref {
  /** Every latency, per analysis, in end order (ns). */
  latencies = new Map<string, number[]>();
  stats = new Map<string, Stat>();
  open = new Map<string, Map<string, bigint>>();
  begin(a: string, key: string, ts: bigint, keepFirst: boolean) {
    let m = this.open.get(a);
    if (!m) this.open.set(a, (m = new Map()));
    if (keepFirst && m.has(key)) return;
    m.set(key, ts);
  }
  drop(a: string, key: string) {
    this.open.get(a)?.delete(key);
  }
  end(a: string, key: string, ts: bigint) {
    const m = this.open.get(a);
    const start = m?.get(key);
    if (start === undefined) return;
    m?.delete(key);
    const lat = ts - start;
    if (lat < 0n) return;
    let s = this.stats.get(a);
    if (!s) this.stats.set(a, (s = { count: 0, min: lat, max: lat, sum: 0n }));
    s.count++;
    if (lat < s.min) s.min = lat;
    if (lat > s.max) s.max = lat;
    s.sum += lat;
    let l = this.latencies.get(a);
    if (!l) this.latencies.set(a, (l = []));
    l.push(Number(lat));
  }
}

export function reference(text: string): Ref {
  const ref = new Ref();
  const hasWaking = / sched_waking: /.test(text);
  const line = /^\S+: +.*-(\d+) +\[(\d+)\] +(\d+)\.(\d{9}): (\w+): +(.*)$/;
  const num = (fields: string, name: string) => {
    const m = new RegExp(`(?:^| )${name}=(\\S+)`).exec(fields);
    if (!m) throw new Error(`no ${name} in ${fields}`);
    return m[1];
  };
  for (const l of text.split('\n')) {
    const m = line.exec(l);
    if (!m) continue;
    const tid = m[1];
    const cpu = m[2];
    const ts = BigInt(m[3]) * 1_000_000_000n + BigInt(m[4]);
    const ev = m[5];
    const f = m[6];
    switch (ev) {
      case 'sys_enter':
        if (tid !== '0') ref.begin('syscall', tid, ts, false);
        break;
      case 'sys_exit':
        if (tid !== '0') ref.end('syscall', tid, ts);
        break;
      case 'sched_waking':
        ref.begin('wakeup', num(f, 'pid'), ts, true);
        break;
      case 'sched_wakeup':
        if (!hasWaking) ref.begin('wakeup', num(f, 'pid'), ts, true);
        break;
      case 'sched_wakeup_new':
        ref.begin('wakeup', num(f, 'pid'), ts, true);
        break;
      case 'sched_switch': {
        const prev = num(f, 'prev_pid');
        const next = num(f, 'next_pid');
        if (prev !== '0') {
          ref.drop('wakeup', prev);
          ref.begin('offcpu', prev, ts, false);
        }
        if (next !== '0') {
          ref.end('wakeup', next, ts);
          ref.end('offcpu', next, ts);
        }
        break;
      }
      case 'block_rq_issue':
        ref.begin('block', `${num(f, 'dev')}/${num(f, 'sector')}`, ts, false);
        break;
      case 'block_rq_complete':
        ref.end('block', `${num(f, 'dev')}/${num(f, 'sector')}`, ts);
        break;
      case 'irq_handler_entry':
        ref.begin('irq', `${cpu}/${num(f, 'irq')}`, ts, false);
        break;
      case 'irq_handler_exit':
        ref.end('irq', `${cpu}/${num(f, 'irq')}`, ts);
        break;
      case 'softirq_entry':
        ref.begin('softirq', `${cpu}/${num(f, 'vec')}`, ts, false);
        ref.end('softirq-delay', `${cpu}/${num(f, 'vec')}`, ts);
        break;
      case 'softirq_exit':
        ref.end('softirq', `${cpu}/${num(f, 'vec')}`, ts);
        break;
      case 'softirq_raise':
        ref.begin('softirq-delay', `${cpu}/${num(f, 'vec')}`, ts, true);
        break;
      case 'net_dev_queue':
        ref.begin('net-tx', num(f, 'skbaddr'), ts, false);
        break;
      case 'net_dev_xmit':
        ref.end('net-tx', num(f, 'skbaddr'), ts);
        break;
      case 'netif_rx':
        ref.begin('net-rx', num(f, 'skbaddr'), ts, false);
        break;
      case 'netif_receive_skb':
        ref.end('net-rx', num(f, 'skbaddr'), ts);
        break;
    }
  }
  return ref;
}
