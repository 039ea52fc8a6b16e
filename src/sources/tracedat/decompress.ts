/**
 * Block decompressors for trace.dat v7 (trace-cmd lib/trace-cmd/trace-compress*.c): every compressed metadata
 * section and every CPU-data chunk is one frame whose uncompressed size (`usize`) the file gives beside it.
 *
 * - zstd: Node 20 has none built in. We use `zstddec` (WebAssembly build of the reference libzstd decoder, MIT/BSD):
 *   it decodes frames that carry no content size when given the output capacity, as trace-cmd writes them
 *   (`ZSTD_c_contentSizeFlag = 0`), and measured ~700 MB/s here against ~50 MB/s for the pure-JS `fzstd`
 *   (docs/decoding.md). It does not report decoding errors itself, so the output length is checked against `usize`.
 *   On a Node that has `zlib.zstdDecompressSync` (22.15+), that is used instead.
 * - zlib: RFC 1950 stream (`compress2`), `zlib.inflateSync`.
 */
import * as zlib from 'node:zlib';
import { ZSTDDecoder } from 'zstddec';

export interface Decompressor {
  readonly name: string;
  /**
   * Decompresses one frame that must expand to exactly `usize` bytes; returns undefined when it does not (corrupt
   * data), never throws.
   */
  decompress(src: Uint8Array, usize: number): Uint8Array | undefined;
}

type ZstdSync = (buf: Uint8Array, opts?: { maxOutputLength?: number }) => Buffer;

let zstdReady: Promise<ZSTDDecoder> | undefined;

function zstdWasm(): Promise<ZSTDDecoder> {
  if (zstdReady === undefined) {
    const d = new ZSTDDecoder();
    zstdReady = d.init().then(() => d);
  }
  return zstdReady;
}

const checked = (out: Uint8Array | undefined, usize: number) =>
  out !== undefined && out.length === usize ? out : undefined;

/** The decompressor for a v7 file's compression name, or undefined when unsupported. */
export async function decompressorFor(name: string): Promise<Decompressor | undefined> {
  switch (name) {
    case 'none':
      return { name, decompress: (src, usize) => (src.length === usize ? src : undefined) };
    case 'zlib':
      return {
        name,
        decompress(src, usize) {
          try {
            return checked(zlib.inflateSync(src, { maxOutputLength: Math.max(usize, 1) }), usize);
          } catch {
            return undefined;
          }
        },
      };
    case 'zstd': {
      const native = (zlib as unknown as { zstdDecompressSync?: ZstdSync }).zstdDecompressSync;
      if (typeof native === 'function') {
        return {
          name,
          decompress(src, usize) {
            try {
              return checked(native(src, { maxOutputLength: Math.max(usize, 1) }), usize);
            } catch {
              return undefined;
            }
          },
        };
      }
      const d = await zstdWasm();
      return {
        name,
        decompress(src, usize) {
          if (usize === 0) return undefined;
          try {
            return checked(d.decode(src, usize), usize);
          } catch {
            return undefined;
          }
        },
      };
    }
    default:
      return undefined;
  }
}
