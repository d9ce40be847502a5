import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import {
  ACCEPT_OPENMETRICS,
  converges,
  eventually,
  expectedExposition,
  get,
  scrape,
  startLive,
  SYNTHETIC_SEEDS,
  type Live,
} from "./support/live.js";

/**
 * `--store-compression on` against the embedded API server: once blocks have gone cold (only
 * their compressed piece kept), /metrics still equals the offline render byte for byte in both
 * formats, plain and gzipped (one member that curl reads whole), and follows changes, which
 * warm the blocks they touch.
 */

let live: Live;
const BS_API = "core.kubestash.com/v1alpha1";

beforeAll(async () => {
  live = await startLive({
    sim: {
      synthetic: 3_000,
      seedPaths: SYNTHETIC_SEEDS,
    },
    exporter: { storeCompression: true, tuning: { pageSize: 500 } },
  });
  await live.exporter.whenReady();
}, 60_000);

afterAll(async () => {
  await live.close();
});

function coldBlocks(): { cold: number; blocks: number; compressions: number } {
  const s = live.exporter.store.stats();
  return { cold: s.cold ?? 0, blocks: s.blocks ?? 0, compressions: s.compressions ?? 0 };
}

describe("a compressing store served live", () => {
  it("serves exactly the offline render once its blocks are cold, plain and gzipped", async () => {
    await converges(live, 10_000);
    await eventually(() => coldBlocks().cold === coldBlocks().blocks, 15_000, "every block to go cold");
    expect(coldBlocks().blocks).toBeGreaterThan(20);
    for (const format of ["text", "openmetrics"] as const) {
      const accept: Record<string, string> = format === "openmetrics" ? { accept: ACCEPT_OPENMETRICS } : {};
      const expected = expectedExposition(live, format);
      expect(await scrape(live.metricsUrl, format)).toBe(expected);
      const gz = await get(`${live.metricsUrl}/metrics`, { "accept-encoding": "gzip", ...accept });
      expect(gz.headers["content-encoding"]).toBe("gzip");
      expect(gz.body).toBe(expected);
      expect(gz.rawBytes).toBeLessThan(Buffer.byteLength(expected) / 10);
    }
  });

  it("gives curl --compressed the whole body", async () => {
    // Asynchronously: the server answering curl runs in this process.
    const { stdout } = await promisify(execFile)(
      "curl",
      ["-sS", "--compressed", `${live.metricsUrl}/metrics`],
      {
        encoding: "utf8",
        maxBuffer: 256 * 1024 * 1024,
      },
    );
    expect(stdout).toBe(expectedExposition(live, "text"));
  });

  it("follows changes to objects in cold blocks", async () => {
    const compressedBefore = coldBlocks().compressions;
    const sessions = live.sim.list(BS_API, "BackupSession").slice(0, 400);
    expect(sessions.length).toBeGreaterThan(100);
    for (const [i, o] of sessions.entries()) {
      const md = o.metadata as { name: string; namespace: string };
      if (i % 3 === 0) live.sim.delete({ apiVersion: BS_API, kind: "BackupSession", ...md });
      else {
        live.sim.patch({ apiVersion: BS_API, kind: "BackupSession", ...md }, "merge", {
          spec: { session: `changed-${i}` },
        });
      }
    }
    await converges(live, 10_000);
    // The changed blocks were warmed (inflated) and, once quiet, compressed again — whether or
    // not that already happened by now depends on the machine, so count compressions instead of
    // catching them warm.
    await eventually(() => coldBlocks().cold === coldBlocks().blocks, 15_000, "the changed blocks to cool");
    expect(coldBlocks().compressions).toBeGreaterThan(compressedBefore);
    await converges(live, 5_000);
  });
});
