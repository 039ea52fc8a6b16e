/**
 * The outlier store (issue 7): embedded DuckDB on one host, ClickHouse for a fleet. See docs/store.md.
 */

export type { HistoryQuery, OutlierHistory } from '../history.ts';
export { type ClickHouseOptions, ClickHouseShipper, describeClickHouseError, type ShipperStats } from './clickhouse.ts';
export { DuckStore, type DuckStoreOptions, type RetentionResult, StoreError } from './duck.ts';
export { type OutlierRow, type ProfileRow, subjectOf, toRecord, toRow } from './schema.ts';
export { ProfileSnapshotter, type ProfileSource } from './snapshots.ts';
export {
  DEFAULT_STORE_DIR,
  DEFAULT_STORE_PATH,
  OutlierStore,
  type StoreOptions,
  type StoreStats,
} from './store.ts';
