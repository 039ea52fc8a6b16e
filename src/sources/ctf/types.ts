/**
 * The CTF 1.8 trace model: what the TSDL metadata declares (types, trace, env, clocks, streams, events).
 * Produced by `tsdl.ts` from metadata text, consumed by `compile.ts`. No I/O, no decoding here.
 * Reference: Common Trace Format specification v1.8.3 (§4 types, §5 streams, §6 events, §7 TSDL, §8 clocks).
 */

export type ByteOrder = 'le' | 'be' | 'native';

export interface IntType {
  kind: 'int';
  /** Size in bits (1..64; larger sizes are accepted only byte-aligned and are then opaque bytes). */
  size: number;
  /** Alignment in bits (a power of two). */
  align: number;
  signed: boolean;
  byteOrder: ByteOrder;
  /** Preferred display base: 2, 8, 10 or 16. */
  base: number;
  /** `none`, `UTF8` or `ASCII`: 8-bit encoded integers in arrays and sequences are text. */
  encoding: 'none' | 'utf8' | 'ascii';
  /** Clock name when the integer is mapped to a clock (`map = clock.NAME.value`). */
  clock: string | undefined;
}

export interface FloatType {
  kind: 'float';
  expDig: number;
  mantDig: number;
  align: number;
  byteOrder: ByteOrder;
}

export interface EnumEntry {
  label: string;
  lo: number;
  hi: number;
}

export interface EnumType {
  kind: 'enum';
  container: IntType;
  entries: EnumEntry[];
}

export interface StringType {
  kind: 'string';
  encoding: 'utf8' | 'ascii';
}

export interface ArrayType {
  kind: 'array';
  element: CtfType;
  length: number;
}

export interface SequenceType {
  kind: 'sequence';
  element: CtfType;
  /** The length field as written in the metadata: a relative name (`__cmd_length`) or an absolute dotted path. */
  lengthRef: string;
}

export interface StructField {
  name: string;
  type: CtfType;
}

export interface StructType {
  kind: 'struct';
  fields: StructField[];
  /** Minimum alignment from `align(N)` (bits); 1 when absent. */
  minAlign: number;
}

export interface VariantType {
  kind: 'variant';
  /** The tag field as written (`id`, `_network_header_type`, or an absolute path); undefined for an untagged declaration. */
  tagRef: string | undefined;
  options: StructField[];
}

export type CtfType = IntType | FloatType | EnumType | StringType | ArrayType | SequenceType | StructType | VariantType;

export interface CtfClock {
  name: string;
  /** Hz (default 1e9). */
  freq: bigint;
  /** Offset in cycles (may be negative) and in seconds, from the clock's origin to the Unix epoch. */
  offset: bigint;
  offsetSeconds: bigint;
  description: string | undefined;
}

export interface CtfEventClass {
  /** Event name as declared (`sched_switch`, `syscall_entry_read`). */
  name: string;
  id: number;
  streamId: number;
  context: StructType | undefined;
  fields: StructType | undefined;
}

export interface CtfStreamClass {
  id: number;
  packetContext: StructType | undefined;
  eventHeader: StructType | undefined;
  eventContext: StructType | undefined;
  /** Event classes by id. */
  events: Map<number, CtfEventClass>;
}

export interface CtfTrace {
  major: number;
  minor: number;
  /** The trace uuid as 16 bytes, when declared. */
  uuid: Uint8Array | undefined;
  /** Byte order of the trace (`native` fields resolve to it). */
  byteOrder: 'le' | 'be';
  packetHeader: StructType | undefined;
  /** `env { ... }` values: strings or integers (as numbers when safe, else as decimal strings). */
  env: Map<string, string | number>;
  clocks: Map<string, CtfClock>;
  streams: Map<number, CtfStreamClass>;
}

/** Alignment in bits of a type (CTF §4): the selected variant option's alignment is only known when decoding. */
export function alignOf(t: CtfType): number {
  switch (t.kind) {
    case 'int':
    case 'float':
      return t.align;
    case 'enum':
      return t.container.align;
    case 'string':
      return 8;
    case 'array':
    case 'sequence':
      return alignOf(t.element);
    case 'struct': {
      let a = t.minAlign;
      for (const f of t.fields) a = Math.max(a, alignOf(f.type));
      return a;
    }
    case 'variant':
      return 1;
  }
}
