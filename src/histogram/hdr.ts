/**
 * HdrHistogram's standard interchange form: the V2 compressed encoding, base64 (what `encodeIntoCompressedBase64` /
 * `decodeFromCompressedBase64` of HdrHistogram in Java, C, Go, JS... produce and read, and what HdrHistogram log files
 * hold). Values are in ns (the encoding carries no unit).
 *
 * Layout of the bytes (all integers big-endian):
 * - compressed envelope: i32 cookie `0x1c849314` (V2 compressed base `0x1c849304` | word-size bits `0x10`),
 *   i32 length of the compressed data, then the zlib (RFC 1950) deflate of the uncompressed encoding;
 * - uncompressed encoding: i32 cookie `0x1c849313`, i32 payload length, i32 normalizing index offset (0),
 *   i32 significant digits, i64 lowest discernible value, i64 highest trackable value, f64 integer-to-double
 *   conversion ratio (1.0), then the counts payload (`codec.ts`).
 *
 * Our layout is HdrHistogram's for (1, 3_600_000_000_000, 2 digits), so the export writes our buckets as they are:
 * an HdrHistogram decoder gets identical counts and percentiles within its own resolution. The encoding has no min,
 * max or sum: a decoder derives them from the buckets (±1/256).
 *
 * Import (`fromHdrBase64`) takes any V2 integer histogram and re-buckets it by each bucket's median value: lossless
 * for our layout, otherwise within the foreign layout's resolution plus ours. Bad input throws `HistogramFormatError`.
 */
import { deflateSync, inflateSync } from 'node:zlib';
import { decodeCountsAdd, encodeCounts, maxEncodedLength } from './codec.ts';
import { Histogram, HistogramFormatError } from './histogram.ts';
import { bucketValue, HIGHEST_NS, LOWEST_NS, SIGNIFICANT_DIGITS } from './layout.ts';

const V2_COOKIE_BASE = 0x1c849303;
const V2_COMPRESSED_COOKIE_BASE = 0x1c849304;
const WORD_SIZE_BITS = 0x10;
const HEADER_BYTES = 40;
const TWO32 = 4294967296;
const EMPTY = new Float64Array(0);

function putI64(dv: DataView, at: number, v: number): void {
  const hi = Math.floor(v / TWO32);
  dv.setUint32(at, hi);
  dv.setUint32(at + 4, v - hi * TWO32);
}

function getI64(dv: DataView, at: number): number {
  const hi = dv.getInt32(at);
  return hi * TWO32 + dv.getUint32(at + 4);
}

/** The uncompressed V2 encoding of `h` (header + payload). */
export function toHdrBytes(h: Histogram): Uint8Array {
  const end = h.count > 0 ? h.highIndex + 1 : 0;
  const buf = new Uint8Array(HEADER_BYTES + maxEncodedLength(end));
  const len = encodeCounts(h.counts, end, buf, HEADER_BYTES);
  const dv = new DataView(buf.buffer);
  dv.setInt32(0, V2_COOKIE_BASE | WORD_SIZE_BITS);
  dv.setInt32(4, len - HEADER_BYTES);
  dv.setInt32(8, 0);
  dv.setInt32(12, SIGNIFICANT_DIGITS);
  putI64(dv, 16, LOWEST_NS);
  putI64(dv, 24, HIGHEST_NS);
  dv.setFloat64(32, 1);
  return buf.subarray(0, len);
}

