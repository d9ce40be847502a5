import { once } from "node:events";
import type { Writable } from "node:stream";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import type { ExpositionFormat } from "../exposition/format.js";

/** Anything that yields the exposition in pieces (the store does). */
export interface ExpositionSource {
  exposition(format: ExpositionFormat): Iterable<string>;
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
