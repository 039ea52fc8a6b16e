import type { Key } from '../tracker/key.ts';

/**
 * Splits a per-CPU key `(cpu, value)` given to the tracker as parts `(cpu, 0, value)`: the tracker hands it back as
 * `[cpu, value]`, or as plain `value` when cpu is 0 (a composite key whose first part is 0 equals the plain key).
 */
export function splitCpuKey(key: Key): [cpu: number, value: number] {
  if (typeof key === 'number') return [0, key];
  if (typeof key === 'bigint') return [0, Number(key)];
  return [Number(key[0]), Number(key[1])];
}
