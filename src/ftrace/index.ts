/**
 * Pure decoding of kernel trace data (DESIGN §3): format files, field readers, the ring-buffer page walker, the
 * per-CPU merger, kernel stacks, kallsyms, and a `trace-cmd report`-style line formatter. No I/O.
 */
export * from './fields.ts';
export * from './format.ts';
export * from './kallsyms.ts';
export * from './merge.ts';
export * from './page.ts';
export * from './printfmt.ts';
export * from './report.ts';
export * from './schema.ts';
export * from './stack.ts';
export type * from './types.ts';
