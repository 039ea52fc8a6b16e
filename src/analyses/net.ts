/**
 * Shared by `net-tx` and `net-rx`: a packet's time between two events that name the same `skbaddr` (a 64-bit kernel
 * address, kept exact). Context: device name, length, skbaddr.
 */
import type { EventInOptions, LatencyEvent } from '../tracker/tracker.ts';
import { hex64Key } from './keys.ts';
import type { Analysis, AnalysisContext, AnalysisRun, U64 } from './types.ts';

export function netAnalysis(name: string, description: string, begin: string, end: string): Analysis {
  return {
    name,
    description,
    defaultThreshold: 1_000_000,
    events(has) {
      return has(begin) && has(end) ? [begin, end] : `needs ${begin} and ${end}`;
    },
    tidFields: {},
    usesStacks: false,
    setup(ctx: AnalysisContext): AnalysisRun {
      const skbIn = ctx.u64(begin, 'skbaddr');
      const skbOut = ctx.u64(end, 'skbaddr');
      const lenIn = ctx.int(begin, 'len');
      const devOut = ctx.hasField(end, 'name') ? ctx.str(end, 'name') : undefined;
      const skb: U64 = { hi: 0, lo: 0 };
      const t = ctx.tracker<number>((e: LatencyEvent<number>) => {
        const atEnd = ctx.endRecord(e);
        ctx.report({
          analysis: name,
          reason: e.reason,
          start: e.start,
          end: e.end,
          latency: e.latency,
          cpu: atEnd !== undefined ? atEnd.cpu : -1,
          tid: -1,
          detail: {
            dev: atEnd !== undefined && devOut !== undefined ? devOut(atEnd) : null,
            len: e.data ?? null,
            skbaddr: hex64Key(e.key),
          },
          stack: -1,
        });
      });
      const opts: EventInOptions<number> = { unique: true, data: 0 };
      return {
        tracker: t,
        handlers: [
          [
            begin,
            (r) => {
              skbIn(r, skb);
              opts.data = lenIn(r);
              t.eventInParts(0, skb.hi, skb.lo, r.ts, opts);
            },
          ],
          [
            end,
            (r) => {
              skbOut(r, skb);
              const lat = t.eventOutParts(0, skb.hi, skb.lo, r.ts);
              if (lat >= 0) ctx.pair(lat, -1, r.cpu, 0);
            },
          ],
        ],
      };
    },
  };
}
