/**
 * `softirq-delay`: how long a raised softirq waits before it runs (DESIGN §5). Begin: the first `softirq_raise`
 * (vec) on CPU c not yet served; end: `softirq_entry` (vec) on CPU c; key (cpu, vec).
 */
import type { LatencyEvent } from '../tracker/tracker.ts';
import { splitCpuKey } from './keys.ts';
import { softirqName } from './softirq-names.ts';
import type { Analysis, AnalysisContext, AnalysisRun } from './types.ts';

const RAISE = 'irq:softirq_raise';
const ENTRY = 'irq:softirq_entry';

export const softirqDelay: Analysis = {
  name: 'softirq-delay',
  description: 'softirq raise -> handler start on a CPU (the first raise not yet served)',
  defaultThreshold: 1_000_000,
  events(has) {
    return has(RAISE) && has(ENTRY) ? [RAISE, ENTRY] : `needs ${RAISE} and ${ENTRY}`;
  },
  tidFields: {},
  groupField: { name: 'vec', label: (code) => softirqName(code) },
  usesStacks: false,
  setup(ctx: AnalysisContext): AnalysisRun {
    const vecRaise = ctx.int(RAISE, 'vec');
    const vecEntry = ctx.int(ENTRY, 'vec');
    const t = ctx.tracker<number>((e: LatencyEvent<number>) => {
      const [cpu, vec] = splitCpuKey(e.key);
      ctx.report({
        analysis: 'softirq-delay',
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
    return {
      tracker: t,
      handlers: [
        // Not unique: only the first raise counts until the vector is served.
        [RAISE, (r) => void t.eventInParts(r.cpu, 0, vecRaise(r), r.ts)],
        [
          ENTRY,
          (r) => {
            const vec = vecEntry(r);
            const lat = t.eventOutParts(r.cpu, 0, vec, r.ts);
            if (lat >= 0) ctx.pair(lat, -1, r.cpu, vec);
          },
        ],
      ],
    };
  },
};
