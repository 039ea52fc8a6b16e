/**
 * The latency profiles the engine keeps per analysis (DESIGN §7): every matched pair goes into the analysis's
 * whole-run histogram, its 1m/5m/1h windows (rotated by source time: trace time offline, the kernel clock live),
 * and with `--group-by` a bounded per-group histogram (overflow group counted).
 */
import { HistogramGroups } from '../histogram/groups.ts';
import { Histogram } from '../histogram/histogram.ts';
import { createProfile, type Profile, type ProfileMeta } from '../histogram/profile.ts';
import { Timeline } from '../histogram/timeline.ts';
import { LatencyWindows, type WindowName } from '../histogram/windows.ts';

/** Distinct group values kept per analysis before the overflow group takes the rest (default). */
export const GROUP_LIMIT = 256;
/** Largest accepted group limit (each group is a 36 KiB histogram). */
export const MAX_GROUP_LIMIT = 65536;

interface Slot {
  name: string;
  total: Histogram;
  windows: LatencyWindows;
  groups: HistogramGroups<string> | undefined;
  /** Per-cgroup histograms for /metrics (`--metrics-by cgroup`), capped. */
  byCgroup: HistogramGroups<string> | undefined;
  /** Latency over time (the report's heatmap), when asked for. */
  timeline: Timeline | undefined;
}

export class Profiles {
  private readonly slots: Slot[] = [];
  private readonly byName = new Map<string, Slot>();

  /**
   * @param groupBy the `--group-by` field, or undefined for no groups
   * @param groupLimit distinct group values per analysis before the counted overflow group
   * @param cgroupLimit with `--metrics-by cgroup`: cgroups per analysis with their own histogram (the rest overflow)
   */
  constructor(
    readonly groupBy?: string,
    readonly groupLimit = GROUP_LIMIT,
    readonly cgroupLimit?: number,
    /** `timeline`: also keep latency over time per analysis (`--report`, the daemon's report). */
    private readonly extra: { timeline?: boolean } = {},
  ) {}

  /** Registers an analysis; returns the index to pass to `record`. */
  add(name: string): number {
    const s: Slot = {
      name,
      total: new Histogram(),
      windows: new LatencyWindows(),
      groups: this.groupBy === undefined ? undefined : new HistogramGroups<string>({ limit: this.groupLimit }),
      byCgroup: this.cgroupLimit === undefined ? undefined : new HistogramGroups<string>({ limit: this.cgroupLimit }),
      timeline: this.extra.timeline === true ? new Timeline() : undefined,
    };
    this.slots.push(s);
    this.byName.set(name, s);
    return this.slots.length - 1;
  }

  /** One matched pair of analysis `i`, ended at source time `ts`. */
  record(i: number, ns: number, group: string | undefined, ts: number): void {
    const s = this.slots[i];
    s.total.record(ns);
    s.windows.record(ns, ts);
    if (s.timeline !== undefined) s.timeline.record(ns, ts);
    if (group !== undefined && s.groups !== undefined) s.groups.record(group, ns);
  }

  /** One matched pair of analysis `i` in cgroup `label` (for /metrics; no-op without a cgroup limit). */
  recordCgroup(i: number, label: string, ns: number): void {
    this.slots[i].byCgroup?.record(label, ns);
  }

  /** Per-cgroup histograms of an analysis (`--metrics-by cgroup`), or undefined. */
  cgroupGroups(name: string): HistogramGroups<string> | undefined {
    return this.slot(name).byCgroup;
  }

  /** Rotates every analysis's windows to source time `ts`. */
  advance(ts: number): void {
    for (let i = 0; i < this.slots.length; i++) this.slots[i].windows.advance(ts);
  }

  total(name: string): Histogram {
    return this.slot(name).total;
  }

  /** Latency over time of an analysis, when the profiles keep it. */
  timeline(name: string): Timeline | undefined {
    return this.slot(name).timeline;
  }

  groups(name: string): HistogramGroups<string> | undefined {
    return this.slot(name).groups;
  }

  window(name: string, w: WindowName): Histogram {
    return this.slot(name).windows.window(w);
  }

  windows(name: string): LatencyWindows {
    return this.slot(name).windows;
  }

  get names(): string[] {
    return this.slots.map((s) => s.name);
  }

  /** A `Profile` (for `--profile-out` and `compare`) of the whole run, or of one window. */
  toProfile(meta: Partial<ProfileMeta>, window?: WindowName): Profile {
    const p = createProfile({ ...meta, window: window ?? meta.window });
    for (const s of this.slots) {
      p.analyses.set(s.name, {
        histogram: window === undefined ? s.total : s.windows.window(window),
        groupBy: window === undefined && s.groups !== undefined ? (this.groupBy ?? null) : null,
        groups: window === undefined ? (s.groups ?? null) : null,
      });
    }
    return p;
  }

  private slot(name: string): Slot {
    const s = this.byName.get(name);
    if (s === undefined) throw new Error(`no profile for analysis ${name}`);
    return s;
  }
}
