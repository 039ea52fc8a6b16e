/**
 * The LTTng block `rwbs` bit mask as the ftrace rwbs letters (kernel blk_fill_rwbs: [F]lush-before, then one of
 * W/D(E)/R/F/N, then F(ua) A(head) S(ync) M(eta)). Bit layouts from lttng-modules instrumentation/events/block.h:
 * up to 2.1, W=1 D=2 R=4 A=8 S=16 M=32 E=64; from 2.2 on, W=1 D=2 R=4 A=8 B=16 S=32 M=64 E=128 FLUSH=256 FUA=512
 * PREFLUSH=1024 (B = barrier, printed "B" by LTTng; ftrace has no barrier letter any more).
 */

const LETTERS = new Uint8Array(9);

/** Writes the letters for `v` at out[dst..dst+size), NUL-padded (at most size-1 letters). */
export function rwbsString(v: number, old: boolean, out: Uint8Array, dst: number, size: number): void {
  const A = 8;
  const B = old ? 0 : 16;
  const S = old ? 16 : 32;
  const M = old ? 32 : 64;
  const E = old ? 64 : 128;
  const FLUSH = old ? 0 : 256;
  const FUA = old ? 0 : 512;
  const PREFLUSH = old ? 0 : 1024;
  let n = 0;
  const data = v & 7;
  if (v & PREFLUSH || (v & FLUSH && data !== 0)) LETTERS[n++] = 70; // F
  if (v & 1)
    LETTERS[n++] = 87; // W
  else if (v & 2) {
    LETTERS[n++] = 68; // D
    if (v & E) LETTERS[n++] = 69; // E: secure erase
  } else if (v & 4)
    LETTERS[n++] = 82; // R
  else if (v & FLUSH)
    LETTERS[n++] = 70; // F: a flush request alone
  else LETTERS[n++] = 78; // N
  if (v & FUA) LETTERS[n++] = 70;
  if (v & A) LETTERS[n++] = 65;
  if (v & B) LETTERS[n++] = 66;
  if (v & S) LETTERS[n++] = 83;
  if (v & M) LETTERS[n++] = 77;
  if (v & E && !(v & 2) && n < LETTERS.length) LETTERS[n++] = 69;
  const c = Math.min(n, size - 1);
  for (let k = 0; k < c; k++) out[dst + k] = LETTERS[k];
  for (let k = c; k < size; k++) out[dst + k] = 0;
}
