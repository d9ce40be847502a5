import { constants, crc32, deflateRawSync, inflateRaw, inflateRawSync } from "node:zlib";

/**
 * One gzip stream (RFC 1952) assembled from independently compressed pieces, so a scrape can
 * reuse the compressed form of everything that did not change. Each piece is raw deflate ended
 * by a full flush (byte-aligned, no final bit, no dictionary carried over), so pieces
 * concatenate into one deflate stream; a final empty block and the trailer close it. The
 * trailer's CRC-32 of the whole is combined from the pieces' CRCs without reading their bytes:
 * crc(A‖B) = crc(A)·x^(8·|B|) + crc(B) over GF(2) modulo the CRC polynomial.
 *
 * A single member matters: curl and some other clients stop after the first member of a
 * multi-member stream.
 */

const POLY = 0xedb88320; // CRC-32 polynomial, bit-reflected
const X0 = 0x80000000; // the polynomial "1" in reflected form

/** a(x)·b(x) modulo the CRC polynomial, both reflected. */
function multModP(a: number, b: number): number {
  let m = X0;
  let p = 0;
  for (;;) {
    if ((a & m) !== 0) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = (b & 1) !== 0 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

/** x^(2^k) modulo the polynomial, k = 0..31 (the cycle length divides 2^32 - 1 steps). */
const X2N: number[] = [];
{
  let p = X0 >>> 1; // x^1
  for (let k = 0; k < 32; k++) {
    X2N.push(p);
    p = multModP(p, p);
  }
}

/** x^(8·bytes) modulo the polynomial: the factor that shifts a CRC past `bytes` bytes. */
export function crcShift(bytes: number): number {
  let p = X0;
  let n = bytes;
  let k = 3; // 8 = 2^3 bits per byte
  while (n > 0) {
    if (n % 2 === 1) p = multModP(X2N[k & 31]!, p);
    n = Math.floor(n / 2);
    k++;
  }
  return p;
}

/** CRC-32 of A‖B from crc(A), crc(B) and crcShift(|B|). */
export function crcCombine(crcA: number, crcB: number, shiftB: number): number {
  return (multModP(shiftB, crcA) ^ crcB) >>> 0;
}

/**
 * A compressed piece: raw deflate ending in a full flush, and what the trailer needs. The bytes
 * are kept as a latin1 string (one byte per character) so they live in the V8 heap, which
 * compacts: a long-lived Buffer of a few KiB, allocated between the short-lived ones of a list
 * or a scrape, would pin freed malloc memory around it in the process's resident set.
 */
export interface GzipPiece {
  readonly deflated: string;
  readonly crc: number;
  readonly shift: number;
  readonly size: number;
}

export function gzipPiece(data: Buffer, level: number): GzipPiece {
  return {
    deflated: deflateRawSync(data, { level, finishFlush: constants.Z_FULL_FLUSH }).toString("latin1"),
    crc: crc32(data),
    shift: crcShift(data.length),
    size: data.length,
  };
}

/** Magic, deflate, no flags, no mtime, no extra flags, OS unknown. */
export const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff]);
/** An empty final fixed-Huffman block: ends the deflate stream. */
const FINAL_BLOCK = Buffer.from([0x03, 0x00]);

/** Running CRC and size of the pieces written so far; `end()` gives the closing bytes. */
export class GzipTrailer {
  private crc = 0;
  private size = 0;

  add(piece: GzipPiece): void {
    this.crc = crcCombine(this.crc, piece.crc, piece.shift);
    this.size = (this.size + piece.size) % 0x100000000;
  }

  end(): Buffer {
    const out = Buffer.alloc(FINAL_BLOCK.length + 8);
    FINAL_BLOCK.copy(out, 0);
    out.writeUInt32LE(this.crc, FINAL_BLOCK.length);
    out.writeUInt32LE(this.size, FINAL_BLOCK.length + 4);
    return out;
  }
}

/** A piece's compressed bytes as a Buffer, for writing. */
export function pieceBytes(piece: GzipPiece): Buffer {
  return Buffer.from(piece.deflated, "latin1");
}

/** Compressed bytes (raw deflate ending in a flush) that stand for `size` uncompressed bytes. */
export interface Compressed {
  readonly deflated: string | Buffer;
  readonly size: number;
}

/** The uncompressed bytes of a piece (or of consecutive pieces' `deflated` joined). */
export function inflatePieceSync(piece: Compressed): Buffer {
  const input = typeof piece.deflated === "string" ? Buffer.from(piece.deflated, "latin1") : piece.deflated;
  const out = inflateRawSync(input, {
    finishFlush: constants.Z_SYNC_FLUSH,
    chunkSize: Math.max(64, piece.size),
  });
  if (out.length !== piece.size)
    throw new Error(`store: piece inflated to ${out.length} B, not ${piece.size}`);
  return out;
}

/** inflatePieceSync on the thread pool: the event loop stays free while a scrape inflates. */
export function inflatePiece(piece: Compressed): Promise<Buffer> {
  const input = typeof piece.deflated === "string" ? Buffer.from(piece.deflated, "latin1") : piece.deflated;
  return new Promise((resolve, reject) => {
    inflateRaw(
      input,
      { finishFlush: constants.Z_SYNC_FLUSH, chunkSize: Math.max(64, piece.size) },
      (err, out) => {
        if (err) reject(err);
        else if (out.length !== piece.size)
          reject(new Error(`store: piece inflated to ${out.length} B, not ${piece.size}`));
        else resolve(out);
      },
    );
  });
}
