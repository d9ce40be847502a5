import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { request, type IncomingMessage } from "node:http";
import {
  converges,
  eventually,
  expectedExposition,
  get,
  startLive,
  SYNTHETIC_SEEDS,
  type Live,
} from "./support/live.js";

/**
 * Graceful shutdown with a scrape in flight: readiness turns 503 while the scrape drains, the
 * scrape completes with the full body, then the servers close.
 */

let live: Live;

beforeAll(async () => {
  const started = Date.now();
  live = await startLive({
    sim: {
      synthetic: 3_000,
      seedPaths: SYNTHETIC_SEEDS,
    },
    exporter: { shutdownGraceMs: 20_000, tuning: { pageSize: 500 } },
  });
  await live.exporter.whenReady();
  process.stderr.write(`live.shutdown: 3000 synthetic objects ready in ${Date.now() - started} ms\n`);
}, 60_000);

afterAll(async () => {
  await live.close();
});

/** Open a scrape and stop reading it after the headers: the server blocks on backpressure. */
function stalledScrape(url: string): Promise<{ res: IncomingMessage; body: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/metrics`, (res) => {
      res.pause();
      const chunks: Buffer[] = [];
      const body = new Promise<string>((done, fail) => {
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          done(Buffer.concat(chunks).toString("utf8"));
        });
        res.on("error", fail);
        res.on("aborted", () => {
          fail(new Error("response aborted"));
        });
      });
      resolve({ res, body });
    });
    req.on("error", reject);
    req.end();
  });
}

describe("shutdown", () => {
  it("drains an in-flight scrape while readiness reports 503, then closes", async () => {
    await converges(live, 20_000, ["text"]);
    const expected = expectedExposition(live, "text");
    expect(Buffer.byteLength(expected)).toBeGreaterThan(4 * 1024 * 1024); // far beyond socket buffers
    process.stderr.write(`live.shutdown: scrape of ${Buffer.byteLength(expected)} bytes\n`);

    const { res, body } = await stalledScrape(live.metricsUrl);
    let finished = false;
    const shutdown = live.exporter.shutdown().then(() => {
      finished = true;
    });
    // Readiness goes 503 at once while the scrape is held; liveness still answers.
    await eventually(
      async () => {
        const r = await get(`${live.metricsUrl}/readyz`);
        return r.status === 503 && r.body === "shutting down\n";
      },
      5_000,
      "/readyz 503 while draining",
    );
    expect((await get(`${live.metricsUrl}/livez`)).status).toBe(200);
    expect(finished).toBe(false);

    res.resume();
    expect(await body).toBe(expected);
    await shutdown;
    expect(finished).toBe(true);
    await expect(get(`${live.metricsUrl}/readyz`)).rejects.toThrow(); // no longer listening
    expect(live.logs.matching(/^stopped$/)).toHaveLength(1);
  });
});
