/**
 * latency-tracker, the library. The core API (DESIGN §2): `createTracker`, then `eventIn`/`eventOut`,
 * `getEvent`/`putEvent`, `advance`, `setThreshold`/`setTimeout`, `stats`. Latency profiles (DESIGN §7):
 * `Histogram`, `HistogramGroups`, `LatencyWindows`, profiles and `compareProfiles` (docs/profiles.md).
 */

export * from './histogram/index.ts';
export * from './tracker/index.ts';
