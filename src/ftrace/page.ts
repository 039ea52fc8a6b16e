/**
 * Ring-buffer sub-buffer ("page") walker: a pure function from the bytes of one sub-buffer to records in a
 * struct-of-arrays batch (DESIGN §3; the byte layout is in shared/notes/ftrace-ring-buffer.md).
 *
 * Page header (struct buffer_data_page, include/linux/ring_buffer.h; offsets from `events/header_page`):
 *   u64 time_stamp; long commit; records...   (commit: low 27 bits of the low 32 bits = data bytes;
 *   bit 31 RB_MISSED_EVENTS, bit 30 RB_MISSED_STORED -> a `long` lost count sits at dataOffset + size)
 * Record header: u32 `type_len:5 | time_delta:27` (little endian: type_len = w & 31; big endian: w >>> 27),
 *   kernel/trace/ring_buffer.c `rb_event_length`:
 *   1..28 data, payload type_len*4 bytes at +4;   0 data, array[0] = payload+4, payload at +8;
 *   29 padding (delta 0: rest of page; else 4 + array[0] bytes, delta counts as libtraceevent does);
 *   30 time extend (+= array[0] << 27 | delta);   31 absolute time stamp (59 bits, top 5 bits from the current
 *   time, `rb_fix_abs_ts`).
 *
 * Never throws: every ABI violation is a status (`PageStatus`), the walk stops at the first fatal one and keeps
 * what it decoded before it. Timestamps are kept exact without BigInt: the page's 64-bit base is read as hi/lo
 * u32 halves once per page, and each record's `ts` is a plain number of nanoseconds from the caller's origin.
 */

import type { PageLayout } from './types.ts';

/** Outcome of walking a page (and of adding one to the merger). Names in `PAGE_STATUS_NAMES`. */
export const PageStatus = {
  OK: 0,
  /** Fewer bytes than a page header. */
  PAGE_TOO_SHORT: 1,
  /** `commit` claims more data than the page holds (decoded up to the page end). */
  COMMIT_TOO_LARGE: 2,
  /** A record (or its length word) runs past the committed data. */
  RECORD_OVERRUNS_PAGE: 3,
  /** A type_len 0 record whose array[0] is smaller than itself. */
  BAD_TYPE0_LENGTH: 4,
  /** A data record too short for the 8-byte common header (skipped, walk continues; counted per record). */
  SHORT_RECORD: 5,
  /** The output batch had no room (the caller sized it too small). */
  BATCH_FULL: 6,
  /** The merger's per-CPU page pool is full: the page was not taken (drain, then add it again). */
  POOL_FULL: 7,
  /** The CPU number is outside the merger's range. */
  BAD_CPU: 8,
  /** A record whose common_type has no format in the schema (delivered anyway; counted per record). */
  UNKNOWN_EVENT_ID: 9,
} as const;
export type PageStatusCode = (typeof PageStatus)[keyof typeof PageStatus];

export const PAGE_STATUS_NAMES: readonly string[] = (() => {
  const names: string[] = [];
  for (const [k, v] of Object.entries(PageStatus)) names[v] = k;
  return names;
})();

/** Preallocated struct-of-arrays output: one slot per record. Offsets are absolute positions in the walked view. */
export class RecordBatch {
  readonly ts: Float64Array;
  readonly off: Int32Array;
  readonly len: Int32Array;
  readonly id: Int32Array;
  readonly pid: Int32Array;
  constructor(readonly capacity: number) {
    this.ts = new Float64Array(capacity);
    this.off = new Int32Array(capacity);
    this.len = new Int32Array(capacity);
    this.id = new Int32Array(capacity);
    this.pid = new Int32Array(capacity);
  }
}

/** Filled by `walkPage` (reuse one per caller). */
export class PageResult {
  status: number = PageStatus.OK;
  /** Records written to the batch. */
  records = 0;
  /** Data records too short for the common header (skipped). */
  shortRecords = 0;
  /** Committed data bytes (`commit & 0x7ffffff`), before any clamping. */
  dataSize = 0;
  /** RB_MISSED_EVENTS: events were lost before this page. */
  missed = false;
  /** Lost count stored on the page (RB_MISSED_STORED), -1 when missed but unknown, 0 when nothing was missed. */
  lost = 0;
  /** The page's 64-bit time stamp as unsigned halves. */
  baseHi = 0;
  baseLo = 0;
  /** The page time stamp and the running time after the last record, as offsets from the origin. */
  firstTs = 0;
  endTs = 0;
}

