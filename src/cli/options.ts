/**
 * Validation of the common options (DESIGN §6) into one `RunOptions`. Every bad value becomes a `UsageError`: one
 * line naming the bad value, exit code 2.
 */
import { cgroupPathProblem } from '../analyses/container.ts';
import { ANALYSES, ANALYSIS_NAMES, findAnalysis } from '../analyses/index.ts';
import { MAX_GROUP_LIMIT } from '../analyses/profiles.ts';
import type { Analysis } from '../analyses/types.ts';
import { validComm } from '../sources/tracefs/filters.ts';
import { parseDuration } from './duration.ts';

export class UsageError extends Error {
  override name = 'UsageError';
  readonly exitCode = 2;
}

/** Raw option values as commander collects them. */
export interface RawOptions {
  threshold?: string[];
  timeout?: string[];
  pid?: string[];
  comm?: string;
  stacks?: boolean;
  duration?: string;
  json?: boolean;
  summary?: boolean;
  groupBy?: string;
  groupLimit?: string;
  cgroup?: string;
  tracefs?: string;
  procfs?: string;
  cgroupfs?: string;
}

export interface RunOptions {
  analyses: Analysis[];
  /** Threshold (ns) per analysis name. */
  thresholds: Map<string, number>;
  /** Timeout (ns) per analysis name. */
  timeouts: Map<string, number>;
  pids: number[];
  comm: string | undefined;
  stacks: boolean;
  /** Duration (ns) of a live run; undefined = until Ctrl-C. */
  duration: number | undefined;
  json: boolean;
  summary: boolean;
  groupBy: string | undefined;
  groupLimit: number | undefined;
  /** `--cgroup PATH`: only threads in this cgroup or below it (live). */
  cgroup: string | undefined;
}

/** Per-analysis threshold and timeout as given on the command line (the engine's `settings`). */
export function engineSettings(o: RunOptions): Record<string, { threshold?: number; timeout?: number }> {
  const settings: Record<string, { threshold?: number; timeout?: number }> = {};
  for (const a of o.analyses)
    settings[a.name] = { threshold: o.thresholds.get(a.name), timeout: o.timeouts.get(a.name) };
  return settings;
}

/** Common group-by fields; analyses add their own (`syscall`, `irq`, `vec`, `dev`). */
export const COMMON_GROUP_FIELDS = ['comm', 'tid', 'cpu', 'cgroup', 'container', 'unit'];

export function groupFields(): string[] {
  const own = ANALYSES.flatMap((a) => (a.groupField ? [a.groupField.name] : []));
  return [...new Set([...COMMON_GROUP_FIELDS, ...own])];
}

/** Collects a repeatable option. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** `ANALYSIS=DURATION` or bare `DURATION` (all analyses) specs into a map over `names`. */
function durationSpecs(what: string, specs: string[] | undefined, names: string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const spec of specs ?? []) {
    const eq = spec.indexOf('=');
    const name = eq < 0 ? undefined : spec.slice(0, eq).trim();
    const text = eq < 0 ? spec : spec.slice(eq + 1);
    const ns = parseDuration(text);
    if (typeof ns === 'string') throw new UsageError(`--${what}: ${ns}`);
    if (name === undefined) {
      for (const n of names) out.set(n, ns);
    } else {
      if (findAnalysis(name) === undefined) {
        throw new UsageError(`--${what}: unknown analysis '${name}' (one of ${ANALYSIS_NAMES.join(', ')})`);
      }
      out.set(name, ns);
    }
  }
  return out;
}

/** Validates the positional analysis names and the common options. */
export function parseRunOptions(names: string[], raw: RawOptions): RunOptions {
  const analyses: Analysis[] = [];
  for (const n of names) {
    const a = findAnalysis(n);
    if (a === undefined) throw new UsageError(`unknown analysis '${n}' (one of ${ANALYSIS_NAMES.join(', ')})`);
    if (!analyses.includes(a)) analyses.push(a);
  }
  const chosen = analyses.length > 0 ? analyses : [...ANALYSES];
  const chosenNames = chosen.map((a) => a.name);
  const thresholds = durationSpecs('threshold', raw.threshold, chosenNames);
  const timeouts = durationSpecs('timeout', raw.timeout, chosenNames);
  const pids: number[] = [];
  for (const p of (raw.pid ?? []).flatMap((s) => s.split(','))) {
    const t = p.trim();
    if (!/^\d+$/.test(t) || Number(t) <= 0 || Number(t) > 4194304) {
      throw new UsageError(`--pid: '${p}' is not a process id (1..4194304)`);
    }
    pids.push(Number(t));
  }
  if (raw.comm !== undefined && !validComm(raw.comm)) {
    throw new UsageError(`--comm: '${raw.comm}' is not a process name (1-15 printable characters, no quotes)`);
  }
  let duration: number | undefined;
  if (raw.duration !== undefined) {
    const d = parseDuration(raw.duration);
    if (typeof d === 'string') throw new UsageError(`--duration: ${d}`);
    if (d <= 0) throw new UsageError(`--duration: must be more than 0, got '${raw.duration}'`);
    duration = d;
  }
  if (raw.groupBy !== undefined && !groupFields().includes(raw.groupBy)) {
    throw new UsageError(`--group-by: unknown field '${raw.groupBy}' (one of ${groupFields().join(', ')})`);
  }
  let groupLimit: number | undefined;
  if (raw.groupLimit !== undefined) {
    const g = raw.groupLimit;
    if (!/^\d+$/.test(g) || Number(g) < 1 || Number(g) > MAX_GROUP_LIMIT) {
      throw new UsageError(`--group-limit: '${g}' is not a number from 1 to ${MAX_GROUP_LIMIT}`);
    }
    groupLimit = Number(g);
  }
  if (raw.cgroup !== undefined) {
    const bad = cgroupPathProblem(raw.cgroup);
    if (bad !== undefined) throw new UsageError(`--cgroup: '${raw.cgroup.slice(0, 80)}': ${bad}`);
  }
  return {
    analyses: chosen,
    thresholds,
    timeouts,
    pids,
    comm: raw.comm,
    stacks: raw.stacks === true,
    duration,
    json: raw.json === true,
    summary: raw.summary === true,
    groupBy: raw.groupBy,
    groupLimit,
    cgroup: raw.cgroup === undefined ? undefined : raw.cgroup.replace(/\/+$/, '') || '/',
  };
}
