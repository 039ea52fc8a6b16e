/**
 * `block`: block I/O request latency (DESIGN §5). Begin: `block_rq_issue` (dev, sector); end: `block_rq_complete`
 * with the same (dev, sector); key (dev, sector), exact (sectors are 64-bit: flushes carry ~0). Context: device
 * (major,minor), sector, bytes, rwbs, the issuing thread.
 */
import type { EventInOptions, LatencyEvent } from '../tracker/tracker.ts';
import { splitPairKey } from './keys.ts';
import type { Analysis, AnalysisContext, AnalysisRun, U64 } from './types.ts';

const ISSUE = 'block:block_rq_issue';
const COMPLETE = 'block:block_rq_complete';

// Per-event data: issuing tid + 1 (23 bits), bytes (30 bits, clamped).
const TID_SPAN = 1 << 23;
const MAX_BYTES = 2 ** 30 - 1;
const pack = (tid: number, bytes: number) => tid + 1 + TID_SPAN * Math.min(bytes, MAX_BYTES);
const tidOf = (d: number) => (d % TID_SPAN) - 1;
const bytesOf = (d: number) => Math.floor(d / TID_SPAN);

/** `dev_t` as the kernel encodes it in trace events (MAJOR = dev >> 20, MINOR = dev & 0xfffff). */
export function devName(dev: number): string {
  return `${Math.floor(dev / 1048576)},${dev % 1048576}`;
}

export const block: Analysis = {
  name: 'block',
  description: 'block I/O latency: request issued to the device -> completed',
  defaultThreshold: 50_000_000,
  events(has) {
    return has(ISSUE) && has(COMPLETE) ? [ISSUE, COMPLETE] : `needs ${ISSUE} and ${COMPLETE}`;
  },
  tidFields: {},
  groupField: { name: 'dev', label: (code) => devName(code) },
  usesStacks: false,
  setup(ctx: AnalysisContext): AnalysisRun {
    const devIssue = ctx.int(ISSUE, 'dev');
    const secIssue = ctx.u64(ISSUE, 'sector');
    const bytesIssue = ctx.hasField(ISSUE, 'bytes') ? ctx.int(ISSUE, 'bytes') : undefined;
    const nrIssue = ctx.int(ISSUE, 'nr_sector');
    const devDone = ctx.int(COMPLETE, 'dev');
    const secDone = ctx.u64(COMPLETE, 'sector');
    const rwbs = ctx.str(COMPLETE, 'rwbs');
    const sec: U64 = { hi: 0, lo: 0 };
    const t = ctx.tracker<number>((e: LatencyEvent<number>) => {
      const d = e.data ?? 0;
      const tid = tidOf(d);
      // The request is the event's own key: a timeout fires before the record at hand is handled.
      const [dev, sector] = splitPairKey(e.key);
      const atEnd = ctx.endRecord(e);
      ctx.report({
        analysis: 'block',
        reason: e.reason,
        start: e.start,
        end: e.end,
        latency: e.latency,
        cpu: atEnd !== undefined ? atEnd.cpu : -1,
        tid: tid > 0 ? tid : -1,
        detail: {
          dev: devName(dev),
          sector,
          bytes: bytesOf(d),
          rwbs: atEnd !== undefined ? rwbs(atEnd) : null,
        },
        stack: -1,
      });
    });
    const opts: EventInOptions<number> = { unique: true, data: 0 };
    return {
      tracker: t,
      handlers: [
        [
          ISSUE,
          (r) => {
            secIssue(r, sec);
            const bytes = bytesIssue !== undefined ? bytesIssue(r) : nrIssue(r) * 512;
            opts.data = pack(r.pid > 0 ? r.pid : -1, bytes);
            t.eventInParts(devIssue(r), sec.hi, sec.lo, r.ts, opts);
          },
        ],
        [
          COMPLETE,
          (r) => {
            secDone(r, sec);
            const dev = devDone(r);
            const lat = t.eventOutParts(dev, sec.hi, sec.lo, r.ts);
            if (lat >= 0) ctx.pair(lat, tidOf(t.lastData ?? 0), r.cpu, dev);
          },
        ],
      ],
    };
  },
};