/** Smallest record the walker emits: 4-byte header + 8-byte common fields. Bounds records per page. */
const MIN_RECORD = 12;

/** Upper bound of data records on one page of `layout` (size a batch with it). */
export function maxRecordsPerPage(layout: PageLayout): number {
  return Math.floor((layout.pageSize - layout.dataOffset) / MIN_RECORD) + 1;
}

const TWO32 = 4294967296;
const TWO27 = 134217728;

/**
 * Reads the page header only: time stamp halves, data size and loss flags into `res` (records = 0).
 * Returns the status (OK or PAGE_TOO_SHORT).
 */
export function readPageHeader(view: DataView, pageOff: number, avail: number, layout: PageLayout, res: PageResult) {
  const le = layout.littleEndian;
  res.records = 0;
  res.shortRecords = 0;
  res.missed = false;
  res.lost = 0;
  res.dataSize = 0;
  if (avail < layout.dataOffset || pageOff + layout.dataOffset > view.byteLength) {
    res.status = PageStatus.PAGE_TOO_SHORT;
    return res.status;
  }
  const t = pageOff + layout.timestampOffset;
  res.baseLo = view.getUint32(le ? t : t + 4, le);
  res.baseHi = view.getUint32(le ? t + 4 : t, le);
  const c = pageOff + layout.commitOffset + (layout.commitSize === 8 && !le ? 4 : 0);
  const commit = view.getUint32(c, le);
  res.dataSize = commit & 0x07ffffff;
  res.missed = (commit & 0x80000000) !== 0;
  res.status = PageStatus.OK;
  if (res.missed) {
    res.lost = -1;
    if ((commit & 0x40000000) !== 0) {
      const at = pageOff + layout.dataOffset + res.dataSize;
      const ls = layout.commitSize;
      if (layout.dataOffset + res.dataSize + ls <= Math.min(avail, layout.pageSize) && at + ls <= view.byteLength) {
        if (ls === 8) {
          const lo = view.getUint32(le ? at : at + 4, le);
          const hi = view.getUint32(le ? at + 4 : at, le);
          res.lost = hi * TWO32 + lo;
        } else {
          res.lost = view.getUint32(at, le);
        }
      }
    }
  }
  return res.status;
}

/**
 * Walks one sub-buffer at `view[pageOff .. pageOff + min(avail, layout.pageSize))`, appending each data record
 * (payload of at least 8 bytes) to `out` from index `outStart`. `originHi`/`originLo` are the halves of the
 * source's origin: record times are written as `page time + deltas - origin` (exact below 2^53 ns).
 * Fills `res` and returns its status. Pure: reads nothing but its arguments, never throws, allocates nothing.
 */
