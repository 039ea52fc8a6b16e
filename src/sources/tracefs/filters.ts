/**
 * Kernel-side event filters for `--pid` and `--comm` (DESIGN §4), built only from validated values: thread ids are
 * integers, a comm is printable ASCII without quotes or backslashes. The instance checks the result once more.
 */

/** Longest list of tids turned into a kernel filter; beyond it only the user-space filter applies. */
export const MAX_FILTER_TIDS = 64;

/** A comm the kernel could report (at most 15 bytes of printable ASCII) and safe to quote in a filter. */
export function validComm(comm: string): boolean {
  return /^[\x20-\x7e]{1,15}$/.test(comm) && !/["'\\]/.test(comm);
}

/** The comm field that goes with a tid field: `common_pid` -> `COMM` (current task), `prev_pid` -> `prev_comm`... */
export function commFieldFor(tidField: string): string {
  if (tidField === 'common_pid') return 'COMM';
  return tidField.replace(/pid$/, 'comm');
}

/** `(f == t1 || f == t2 || g == t1 ...)` for tid fields `fields`; undefined when there is nothing to filter. */
export function tidFilter(fields: readonly string[], tids: readonly number[]): string | undefined {
  if (fields.length === 0 || tids.length === 0 || tids.length > MAX_FILTER_TIDS) return undefined;
  const terms: string[] = [];
  for (const f of fields) {
    if (!/^[a-z_]+$/.test(f)) throw new Error(`bad filter field ${f}`);
    for (const t of tids) {
      if (!Number.isInteger(t) || t <= 0 || t > 1 << 22) throw new Error(`bad tid ${t}`);
      terms.push(`${f} == ${t}`);
    }
  }
  return terms.join(' || ');
}

/** `(F == "comm" || ...)` over the comm fields matching `tidFields`. */
export function commFilter(tidFields: readonly string[], comm: string): string | undefined {
  if (tidFields.length === 0) return undefined;
  if (!validComm(comm)) throw new Error(`bad comm ${JSON.stringify(comm)}`);
  return tidFields.map((f) => `${commFieldFor(f)} == "${comm}"`).join(' || ');
}
