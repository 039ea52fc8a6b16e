/**
 * The two softirq analyses, one shape: a vector's time between two events on the same CPU, key (cpu, vec).
 * Context: the vector name.
 * - `softirq`: handler duration (DESIGN §5). Begin: `softirq_entry` (vec) on CPU c; end: `softirq_exit` (vec) on c.
 * - `softirq-delay`: how long a raised softirq waits before it runs. Begin: the first `softirq_raise` (vec) on CPU c
 *   not yet served; end: `softirq_entry` (vec) on c.
 */
import type { EventInOptions, LatencyEvent } from '../tracker/tracker.ts';
import { splitCpuKey } from './keys.ts';
import { softirqName } from './softirq-names.ts';
import type { Analysis, AnalysisContext, AnalysisRun } from './types.ts';

const RAISE = 'irq:softirq_raise';
const ENTRY = 'irq:softirq_entry';
const EXIT = 'irq:softirq_exit';

/** `unique`: a new begin replaces one in flight (entry); otherwise the first begin counts until the end (raise). */
function softirqAnalysis(name: string, description: string, begin: string, end: string, unique: boolean): Analysis {
  return {
    name,
    description,
    defaultThreshold: 1_000_000,
    events(has) {
      return has(begin) && has(end) ? [begin, end] : `needs ${begin} and ${end}`;
    },
    tidFields: {},
    groupField: { name: 'vec', label: (code) => softirqName(code) },
    usesStacks: false,
    setup(ctx: AnalysisContext): AnalysisRun {
      const vecIn = ctx.int(begin, 'vec');
      const vecOut = ctx.int(end, 'vec');
      const t = ctx.tracker<number>((e: LatencyEvent<number>) => {
        const [cpu, vec] = splitCpuKey(e.key);
        ctx.report({
          analysis: name,
          reason: e.reason,
          start: e.start,
          end: e.end,
          latency: e.latency,
          cpu,
          tid: -1,
          detail: { vec, action: softirqName(vec) },
          stack: -1,
        });
      });
      const opts: EventInOptions<number> = { unique };
      return {
        tracker: t,
        handlers: [
          [begin, (r) => void t.eventInParts(r.cpu, 0, vecIn(r), r.ts, opts)],
          [
            end,
            (r) => {
              const vec = vecOut(r);
              const lat = t.eventOutParts(r.cpu, 0, vec, r.ts);
              if (lat >= 0) ctx.pair(lat, -1, r.cpu, vec);
            },
          ],
        ],
      };
    },
  };
}

export const softirq = softirqAnalysis(
  'softirq',
  'softirq handler duration (softirq_entry -> softirq_exit on a CPU)',
  ENTRY,
  EXIT,
  true,
);

export const softirqDelay = softirqAnalysis(
  'softirq-delay',
  'softirq raise -> handler start on a CPU (the first raise not yet served)',
  RAISE,
  ENTRY,
  false,
);
