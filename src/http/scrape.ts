import { once } from "node:events";
import type { Writable } from "node:stream";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import type { ExpositionFormat } from "../exposition/format.js";
import { inflatePiece, type Compressed } from "../store/gzip.js";

/** Anything that yields the exposition in pieces (the store does). */
export interface ExpositionSource {
  exposition(format: ExpositionFormat): Iterable<string>;
  /**
   * The same bytes as ready Buffers; with `gzip`, each one a complete gzip member (members
   * concatenate into one valid gzip stream). Preferred by the server when present.
   */
  chunks?(format: ExpositionFormat, gzip: boolean): Iterable<Buffer>;
  /**
   * The uncompressed exposition as ready Buffers and compressed pieces that stand for their
   * bytes (cold store blocks), inflated while streaming. Preferred for uncompressed responses.
   */
  textPieces?(format: ExpositionFormat): Iterable<Buffer | Compressed>;
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
/**
 * The same once it writes inflated bytes: those are the scrape's own memory, not references to
 * the store's Buffers, so concurrent scrapes would each add this much.
 */
const MAX_QUEUED_INFLATED_BYTES = 2 * 1024 * 1024;
/** Consecutive compressed pieces are inflated together up to about this many bytes... */
const INFLATE_GROUP_BYTES = 256 * 1024;
/** ...with this many groups inflating on the thread pool ahead of the writes. */
const INFLATE_AHEAD = 3;
/** Buffers smaller than this are gathered (headers, small gzip members) before a write. */
const SMALL_CHUNK = 16 * 1024;

/**
 * Write ready Buffers into `out` as they come, gathering small ones, honouring backpressure and
 * yielding to the event loop at least every YIELD_EVERY_MS. Nothing is copied but small pieces;
 * concurrent scrapes share the same Buffers. Compressed pieces are inflated on the thread pool,
 * a few groups ahead of the writes, and written in their place. Returns the bytes written.
 */
export async function streamChunks(
  chunks: Iterable<Buffer | Compressed>,
  out: Writable,
  signal?: AbortSignal,
): Promise<number> {
  let bytes = 0;
  let small: Buffer[] = [];
  let smallBytes = 0;
  let lastYield = performance.now();
  let maxQueued = MAX_QUEUED_BYTES;
  const write = async (buf: Buffer): Promise<void> => {
    bytes += buf.length;
    // The stream queues references to the store's Buffers, not copies: let a few MiB queue so
    // the socket is written in large vectored batches instead of one drain round-trip per chunk.
    if (!out.write(buf) && out.writableLength > maxQueued) {
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

  // Read ahead of the writes: Buffers as they are, compressed pieces gathered into groups whose
  // inflation starts at once (at most INFLATE_AHEAD in flight), all kept in order.
  const source = chunks[Symbol.iterator]();
  const ahead: (Buffer | Promise<Buffer>)[] = [];
  let inflating = 0;
  let group: Compressed[] = [];
  let groupBytes = 0;
  let exhausted = false;
  const closeGroup = (): void => {
    if (group.length === 0) return;
    const deflated =
      group.length === 1
        ? group[0]!.deflated
        : Buffer.concat(
            group.map((g) =>
              typeof g.deflated === "string" ? Buffer.from(g.deflated, "latin1") : g.deflated,
            ),
          );
    const pending = inflatePiece({ deflated, size: groupBytes });
    pending.catch(() => undefined); // observed when its turn comes; never unhandled meanwhile
    ahead.push(pending);
    inflating++;
    maxQueued = MAX_QUEUED_INFLATED_BYTES;
    group = [];
    groupBytes = 0;
  };
  const readAhead = (): void => {
    while (!exhausted && inflating < INFLATE_AHEAD && ahead.length < 256) {
      const next = source.next();
      if (next.done === true) {
        exhausted = true;
        break;
      }
      const chunk = next.value;
      if (Buffer.isBuffer(chunk)) {
        closeGroup();
        ahead.push(chunk);
        // Nothing to wait for: write what is ready rather than read further.
        if (inflating === 0) break;
      } else {
        group.push(chunk);
        groupBytes += chunk.size;
        if (groupBytes >= INFLATE_GROUP_BYTES) closeGroup();
      }
    }
    if (ahead.length === 0 || exhausted) closeGroup();
  };

  try {
    for (;;) {
      if (signal?.aborted) return bytes;
      readAhead();
      const head = ahead.shift();
      if (head === undefined) break;
      let chunk: Buffer;
      if (Buffer.isBuffer(head)) chunk = head;
      else {
        chunk = await head;
        inflating--;
        if (signal?.aborted) return bytes;
      }
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
  } finally {
    // An abandoned walk must still end (the store counts walks in progress).
    source.return?.();
  }
}
