import { Agent, get } from "node:http";

/** One scrape as a client sees it: headers sent → last body byte received. */
export interface ScrapeSample {
  ms: number;
  bytes: number;
  status: number;
}

const agent = new Agent({ keepAlive: true, maxSockets: 16 });

/**
 * GET a URL and drain the body without decoding it (a gzip body is counted compressed): the
 * server's work is what is being measured. `collect` keeps the body for checks.
 */
export function fetchTimed(
  url: string,
  options: { gzip?: boolean; collect?: boolean } = {},
): Promise<ScrapeSample & { body?: Buffer }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = get(
      url,
      { agent, headers: options.gzip === true ? { "accept-encoding": "gzip" } : {} },
      (res) => {
        let bytes = 0;
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => {
          bytes += chunk.length;
          if (options.collect === true) chunks.push(chunk);
        });
        res.on("end", () => {
          const sample = { ms: performance.now() - started, bytes, status: res.statusCode ?? 0 };
          resolve(options.collect === true ? { ...sample, body: Buffer.concat(chunks) } : sample);
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
  });
}

export async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms`);
}

export function destroyAgent(): void {
  agent.destroy();
}
