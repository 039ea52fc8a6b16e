/**
 * Latency profiles (DESIGN §7): the log-linear histogram, its exports (JSON, HdrHistogram, Prometheus), per-group
 * histograms with a cardinality limit, 1m/5m/1h windows, profiles and their comparison. Pure: no I/O, no clock.
 */
export {
  type CompareOptions,
  type CompareRow,
  compareHistograms,
  compareProfiles,
  type HistogramComparison,
  type PercentileComparison,
  type ValueChange,
  type Verdict,
} from './compare.ts';
export {
  type GroupKey,
  HistogramGroups,
  type HistogramGroupsOptions,
  type HistogramGroupsStats,
  OVERFLOW_GROUP,
} from './groups.ts';
export { fromHdrBase64, toHdrBase64 } from './hdr.ts';
export { HISTOGRAM_LAYOUT, Histogram, HistogramError, HistogramFormatError } from './histogram.ts';
export {
  HISTOGRAM_JSON_VERSION,
  type HistogramJSON,
  histogramFromJSON,
  histogramToJSON,
  type SummaryFields,
  summaryFields,
} from './json.ts';
export {
  BUCKETS,
  bucketHigh,
  bucketIndex,
  bucketLow,
  bucketValue,
  HIGHEST_NS,
  nearestRank,
  OVER_NS,
  RELATIVE_ERROR,
} from './layout.ts';
export {
  type AnalysisProfile,
  createProfile,
  PROFILE_FORMAT,
  PROFILE_VERSION,
  type Profile,
  ProfileFormatError,
  type ProfileJSON,
  type ProfileMeta,
  profileFromJSON,
  profileToJSON,
  profileToObject,
} from './profile.ts';
export {
  formatLe,
  formatPrometheusHistogram,
  nsToSecondsString,
  PROMETHEUS_LE_SECONDS,
  type PrometheusHistogram,
  prometheusBuckets,
} from './prometheus.ts';
export { compareRowToJSON, formatNs, formatRelative, renderCompareTable, rowTitle } from './render.ts';
export { type KsResult, ksTest, normalCdf, normalQuantile, quantileRankInterval } from './stats.ts';
export {
  LatencyWindows,
  WINDOW_NAMES,
  WINDOWS,
  type WindowName,
  type WindowSpec,
  type WindowsStats,
} from './windows.ts';
