/**
 * `softirq`: softirq handler duration (DESIGN §5). Begin: `softirq_entry` (vec) on CPU c; end: `softirq_exit`
 * (vec) on CPU c; key (cpu, vec). Context: the vector name.
 */
import type { EventInOptions, LatencyEvent } from '../tracker/tracker.ts';
import { splitCpuKey } from './keys.ts';
import { softirqName } from './softirq-names.ts';
import type { Analysis, AnalysisContext, AnalysisRun } from './types.ts';

const ENTRY = 'irq:softirq_entry';
const EXIT = 'irq:softirq_exit';

export const softirq: Analysis = {
  name: 'softirq',
  description: 'softirq handler duration (softirq_entry -> softirq_exit on a CPU)',
  defaultThreshold: 1_000_000,
  events(has) {
    return has(ENTRY) && has(EXIT) ? [ENTRY, EXIT] : `needs ${ENTRY} and ${EXIT}`;
  },
  tidFields: {},
  groupField: { name: 'vec', label: (code) => softirqName(code) },
  usesStacks: false,
  setup(ctx: AnalysisContext): AnalysisRun {
    const vecIn = ctx.int(ENTRY, 'vec');
    const vecOut = ctx.int(EXIT, 'vec');
    const t = ctx.tracker<number>((e: LatencyEvent<number>) => {
      const [cpu, vec] = splitCpuKey(e.key);
      ctx.report({
        analysis: 'softirq',
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
    const opts: EventInOptions<number> = { unique: true };
    return {
      tracker: t,
      handlers: [
        [ENTRY, (r) => void t.eventInParts(r.cpu, 0, vecIn(r), r.ts, opts)],
        [
          EXIT,
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
