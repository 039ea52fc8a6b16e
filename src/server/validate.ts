/**
 * Validation of `PUT /api/analyses/{name}` bodies: an object with at least one of `threshold_ns`, `timeout_ns`
 * (integers, 0 .. 1 h in ns) and `enabled` (boolean), nothing else. Every failure is a 400 naming the field.
 */
import { type AnalysisChange, MAX_SETTING_NS } from './daemon.ts';
import { ApiError } from './errors.ts';

const FIELDS = ['threshold_ns', 'timeout_ns', 'enabled'];

function shown(v: unknown): string {
  // JSON numbers beyond a double (1e400) parse as Infinity, which JSON.stringify would show as null.
  if (typeof v === 'number' && !Number.isFinite(v)) return 'a number too large to represent';
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

function duration(key: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new ApiError(400, `${key}: expected an integer number of nanoseconds, got ${shown(v)}`);
  }
  if (v < 0 || v > MAX_SETTING_NS) {
    throw new ApiError(400, `${key}: ${shown(v)} is out of range (0 .. ${MAX_SETTING_NS}, i.e. up to 1 h)`);
  }
  return v;
}

export function validateChange(body: unknown): AnalysisChange {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ApiError(400, `expected a JSON object like {"threshold_ns": 5000000}, got ${shown(body)}`);
  }
  const o = body as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!FIELDS.includes(k))
      throw new ApiError(400, `unknown field '${k.slice(0, 40)}' (allowed: ${FIELDS.join(', ')})`);
  }
  const out: AnalysisChange = {};
  if (o.threshold_ns !== undefined) out.threshold_ns = duration('threshold_ns', o.threshold_ns);
  if (o.timeout_ns !== undefined) out.timeout_ns = duration('timeout_ns', o.timeout_ns);
  if (o.enabled !== undefined) {
    if (typeof o.enabled !== 'boolean')
      throw new ApiError(400, `enabled: expected true or false, got ${shown(o.enabled)}`);
    out.enabled = o.enabled;
  }
  if (Object.keys(out).length === 0) {
    throw new ApiError(400, `nothing to change: give threshold_ns, timeout_ns or enabled`);
  }
  return out;
}