export function walkPage(
  view: DataView,
  pageOff: number,
  avail: number,
  layout: PageLayout,
  originHi: number,
  originLo: number,
  out: RecordBatch,
  outStart: number,
  res: PageResult,
): number {
  if (readPageHeader(view, pageOff, avail, layout, res) !== PageStatus.OK) return res.status;
  const le = layout.littleEndian;
  let extent = Math.min(avail, layout.pageSize);
  if (pageOff + extent > view.byteLength) extent = view.byteLength - pageOff;
  let size = res.dataSize;
  let status: number = PageStatus.OK;
  let first: number = PageStatus.OK;
  if (layout.dataOffset + size > extent) {
    first = PageStatus.COMMIT_TOO_LARGE;
    size = extent - layout.dataOffset;
  }
  let t = (res.baseHi - originHi) * TWO32 + (res.baseLo - originLo);
  res.firstTs = t;
  let pos = pageOff + layout.dataOffset;
  const end = pos + size;
  let k = outStart;
  const cap = out.capacity;
  const tsA = out.ts;
  const offA = out.off;
  const lenA = out.len;
  const idA = out.id;
  const pidA = out.pid;
  let short = 0;
  while (pos + 4 <= end) {
    const w = view.getUint32(pos, le);
    let typeLen: number;
    let delta: number;
    if (le) {
      typeLen = w & 31;
      delta = w >>> 5;
    } else {
      typeLen = w >>> 27;
      delta = w & 0x07ffffff;
    }
    let payload: number;
    let plen: number;
    if (typeLen !== 0 && typeLen <= 28) {
      plen = typeLen << 2;
      payload = pos + 4;
      if (payload + plen > end) {
        status = PageStatus.RECORD_OVERRUNS_PAGE;
        break;
      }
      pos = payload + plen;
    } else if (typeLen === 0) {
      if (pos + 8 > end) {
        status = PageStatus.RECORD_OVERRUNS_PAGE;
        break;
      }
      const a0 = view.getUint32(pos + 4, le);
      if (a0 < 4) {
        status = PageStatus.BAD_TYPE0_LENGTH;
        break;
      }
      // Checked before rounding: `(a0 + 3) & ~3` is 32-bit and wraps for a0 near 2^32 (a corrupt length).
      if (a0 > end - pos - 4) {
        status = PageStatus.RECORD_OVERRUNS_PAGE;
        break;
      }
      plen = a0 - 4;
      payload = pos + 8;
      const next = pos + 4 + ((a0 + 3) & ~3);
      if (next > end) {
        status = PageStatus.RECORD_OVERRUNS_PAGE;
        break;
      }
      pos = next;
    } else if (typeLen === 30) {
      if (pos + 8 > end) {
        status = PageStatus.RECORD_OVERRUNS_PAGE;
        break;
      }
      t += view.getUint32(pos + 4, le) * TWO27 + delta;
      pos += 8;
      continue;
    } else if (typeLen === 29) {
      if (delta === 0) break; // null padding: nothing valid after it on this page
      if (pos + 8 > end) {
        status = PageStatus.RECORD_OVERRUNS_PAGE;
        break;
      }
      const a0 = view.getUint32(pos + 4, le);
      const next = a0 > end - pos - 4 ? end + 1 : pos + 4 + ((a0 + 3) & ~3); // no 32-bit wrap (see type 0)
      if (next > end || next < pos + 8) {
        status = PageStatus.RECORD_OVERRUNS_PAGE;
        break;
      }
      t += delta; // a discarded event's delta is real (libtraceevent kbuffer `update_pointers`)
      pos = next;
      continue;
    } else {
      // 31: absolute time stamp, 59 bits; restore the top 5 bits from the current time (rb_fix_abs_ts).
      if (pos + 8 > end) {
        status = PageStatus.RECORD_OVERRUNS_PAGE;
        break;
      }
      t = absoluteTime(view.getUint32(pos + 4, le), delta, t, originHi, originLo);
      pos += 8;
      continue;
    }
    t += delta;
    if (plen < 8) {
      short++;
      continue;
    }
    if (k >= cap) {
      status = PageStatus.BATCH_FULL;
      break;
    }
    tsA[k] = t;
    offA[k] = payload;
    lenA[k] = plen;
    idA[k] = view.getUint16(payload, le);
    pidA[k] = view.getInt32(payload + 4, le);
    k++;
  }
  res.records = k - outStart;
  res.shortRecords = short;
  res.endTs = t;
  res.status = first !== PageStatus.OK ? first : status;
  return res.status;
}

/**
 * The time of a TIME_STAMP record as an offset from the origin: value = array0 << 27 | delta (59 bits), with the
 * top 5 bits of the current absolute time ORed in, plus 2^59 if that went backwards (kernel `rb_fix_abs_ts`).
 * Rare (absolute-timestamp mode only), so plain arithmetic on halves.
 */
function absoluteTime(array0: number, delta: number, cur: number, originHi: number, originLo: number): number {
  let lo = ((array0 << 27) | delta) >>> 0;
  let hi = array0 >>> 5;
  // Current absolute time in halves.
  const curLoSum = originLo + cur;
  const carry = Math.floor(curLoSum / TWO32);
  const curHi = (originHi + carry) >>> 0;
  const curLo = curLoSum - carry * TWO32;
  const msb = curHi & 0xf8000000;
  if (msb !== 0) {
    hi = (hi | msb) >>> 0;
    if (hi < curHi || (hi === curHi && lo < curLo)) {
      hi = (hi + 0x08000000) >>> 0; // + 2^59
      lo = lo >>> 0;
    }
  }
  return (hi - originHi) * TWO32 + (lo - originLo);
}
