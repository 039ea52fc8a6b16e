/** LTTng CTF 1.8 kernel traces as a `TraceSource` (see docs/ctf.md). */
export { countEvents, type EventCounts, fieldText, formatRecord } from './dump.ts';
export { CtfError, CtfMetadataError, CtfStreamError } from './errors.ts';
export { prevStateScheme } from './mapping.ts';
export { metadataText, parseMetadata } from './metadata.ts';
export { type CtfOpenOptions, CtfSource, openCtfTrace } from './source.ts';
export { ASSIGNED_SYSCALL_BASE, x86_64SyscallId } from './syscalls.ts';
export { parseTsdl } from './tsdl.ts';
export type { CtfTrace, CtfType } from './types.ts';
