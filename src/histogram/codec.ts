/**
 * Bucket counts as bytes: HdrHistogram's V2 payload ("ZigZag LEB128-64b9B + zero-run encoding"). Used for the
 * HdrHistogram export (`hdr.ts`) and for the compact per-interval snapshots of `windows.ts`.
 *
 * The counts from index 0 up to the last non-empty bucket are written in order, each as a ZigZag-encoded signed
 * integer in little-endian base-128 (7 bits per byte, high bit = more bytes follow; a 9th byte, if reached, carries 8
 * bits). A run of k ≥ 2 empty buckets is written as the single number -k. A typical latency bucket count takes one to
 * three bytes and a stretch of empty buckets one or two, so an interval's histogram shrinks from 36 KiB to a few KiB.
 *
 * Arithmetic is done with multiplications (no `<<` on values that may exceed 32 bits, no BigInt). Counts above 2^53
 * are not representable in our histograms, so the 9-byte form is decoded but never needed on encoding.
 */

const TWO7 = 128;
const TWO56 = 2 ** 56;

/** Bytes that `encodeCounts` may need at most for `n` buckets. */
export function maxEncodedLength(n: number): number {
  return n * 9;
}

/** Writes one ZigZag LEB128 value at `pos`; returns the position after it. `v` is a safe integer. */
function putZigZag(out: Uint8Array, pos: number, v: number): number {
  let z = v >= 0 ? v * 2 : -v * 2 - 1;
  for (let i = 0; i < 8; i++) {
    if (z < TWO7) {
      out[pos++] = z;
      return pos;
    }
    const low = z % TWO7;
    out[pos++] = low | 0x80;
    z = (z - low) / TWO7;
  }
  out[pos++] = z; // 9th byte: 8 bits
  return pos;
}

/**
 * Encodes `counts[0..end)` (end = last non-empty index + 1) into `out` from `pos`; returns the position after the
 * payload. `out` must have `maxEncodedLength(end)` bytes free from `pos`. Counts must be non-negative safe integers.
 */
export function encodeCounts(counts: Float64Array, end: number, out: Uint8Array, pos: number): number {
  let i = 0;
  while (i < end) {
    const c = counts[i++];
    if (c !== 0) {
      pos = putZigZag(out, pos, c);
      continue;
    }
    let zeros = 1;
    while (i < end && counts[i] === 0) {
      zeros++;
      i++;
    }
    pos = putZigZag(out, pos, zeros > 1 ? -zeros : 0);
  }
  return pos;
}

/**
 * Decodes the payload `bytes[start..end)` and adds its counts into `target` by index. A non-empty bucket at an index
 * beyond `target` is handed to `spill(index, count)` instead, which returns false to refuse it (pass an empty target
 * to route every bucket through `spill`, e.g. to re-bucket a foreign layout). Returns the number of buckets decoded,
 * or -1 for a malformed payload (truncated value, value above 2^53, bucket refused). Totals are the caller's business.
 */
export function decodeCountsAdd(
  bytes: Uint8Array,
  start: number,
  end: number,
  target: Float64Array,
  spill?: (index: number, count: number) => boolean,
): number {
  let pos = start;
  let idx = 0;
  const len = target.length;
  while (pos < end) {
    // One ZigZag LEB128 value.
    let b = bytes[pos++];
    let z = b & 0x7f;
    let scale = TWO7;
    let n = 1;
    while (b & 0x80) {
      if (pos >= end) return -1;
      b = bytes[pos++];
      n++;
      if (n === 9) {
        z += b * TWO56;
        break;
      }
      z += (b & 0x7f) * scale;
      scale *= TWO7;
    }
    if (z > Number.MAX_SAFE_INTEGER) return -1;
    const v = z % 2 === 0 ? z / 2 : -(z + 1) / 2;
    if (v < 0) {
      idx += -v;
      continue;
    }
    if (v !== 0) {
      if (idx < len) target[idx] += v;
      else if (spill === undefined || !spill(idx, v)) return -1;
    }
    idx++;
  }
  return idx;
}
