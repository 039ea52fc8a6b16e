/**
 * Every analysis, in one explicit table (STYLE practice 1): CLI choices, `list`, HTTP filters and per-analysis
 * metrics all come from here. Nothing registers itself by import side effect.
 */
import { block } from './block.ts';
import { irq } from './irq.ts';
import { netRx } from './net-rx.ts';
import { netTx } from './net-tx.ts';
import { offcpu } from './offcpu.ts';
import { softirq, softirqDelay } from './softirq.ts';
import { syscall } from './syscall.ts';
import type { Analysis } from './types.ts';
import { wakeup } from './wakeup.ts';

export const ANALYSES: readonly Analysis[] = [syscall, wakeup, offcpu, block, irq, softirq, softirqDelay, netTx, netRx];

export const ANALYSIS_NAMES: readonly string[] = ANALYSES.map((a) => a.name);

export function findAnalysis(name: string): Analysis | undefined {
  return ANALYSES.find((a) => a.name === name);
}
