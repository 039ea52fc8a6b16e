/**
 * The CTF metadata file: plain TSDL text (`/* CTF 1.8`) or the packetized form (CTF §7.1: packets with a 37-byte
 * header, magic 0x75D11D57, sizes in bits). Pure: takes the file's bytes. The text of all packets is concatenated
 * before parsing (packet boundaries fall inside tokens).
 */
import { CtfMetadataError } from './errors.ts';
import { parseTsdl, type TextLocator } from './tsdl.ts';
import type { CtfTrace } from './types.ts';

const METADATA_MAGIC = 0x75d11d57;
const HEADER_BYTES = 37;

export interface MetadataText {
  text: string;
  packetized: boolean;
  /** Maps a text position back to the byte offset in the metadata file. */
  locate: TextLocator;
}

/** Extracts the TSDL text. Throws `CtfMetadataError` naming the file and offset of a bad metadata packet. */
export function metadataText(bytes: Uint8Array, file: string): MetadataText {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicLe = bytes.length >= 4 ? dv.getUint32(0, true) : 0;
  const magicBe = bytes.length >= 4 ? dv.getUint32(0, false) : 0;
  if (magicLe !== METADATA_MAGIC && magicBe !== METADATA_MAGIC) {
    const head = new TextDecoder('latin1').decode(bytes.subarray(0, 16));
    if (!head.startsWith('/* CTF')) {
      throw new CtfMetadataError(file, 0, 'not CTF metadata (neither the packet magic 0x75D11D57 nor "/* CTF" text)');
    }
    const text = new TextDecoder('utf-8').decode(bytes);
    return { text, packetized: false, locate: (pos) => ({ file, offset: pos }) };
  }
  const le = magicLe === METADATA_MAGIC;
  const parts: Uint8Array[] = [];
  const segStart: number[] = []; // text position where each packet's text starts
  const segFile: number[] = []; // file offset of that text
  let textLen = 0;
  let off = 0;
  while (off < bytes.length) {
    if (bytes.length - off < HEADER_BYTES) {
      throw new CtfMetadataError(file, off, `metadata packet header cut short (${bytes.length - off} bytes left)`);
    }
    const magic = dv.getUint32(off, le);
    if (magic !== METADATA_MAGIC) {
      throw new CtfMetadataError(file, off, `bad metadata packet magic 0x${magic.toString(16)}`);
    }
    const contentBits = dv.getUint32(off + 24, le);
    const packetBits = dv.getUint32(off + 28, le);
    const compression = bytes[off + 32];
    const encryption = bytes[off + 33];
    const checksum = bytes[off + 34];
    if (compression !== 0 || encryption !== 0 || checksum !== 0) {
      throw new CtfMetadataError(file, off, 'compressed, encrypted or checksummed metadata is not supported');
    }
    if (
      packetBits % 8 !== 0 ||
      contentBits % 8 !== 0 ||
      contentBits < HEADER_BYTES * 8 ||
      contentBits > packetBits ||
      packetBits === 0
    ) {
      throw new CtfMetadataError(
        file,
        off,
        `bad metadata packet sizes (content ${contentBits} bits, packet ${packetBits} bits)`,
      );
    }
    const contentEnd = off + contentBits / 8;
    if (contentEnd > bytes.length) {
      throw new CtfMetadataError(file, off, `metadata packet runs past the end of the file (${contentBits / 8} bytes)`);
    }
    segStart.push(textLen);
    segFile.push(off + HEADER_BYTES);
    const part = bytes.subarray(off + HEADER_BYTES, contentEnd);
    parts.push(part);
    textLen += part.length;
    off += packetBits / 8;
  }
  const all = new Uint8Array(textLen);
  let k = 0;
  for (const p of parts) {
    all.set(p, k);
    k += p.length;
  }
  // latin1 keeps one character per byte, so text positions map back to file offsets exactly; TSDL is ASCII
  // (non-ASCII can only appear inside string values, which are re-decoded as UTF-8 where they matter).
  const text = new TextDecoder('latin1').decode(all);
  const locate: TextLocator = (pos) => {
    let lo = 0;
    let hi = segStart.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (segStart[mid] <= pos) lo = mid;
      else hi = mid - 1;
    }
    return { file, offset: segStart.length ? segFile[lo] + (pos - segStart[lo]) : pos };
  };
  return { text, packetized: true, locate };
}

/** Parses a metadata file's bytes (either form) into the trace model. */
export function parseMetadata(bytes: Uint8Array, file: string): CtfTrace {
  const m = metadataText(bytes, file);
  return parseTsdl(m.text, m.locate);
}
