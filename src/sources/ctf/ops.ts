/**
 * The decoding program format shared by the compiler (`compile.ts`) and the interpreter (`decoder.ts`).
 *
 * A program is an `Int32Array` of fixed-width instructions (`W` slots each). Every CTF field becomes one instruction
 * chosen once, at compile time, from its type (byte-aligned integer, bit field, bytes, string, sequence, variant...),
 * with its alignment, size, byte order, the register it fills (when another field refers to it) and where its value
 * goes in the synthetic ftrace-like payload. The hot loop is a `switch` over these opcodes: no type tree is walked
 * per event.
 */

/** Slots per instruction. */
export const W = 8;
/** Slot indexes inside an instruction. */
export const S_OP = 0;
/** Alignment in bits (power of two). */
export const S_ALIGN = 1;
/** Size in bits (integers), byte count (bytes), element size in bits (arrays/sequences), or a constant's low word. */
export const S_A = 2;
export const S_FLAGS = 3;
/** Register written (or read, for sequences/variants/loops), -1 for none. */
export const S_REG = 4;
/** Destination byte offset in the output payload, -1 for none. */
export const S_DST = 5;
/** Destination size in bytes (integers), or the fixed size (BEGIN). */
export const S_DSTSIZE = 6;
/** Extra operand: element count (arrays), jump target (JUMP, LOOP), variant table index, constant high word. */
export const S_AUX = 7;

export const OP_END = 0;
/** Start of an event payload: writes the common header (`common_type` = S_A), sets the dynamic area at S_DSTSIZE. */
export const OP_BEGIN = 1;
export const OP_ALIGN = 2;
/** Byte-aligned integer of 8, 16, 32 or 64 bits. */
export const OP_INT = 3;
/** Integer of 1..64 bits at any bit position. */
export const OP_BITS = 4;
/** S_A bytes, byte-aligned (8-bit integer arrays, integers wider than 64 bits). */
export const OP_BYTES = 5;
/** S_AUX elements of S_A bits each (16/32/64), byte-aligned, converted one by one. */
export const OP_INT_ARRAY = 6;
/** NUL-terminated string. */
export const OP_STRING = 7;
/** Sequence of 8-bit elements, length in register S_REG. */
export const OP_SEQ_BYTES = 8;
/** Sequence of byte-aligned S_A-bit integers, length in register S_REG. */
export const OP_SEQ_INT = 9;
/** Variant: tag value in register S_REG, option table S_AUX. */
export const OP_VARIANT = 10;
export const OP_JUMP = 11;
/**
 * Loop over the following instructions up to S_AUX (exclusive), S_A times (static) or register S_REG times
 * (S_A = -1). The body ends with OP_LOOP_END.
 */
export const OP_LOOP = 12;
export const OP_LOOP_END = 13;
/** Write the 64-bit constant (S_A low word, S_AUX high word) at S_DST (S_DSTSIZE bytes). */
export const OP_CONST = 14;
/** Skip S_A bits after aligning: a run of byte-aligned fields nothing reads (folded at compile time). */
export const OP_SKIP = 15;

export const F_SIGNED = 1;
/** Big-endian field. */
export const F_BE = 2;
/** Clock-mapped integer: updates the stream clock (CTF §8: N-bit value, at most one wrap). */
export const F_CLOCK = 4;
/** Sets the stream clock to the value (packet context `timestamp_begin`). */
export const F_CLOCK_SET = 8;
/** LTTng block `rwbs` bit mask written as the ftrace `rwbs` string (see mapping.ts). */
export const F_RWBS = 16;
/** Old (lttng-modules ≤ 2.1) layout of the rwbs bits. */
export const F_RWBS_OLD = 32;
/** String into a fixed `char[S_DSTSIZE]` field instead of a `__data_loc` one. */
export const F_FIXED = 64;
/** BEGIN: zero the fixed part of the payload first (unmapped target fields, variant options not selected). */
export const F_ZERO = 128;
/** Bytes/sequence: text (stop at the first NUL when emitting a `__data_loc`). */
export const F_TEXT = 256;
/** Clock-mapped integer, whatever its role (for `StreamDecoder.onClock64`). */
export const F_CLOCKMAP = 512;

/** Registers with a fixed role. */
export const R_ID = 0;
export const R_TID = 1;
/** `_procname` context: byte offset in the stream buffer, and length. */
export const R_PROCNAME = 2;
export const R_FIRST_FREE = 4;

/** Interpreter status codes (0 = ok), named for SourceStats.errors. */
export const ST_OK = 0;
export const ST_OVERFLOW = 1;
export const ST_BAD_TAG = 2;
export const ST_TOO_LONG = 3;
export const STATUS_NAMES = ['ok', 'ctf_event_overflows_packet', 'ctf_bad_variant_tag', 'ctf_sequence_too_long'];

/** Largest payload (the ftrace `__data_loc` offset and length are 16-bit). */
export const MAX_PAYLOAD = 65535;
