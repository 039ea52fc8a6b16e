/** Softirq vector names (include/linux/interrupt.h, stable since Linux 2.6.3x: HI..RCU). */
export const SOFTIRQ_NAMES: readonly string[] = [
  'HI',
  'TIMER',
  'NET_TX',
  'NET_RX',
  'BLOCK',
  'IRQ_POLL',
  'TASKLET',
  'SCHED',
  'HRTIMER',
  'RCU',
];

export function softirqName(vec: number): string {
  return SOFTIRQ_NAMES[vec] ?? String(vec);
}
