/**
 * One histogram per group value (syscall name, comm, tid, irq, dev...) with a cardinality limit: the first `limit`
 * distinct values get their own histogram; every later value shares the overflow histogram (reported as
 * `OVERFLOW_GROUP`). Nothing is lost silently: the overflow histogram counts the records that went there, and the
 * distinct values that overflowed are counted exactly up to `overflowTrackLimit`, then as a lower bound.
 *
 * Memory is bounded: at most `limit + 1` histograms (36 KiB each) and a set of at most `overflowTrackLimit` keys.
 * Keys are compared as `Map` keys: the number 5 and the string "5" are different groups (serialized forms turn keys
 * into strings; use one type per grouping).
 */
import { Histogram, HistogramError } from './histogram.ts';

/** The name under which the overflow histogram is reported. */
export const OVERFLOW_GROUP = '__overflow__';

export interface HistogramGroupsOptions {
  /** Max distinct group values with their own histogram (1..65536). */
  limit: number;
  /** Max overflowed keys remembered to count distinct overflowed values exactly (0..1 M, default 4096). */
  overflowTrackLimit?: number;
}

export interface HistogramGroupsStats {
  /** Groups with their own histogram. */
  groups: number;
  limit: number;
  /** Distinct values that overflowed (exact when `overflowDistinctExact`, else a lower bound). */
  overflowDistinct: number;
  overflowDistinctExact: boolean;
  /** Records that went to the overflow histogram (its count plus its dropped values). */
  overflowRecords: number;
}

export type GroupKey = string | number;

export class HistogramGroups<K extends GroupKey = GroupKey> {
  readonly limit: number;
  readonly overflowTrackLimit: number;
  /** The histogram shared by every value beyond the limit. Owned by this object. */
  readonly overflow = new Histogram();
  private readonly map = new Map<K, Histogram>();
  private readonly overflowKeys = new Set<K>();
  private nOverflowDistinct = 0;
  private overflowExact = true;
  /** False when `overflowKeys` does not hold every overflowed key (after a merge or restore). */
  private keysComplete = true;

  constructor(o: HistogramGroupsOptions) {
    if (o === null || typeof o !== 'object') throw new HistogramError('group options must be an object');
    const { limit } = o;
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 65536) {
      throw new HistogramError(`group limit must be an integer in 1..65536, got ${String(limit)}`);
    }
    const track = o.overflowTrackLimit ?? 4096;
    if (typeof track !== 'number' || !Number.isInteger(track) || track < 0 || track > 1 << 20) {
      throw new HistogramError(`overflowTrackLimit must be an integer in 0..${1 << 20}, got ${String(track)}`);
    }
    this.limit = limit;
    this.overflowTrackLimit = track;
  }

  /**
   * The histogram for `key`: its own (created on first use while under the limit) or the overflow histogram. The
   * returned histogram stays owned by this object; record into it, do not keep it past `reset`.
   */
  histogram(key: K): Histogram {
    const h = this.map.get(key);
    if (h !== undefined) return h;
    if (this.map.size < this.limit) {
      const nh = new Histogram();
      this.map.set(key, nh);
      return nh;
    }
    this.noteOverflow(key);
    return this.overflow;
  }

  /** Records one value for `key` (see `Histogram.record`). */
  record(key: K, ns: number): void {
    this.histogram(key).record(ns);
  }

  private noteOverflow(key: K): void {
    if (!this.overflowExact || this.overflowKeys.has(key)) return;
    if (!this.keysComplete) {
      this.overflowExact = false;
      return;
    }
    if (this.overflowKeys.size < this.overflowTrackLimit) {
      this.overflowKeys.add(key);
      this.nOverflowDistinct++;
    } else {
      // A key not remembered may or may not have been seen before: count this one, stop counting after.
      this.nOverflowDistinct++;
      this.overflowExact = false;
      this.overflowKeys.clear();
    }
  }

  /** The histogram of an existing group, without creating one; undefined when the key has no group. */
  get(key: K): Histogram | undefined {
    return this.map.get(key);
  }

  /** Groups in first-seen order (the overflow group is not included: see `overflow`). */
  entries(): IterableIterator<[K, Histogram]> {
    return this.map.entries();
  }

  get size(): number {
    return this.map.size;
  }

  get stats(): HistogramGroupsStats {
    return {
      groups: this.map.size,
      limit: this.limit,
      overflowDistinct: this.nOverflowDistinct,
      overflowDistinctExact: this.overflowExact,
      overflowRecords: this.overflow.count + this.overflow.dropped,
    };
  }

  /**
   * Merges every group of `other` into this one (by key, within this object's limit) and its overflow. Distinct
   * overflowed values of two sources may overlap, so after merging one that has some, `overflowDistinct` is a lower
   * bound (the larger of the two, plus keys that overflowed here during the merge).
   */
  merge(other: HistogramGroups<K>): this {
    for (const [k, h] of other.entries()) this.histogram(k).merge(h);
    this.overflow.merge(other.overflow);
    if (other.nOverflowDistinct > 0) {
      this.nOverflowDistinct = Math.max(this.nOverflowDistinct, other.nOverflowDistinct);
      this.overflowExact = false;
      this.keysComplete = false;
      this.overflowKeys.clear();
    }
    return this;
  }

  /**
   * @internal Sets the overflow counters read from a serialized form (on a fresh object). The overflowed keys are
   * not serialized, so any later overflow makes the count a lower bound.
   */
  restoreOverflow(distinct: number, exact: boolean): void {
    this.nOverflowDistinct = distinct;
    this.overflowExact = exact;
    this.keysComplete = distinct === 0;
  }

  /** Forgets every group and the overflow (keeps the limit). */
  reset(): void {
    this.map.clear();
    this.overflow.reset();
    this.overflowKeys.clear();
    this.nOverflowDistinct = 0;
    this.overflowExact = true;
    this.keysComplete = true;
  }
}
