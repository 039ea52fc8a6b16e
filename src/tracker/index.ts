export type { Key, KeyParts } from './key.ts';
export { joinKey, splitKey } from './key.ts';
export {
  createTracker,
  EventHandle,
  type EventInOptions,
  type EventInResult,
  type LatencyEvent,
  type LatencyReason,
  Tracker,
  TrackerConfigError,
  type TrackerOptions,
  type TrackerStats,
} from './tracker.ts';