/** `h` as HdrHistogram's V2 compressed encoding in base64 (readable by `decodeFromCompressedBase64`). */
export function toHdrBase64(h: Histogram): string {
  const deflated = deflateSync(toHdrBytes(h));
  const out = Buffer.alloc(8 + deflated.length);
  out.writeInt32BE(V2_COMPRESSED_COOKIE_BASE | WORD_SIZE_BITS, 0);
  out.writeInt32BE(deflated.length, 4);
  deflated.copy(out, 8);
  return out.toString('base64');
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Reads HdrHistogram's V2 compressed base64 form into a new histogram (see the module comment). */
export function fromHdrBase64(text: string): Histogram {
  if (typeof text !== 'string') throw new HistogramFormatError('HdrHistogram: expected a base64 string');
  const s = text.trim();
  if (s.length === 0 || s.length % 4 !== 0 || !BASE64.test(s)) {
    throw new HistogramFormatError('HdrHistogram: not base64 text');
  }
  const bytes = Buffer.from(s, 'base64');
  if (bytes.length < 8) throw new HistogramFormatError('HdrHistogram: too short for a compressed histogram');
  const cookie = bytes.readInt32BE(0);
  if ((cookie & ~0xf0) !== V2_COMPRESSED_COOKIE_BASE) {
    throw new HistogramFormatError(
      `HdrHistogram: cookie 0x${(cookie >>> 0).toString(16)} is not a V2 compressed histogram (0x1c849314)`,
    );
  }
  const clen = bytes.readInt32BE(4);
  if (clen < 0 || 8 + clen > bytes.length) throw new HistogramFormatError('HdrHistogram: compressed data truncated');
  let raw: Buffer;
  try {
    raw = inflateSync(bytes.subarray(8, 8 + clen));
  } catch (e) {
    throw new HistogramFormatError(`HdrHistogram: bad zlib data (${(e as Error).message})`);
  }
  return fromHdrBytes(raw);
}

/** Reads the uncompressed V2 encoding. */
export function fromHdrBytes(raw: Uint8Array): Histogram {
  if (raw.length < HEADER_BYTES) throw new HistogramFormatError('HdrHistogram: header truncated');
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const cookie = dv.getInt32(0);
  if ((cookie & ~0xf0) !== V2_COOKIE_BASE) {
    throw new HistogramFormatError(`HdrHistogram: cookie 0x${(cookie >>> 0).toString(16)} is not a V2 histogram`);
  }
  const payload = dv.getInt32(4);
  const offset = dv.getInt32(8);
  const digits = dv.getInt32(12);
  const lowest = getI64(dv, 16);
  const highest = getI64(dv, 24);
  if (payload < 0 || HEADER_BYTES + payload > raw.length)
    throw new HistogramFormatError('HdrHistogram: payload truncated');
  // Java and C write 0 unless the histogram was shifted; hdr-histogram-js writes 1 and ignores it on reading.
  if (offset !== 0 && offset !== 1) {
    throw new HistogramFormatError(
      `HdrHistogram: normalizing index offset ${offset} (a shifted histogram) is not supported`,
    );
  }
  if (!(digits >= 0 && digits <= 5)) throw new HistogramFormatError(`HdrHistogram: bad significant digits ${digits}`);
  if (!(lowest >= 1 && highest >= 2 * lowest)) {
    throw new HistogramFormatError(`HdrHistogram: bad value range ${lowest}..${highest}`);
  }
  const { median, length } = hdrLayout(digits, lowest, highest);
  const h = new Histogram();
  const n = decodeCountsAdd(raw, HEADER_BYTES, HEADER_BYTES + payload, EMPTY, (i, c) => {
    if (i >= length) return false;
    h.recordN(median(i), c);
    return true;
  });
  if (n < 0) throw new HistogramFormatError('HdrHistogram: malformed counts payload (or a bucket beyond its range)');
  return h;
}

/**
 * HdrHistogram's layout for (`digits`, `lowest`, `highest`): the median equivalent value of counts index `i` (for
 * ours — 2 digits, lowest 1 — exactly our `bucketValue(i)`) and the counts array length (no valid index beyond it).
 */
function hdrLayout(digits: number, lowest: number, highest: number): { median: (i: number) => number; length: number } {
  const subCountMag = Math.ceil(Math.log2(2 * 10 ** digits));
  const halfMag = Math.max(subCountMag, 1) - 1;
  const half = 2 ** halfMag;
  const unitMag = Math.floor(Math.log2(lowest));
  let smallestUntrackable = 2 * half * 2 ** unitMag;
  let buckets = 1;
  while (smallestUntrackable <= highest && buckets < 64) {
    smallestUntrackable *= 2;
    buckets++;
  }
  const length = (buckets + 1) * half;
  if (digits === SIGNIFICANT_DIGITS && lowest === LOWEST_NS) return { median: bucketValue, length };
  const median = (i: number) => {
    let bucket = Math.floor(i / half) - 1;
    let sub = (i % half) + half;
    if (bucket < 0) {
      sub -= half;
      bucket = 0;
    }
    const size = 2 ** (bucket + unitMag);
    return sub * size + Math.floor(size / 2);
  };
  return { median, length };
}
