import { once } from "node:events";
import type { Writable } from "node:stream";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import type { ExpositionFormat } from "../exposition/format.js";

/** Anything that yields the exposition in pieces (the store does). */
export interface ExpositionSource {
  exposition(format: ExpositionFormat): Iterable<string>;
  /**
   * The same bytes as ready Buffers; with `gzip`, each one a complete gzip member (members
   * concatenate into one valid gzip stream). Preferred by the server when present.
   */
  chunks?(format: ExpositionFormat, gzip: boolean): Iterable<Buffer>;
}

/** Bytes gathered before each write: large enough to amortise syscalls, small enough to stream. */
const CHUNK_BYTES = 64 * 1024;
/** Give the event loop (watch events, other scrapes) a turn at least this often. */
const YIELD_EVERY_MS = 10;

/**
 * Stream the exposition into `out` in ~64 KiB chunks, honouring backpressure and yielding to the
 * event loop so a million-series scrape never stalls watch processing.
 */
export async function streamExposition(
  source: ExpositionSource,
  format: ExpositionFormat,
  out: Writable,
  signal?: AbortSignal,
): Promise<number> {
  let buffer = "";
  let bytes = 0;
  let lastYield = performance.now();
  const flush = async (): Promise<void> => {
    if (buffer === "") return;
    bytes += Buffer.byteLength(buffer);
    const ok = out.write(buffer);
    buffer = "";
    if (!ok) await once(out, "drain", signal ? { signal } : {});
  };
  for (const piece of source.exposition(format)) {
    if (signal?.aborted) return bytes;
    buffer += piece;
    if (buffer.length >= CHUNK_BYTES) {
      await flush();
      if (performance.now() - lastYield >= YIELD_EVERY_MS) {
        await yieldToLoop();
        lastYield = performance.now();
      }
    }
  }
  await flush();
  return bytes;
}

/** Bytes a chunked scrape may have queued in the response before it waits for "drain". */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;
/** Buffers smaller than this are gathered (headers, small gzip members) before a write. */
const SMALL_CHUNK = 16 * 1024;

/**
 * Write ready Buffers into `out` as they come, gathering small ones, honouring backpressure and
 * yielding to the event loop at least every YIELD_EVERY_MS. Nothing is copied but small pieces;
 * concurrent scrapes share the same Buffers. Returns the bytes written.
 */
export async function streamChunks(
  chunks: Iterable<Buffer>,
  out: Writable,
  signal?: AbortSignal,
): Promise<number> {
  let bytes = 0;
  let small: Buffer[] = [];
  let smallBytes = 0;
  let lastYield = performance.now();
  const write = async (buf: Buffer): Promise<void> => {
    bytes += buf.length;
    // The stream queues references to the store's Buffers, not copies: let a few MiB queue so
    // the socket is written in large vectored batches instead of one drain round-trip per chunk.
    if (!out.write(buf) && out.writableLength > MAX_QUEUED_BYTES) {
      await once(out, "drain", signal ? { signal } : {});
    }
  };
  const flushSmall = async (): Promise<void> => {
    if (smallBytes === 0) return;
    const joined = small.length === 1 ? small[0]! : Buffer.concat(small, smallBytes);
    small = [];
    smallBytes = 0;
    await write(joined);
  };
  for (const chunk of chunks) {
    if (signal?.aborted) return bytes;
    if (chunk.length < SMALL_CHUNK) {
      small.push(chunk);
      smallBytes += chunk.length;
      if (smallBytes < CHUNK_BYTES) continue;
      await flushSmall();
    } else {
      await flushSmall();
      await write(chunk);
    }
    if (performance.now() - lastYield >= YIELD_EVERY_MS) {
      await yieldToLoop();
      lastYield = performance.now();
    }
  }
  await flushSmall();
  return bytes;
}
