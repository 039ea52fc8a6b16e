/**
 * latency-tracker, the library. The core API (DESIGN §2): `createTracker`, then `eventIn`/`eventOut`,
 * `getEvent`/`putEvent`, `advance`, `setThreshold`/`setTimeout`, `stats`.
 */

export * from './histogram/index.ts';
export * from './tracker/index.ts';
