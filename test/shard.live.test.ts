import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { loadConfigurations } from "../src/config/load.js";
import { startExporter, type RunningExporter } from "../src/exporter/exporter.js";
import { createLogger } from "../src/log/logger.js";
import { startApiServer, type ApiServer } from "../src/sim/server.js";

/**
 * Sharding against the embedded API server: every shard of a fleet together serves exactly the
 * unsharded output, no series twice; a new assignment re-shards without a restart.
 */

let sim: ApiServer;
const exporters: RunningExporter[] = [];

async function exporter(shard?: { index: number; total: number }): Promise<RunningExporter> {
  const { configurations } = await loadConfigurations(["metricsconfigurations/kubestash"]);
  const e = await startExporter({
    kube: { server: sim.url },
    logger: createLogger({ level: "silent", format: "json" }),
    version: "test",
    host: "127.0.0.1",
    port: 0,
    telemetryPort: 0,
    fileConfigurations: configurations,
    ...(shard ? { shard } : {}),
  });
  exporters.push(e);
  await e.whenReady();
  return e;
}

async function seriesOf(e: RunningExporter): Promise<string[]> {
  const text = await (await fetch(`${e.metrics.url}/metrics`)).text();
  return text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
}

beforeAll(async () => {
  sim = await startApiServer({ synthetic: 400 });
}, 60_000);

afterAll(async () => {
  await Promise.all(exporters.map((e) => e.shutdown()));
  await sim.close();
}, 60_000);

describe("sharding", () => {
  it("splits the objects so that the shards' union is the unsharded output, with no series twice", async () => {
    const all = await seriesOf(await exporter());
    expect(all.length).toBeGreaterThan(3000);
    for (const total of [2, 3]) {
      const shards = await Promise.all(
        Array.from({ length: total }, (_, index) => exporter({ index, total })),
      );
      const parts = await Promise.all(shards.map(seriesOf));
      for (const p of parts) expect(p.length).toBeGreaterThan(0);
      const union = parts.flat();
      expect(union.length).toBe(all.length);
      expect(new Set(union).size).toBe(union.length);
      expect([...union].sort()).toEqual([...all].sort());
      // An object's series all live in one shard.
      const owner = new Map<string, number>();
      parts.forEach((lines, shard) => {
        for (const l of lines) {
          const id = /\{namespace="([^"]*)",(\w+)="([^"]*)"/.exec(l)?.slice(1).join("/") ?? l;
          expect(owner.get(id) ?? shard).toBe(shard);
          owner.set(id, shard);
        }
      });
    }
  }, 120_000);

  it("reports its assignment and re-shards when told the fleet changed", async () => {
    const e = await exporter({ index: 1, total: 2 });
    const telemetry = await (await fetch(`${e.telemetryServer.url}/metrics`)).text();
    expect(telemetry).toMatch(/^crd_state_metrics_shard_ordinal 1$/m);
    expect(telemetry).toMatch(/^crd_state_metrics_total_shards 2$/m);
    const half = await seriesOf(e);
    e.controller.setShard({ index: 0, total: 1 });
    await e.whenReady();
    const whole = await seriesOf(e);
    expect(whole.length).toBeGreaterThan(half.length);
    expect(whole).toEqual(expect.arrayContaining(half));
  }, 120_000);
});
