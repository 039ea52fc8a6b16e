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

/** A key given as parts `(0, hi, lo)` (a 64-bit address) as 16 hex digits, e.g. `0xffff88814dc332e0`. */
export function hex64Key(key: Key): string {
  return `0x${BigInt(key as number | bigint)
    .toString(16)
    .padStart(16, '0')}`;
}

/** A key given as parts `(k0, hi, lo)`: `[k0, value]` with the value exact (number, or bigint above 2^53). */
export function splitPairKey(key: Key): [first: number, value: number | bigint] {
  if (typeof key === 'number' || typeof key === 'bigint') return [0, key];
  return [Number(key[0]), key[1]];
}
