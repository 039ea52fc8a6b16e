/**
 * `irq`: hard interrupt handler duration (DESIGN §5). Begin: `irq_handler_entry` (irq) on CPU c; end:
 * `irq_handler_exit` (same irq) on CPU c; key (cpu, irq). Context: irq number and handler name.
 */
import type { EventInOptions, LatencyEvent } from '../tracker/tracker.ts';
import { splitCpuKey } from './keys.ts';
import type { Analysis, AnalysisContext, AnalysisRun } from './types.ts';

const ENTRY = 'irq:irq_handler_entry';
const EXIT = 'irq:irq_handler_exit';
/** Handler names are cached per irq number (names rarely change); bounded. */
const MAX_NAMES = 4096;

export const irq: Analysis = {
  name: 'irq',
  description: 'hard IRQ handler duration (irq_handler_entry -> irq_handler_exit on a CPU)',
  defaultThreshold: 500_000,
  events(has) {
    return has(ENTRY) && has(EXIT) ? [ENTRY, EXIT] : `needs ${ENTRY} and ${EXIT}`;
  },
  tidFields: {},
  groupField: { name: 'irq', label: (code) => String(code) },
  usesStacks: false,
  setup(ctx: AnalysisContext): AnalysisRun {
    const irqIn = ctx.int(ENTRY, 'irq');
    const irqOut = ctx.int(EXIT, 'irq');
    const name = ctx.str(ENTRY, 'name');
    const names = new Map<number, string>();
    const t = ctx.tracker<number>((e: LatencyEvent<number>) => {
      const [cpu, irqNo] = splitCpuKey(e.key);
      ctx.report({
        analysis: 'irq',
        reason: e.reason,
        start: e.start,
        end: e.end,
        latency: e.latency,
        cpu,
        tid: -1,
        detail: { irq: irqNo, name: names.get(irqNo) ?? null },
        stack: -1,
      });
    });
    const opts: EventInOptions<number> = { unique: true };
    return {
      tracker: t,
      handlers: [
        [
          ENTRY,
          (r) => {
            const n = irqIn(r);
            if (names.size < MAX_NAMES && !names.has(n)) names.set(n, name(r));
            t.eventInParts(r.cpu, 0, n, r.ts, opts);
          },
        ],
        [
          EXIT,
          (r) => {
            const n = irqOut(r);
            const lat = t.eventOutParts(r.cpu, 0, n, r.ts);
            if (lat >= 0) ctx.pair(lat, -1, r.cpu, n);
          },
        ],
      ],
    };
  },
};
