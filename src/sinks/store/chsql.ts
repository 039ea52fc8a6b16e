/**
 * SQL text for ClickHouse 18.16, which has no query parameters: literals are escaped here, identifiers are checked.
 * String literals use ClickHouse's backslash escapes (`\\`, `\'`, and `\xHH` for every control character), so no
 * input can end the literal early.
 */

/** A ClickHouse string literal of any JS string. */
export function chString(s: string): string {
  let out = "'";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i];
    if (ch === '\\') out += '\\\\';
    else if (ch === "'") out += "\\'";
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}'`;
}

/** A ClickHouse UInt64 literal of a non-negative bigint. */
export function chUInt64(v: bigint): string {
  if (v < 0n || v > 0xffffffffffffffffn) throw new RangeError(`not a UInt64: ${v}`);
  return v.toString();
}

/** Database names we accept (plain identifiers: nothing to quote, nothing to escape). */
export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export function isIdentifier(s: string): boolean {
  return IDENTIFIER.test(s);
}
